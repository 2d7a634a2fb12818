// Live health on the Runtimes and Connections pages: a runtime killed while the pages are open turns
// unavailable within 10 s with the reason and comes back when it restarts, without a reload, and the pages ask
// the backend no more than once every few seconds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, openPage, useSystemWithDev, withPage } from './support.mjs';

let system;
let browser;

useSystemWithDev((ready) => ({ system, browser } = ready));

const status = (p, testid) => p.getByTestId(testid).getByTestId('status-badge');

test('a runtime killed while the pages are open shows unavailable within 10 s with the reason, then ready again', async () => {
  const runtimesPage = await openPage(browser, system.backend.url);
  const connectionsPage = await openPage(browser, system.backend.url);
  try {
    const r = runtimesPage.page;
    const c = connectionsPage.page;
    await r.goto('/#/runtimes');
    await c.goto('/#/connections');
    await r.locator('[data-testid="runtime-dev"] [data-testid="status-badge"][data-state="ready"]').waitFor();
    await c.locator('[data-testid="connection-dev"] [data-testid="status-badge"][data-state="ready"]').waitFor();
    assert.match(await r.getByTestId('runtime-dev').getByTestId('last-contact').textContent(), /Answered/);
    assert.match(await r.getByTestId('runtime-dev').getByTestId('latency').textContent(), /ms/);
    assert.equal(await r.getByTestId('runtime-dev').getByTestId('status-reason').count(), 0, 'no reason while ready');

    await system.killRuntime();
    const killed = Date.now();
    await r.locator('[data-testid="runtime-dev"] [data-testid="status-badge"][data-state="unavailable"]').waitFor({ timeout: 10_000 });
    await c.locator('[data-testid="connection-dev"] [data-testid="status-badge"][data-state="unavailable"]').waitFor({ timeout: 10_000 - (Date.now() - killed) });
    assert.ok(Date.now() - killed < 10_000, `unavailable after ${Date.now() - killed} ms`);
    const reason = await r.getByTestId('runtime-dev').getByTestId('status-reason').textContent();
    assert.ok(reason.length > 5, `a reason: "${reason}"`);
    assert.doesNotMatch(reason, /`/, 'no raw backticks');
    assert.ok(!reason.includes(system.runtime.url), 'the Runtimes page never shows where a runtime lives');
    assert.ok((await c.getByTestId('connection-dev').getByTestId('status-reason').textContent()).length > 5);
    await assertAccessible(r, 'the Runtimes page with a runtime down');
    await assertAccessible(c, 'the Connections page with a runtime down');

    await system.restartRuntime();
    await r.locator('[data-testid="runtime-dev"] [data-testid="status-badge"][data-state="ready"]').waitFor({ timeout: 15_000 });
    await c.locator('[data-testid="connection-dev"] [data-testid="status-badge"][data-state="ready"]').waitFor({ timeout: 15_000 });
    assert.deepEqual([...runtimesPage.problems, ...connectionsPage.problems], []);
  } finally {
    await runtimesPage.context.close();
    await connectionsPage.context.close();
  }
});

test('the Runtimes page shows worker counts by state and links each runtime to its workers', async () => {
  const worker = await system.api.createWorker('backend-internal', { title: 'Counted' });
  await system.api.call('POST', `/api/runtimes/backend-internal/workers/${worker.worker_id}/stop`, {});
  await withPage(browser, system.backend.url, async (p) => {
    await p.goto('/#/runtimes');
    const counts = p.getByTestId('runtime-backend-internal').getByTestId('worker-counts');
    await counts.waitFor();
    assert.match(await counts.textContent(), /1 stopped/);
    await p.getByTestId('workers-of-backend-internal').click();
    await p.getByTestId(`worker-backend-internal/${worker.worker_id}`).waitFor();
    assert.match(p.url(), /#\/workers\?runtime=backend-internal$/);
    assert.equal(await p.getByTestId('filter-runtime').inputValue(), 'backend-internal');
  });
});

test('the health pages ask the backend at most once every few seconds, and not at all while hidden', async () => {
  for (const route of ['/#/runtimes', '/#/connections']) {
    await withPage(browser, system.backend.url, async (p) => {
      const calls = [];
      // Refreshes only: the page asks once at load whether it is signed in (`/api/session`), which is no refresh.
      p.on('request', (r) => {
        const { pathname } = new URL(r.url());
        if (pathname.startsWith('/api/') && pathname !== '/api/session') calls.push(Date.now());
      });
      await p.goto(route);
      await p.waitForTimeout(10_000);
      assert.ok(calls.length <= 5, `${route}: ${calls.length} calls in 10 s`);
      assert.ok(calls.length >= 2, `${route}: it refreshes (${calls.length} calls)`);

      await p.evaluate(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      const hiddenAt = calls.length;
      await p.waitForTimeout(6_000);
      assert.equal(calls.length, hiddenAt, `${route}: no calls while hidden`);
    });
  }
});
