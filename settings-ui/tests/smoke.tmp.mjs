import { startSystem, launchBrowser, openPage, devConnection, assertAccessible } from './support.mjs';
const system = await startSystem();
const browser = await launchBrowser();
try {
  await system.api.ensureConnection(devConnection(system));
  const w = await system.api.createWorker('dev', { title: 'Remote one', profile: 'slow-echo' });
  const { page, problems } = await openPage(browser, system.backend.url);
  await page.goto('/');
  await page.waitForTimeout(2500);
  await page.screenshot({ path: '/tmp/smoke/workers.png', fullPage: true });
  try { await assertAccessible(page, 'workers'); } catch (e) { console.log(e.message); }
  await page.getByTestId('create-open').click();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: '/tmp/smoke/create.png', fullPage: true });
  try { await assertAccessible(page, 'create'); } catch (e) { console.log(e.message); }
  await page.getByTestId('create-title').fill('Hello there');
  await page.getByTestId('create-submit').click();
  await page.waitForTimeout(1500);
  console.log('url', page.url());
  await page.getByTestId('composer-input').fill('one two three four five six');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/tmp/smoke/worker.png', fullPage: true });
  try { await assertAccessible(page, 'worker'); } catch (e) { console.log(e.message); }
  await page.goto(`/#/workers/dev/${w.worker_id}`);
  await page.getByTestId('composer-input').fill('alpha beta gamma delta epsilon zeta eta theta');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(700);
  await page.screenshot({ path: '/tmp/smoke/streaming.png', fullPage: true });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/tmp/smoke/worker2.png', fullPage: true });
  await page.goto('/#/runtimes');
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/tmp/smoke/runtimes.png', fullPage: true });
  try { await assertAccessible(page, 'runtimes'); } catch (e) { console.log(e.message); }
  await page.goto('/#/connections');
  await page.waitForTimeout(2500);
  await page.screenshot({ path: '/tmp/smoke/connections.png', fullPage: true });
  try { await assertAccessible(page, 'connections'); } catch (e) { console.log(e.message); }
  console.log(problems);
} finally {
  await browser.close();
  await system.stop();
}
