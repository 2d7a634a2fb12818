// The Workers page against real processes: the landing page, what each row says, filters, paging by cursor,
// live state badges within the polling budget, a runtime that does not answer, and creating a worker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, deadPort, useSystemWithDev, withPage } from './support.mjs';

let system;
let browser;

useSystemWithDev((ready) => ({ system, browser } = ready));

const page = (body, options) => withPage(browser, system.backend.url, body, options);
const row = (p, worker) => p.getByTestId(`worker-${worker.runtime_id}/${worker.worker_id}`);

test('the landing page lists the workers of every runtime, each with its profile, executor and state', async () => {
  const local = await system.api.createWorker('backend-internal', { title: 'Local helper' });
  const remote = await system.api.createWorker('dev', { title: 'Remote helper', profile: 'slow-echo' });
  await page(async (p) => {
    await p.goto('/');
    await row(p, remote).waitFor();
    assert.match(p.url(), /#\/workers$/);
    assert.equal(await p.getByRole('heading', { level: 1 }).textContent(), 'Workers');
    assert.equal(await p.getByTestId('nav-workers').getAttribute('aria-current'), 'page');

    const localRow = row(p, local);
    assert.equal(await localRow.getByRole('link').textContent(), 'Local helper');
    assert.equal(await localRow.getByTestId('worker-runtime').textContent(), 'Backend internal');
    assert.equal(await localRow.getByTestId('worker-state').textContent(), 'idle');
    assert.equal(await localRow.getByTestId('worker-executor').getAttribute('data-executor'), 'echo');
    assert.match(await localRow.getByTestId('worker-runs-with').textContent(), /Profile default.*Echo \(not a model\)/);
    assert.match(await localRow.getByTestId('worker-activity').textContent(), /now|second/);
    assert.match(await row(p, remote).getByTestId('worker-runs-with').textContent(), /slow-echo/);
    assert.equal(await row(p, remote).getByTestId('worker-runtime').textContent(), 'Dev runtime');
    await assertAccessible(p, 'the workers page');

    await row(p, remote).getByRole('link').click();
    await p.locator('[data-testid="worker-title"]', { hasText: 'Remote helper' }).waitFor();
  });
});

test('filters by runtime and by state keep to the address and survive a reload', async () => {
  const local = await system.api.createWorker('backend-internal', { title: 'Filtered local' });
  const stopped = await system.api.createWorker('dev', { title: 'Stopped remote' });
  await system.api.call('POST', `/api/runtimes/dev/workers/${stopped.worker_id}/stop`, {});
  await page(async (p) => {
    await p.goto('/#/workers');
    await row(p, local).waitFor();
    await p.getByTestId('filter-runtime').selectOption('dev');
    await row(p, local).waitFor({ state: 'detached' });
    await row(p, stopped).waitFor();
    assert.match(p.url(), /#\/workers\?runtime=dev$/);

    await p.getByTestId('filter-state').selectOption('stopped');
    await row(p, stopped).waitFor();
    for (const state of await p.getByTestId('worker-state').allTextContents()) assert.equal(state, 'stopped');
    assert.match(p.url(), /runtime=dev&state=stopped/);

    await p.reload();
    await row(p, stopped).waitFor();
    assert.equal(await p.getByTestId('filter-runtime').inputValue(), 'dev');
    assert.equal(await p.getByTestId('filter-state').inputValue(), 'stopped');
    assert.equal(await row(p, local).count(), 0);
  });
});

test('state badges follow the workers without a reload, asking at most once every few seconds', async () => {
  const worker = await system.api.createWorker('dev', { title: 'Live badge', profile: 'slow-echo' });
  await page(async (p) => {
    const calls = [];
    p.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) calls.push(Date.now()); });
    await p.goto('/#/workers');
    await row(p, worker).waitFor();
    const started = Date.now();
    const content = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    await system.api.call('POST', `/api/runtimes/dev/workers/${worker.worker_id}/input`, { content });
    await row(p, worker).locator('[data-testid="worker-state"]', { hasText: 'busy' }).waitFor({ timeout: 9_000 });
    await row(p, worker).locator('[data-testid="worker-state"]', { hasText: 'idle' }).waitFor({ timeout: 15_000 });
    const seconds = (Date.now() - started) / 1000;
    const during = calls.filter((at) => at >= started).length;
    assert.ok(during <= Math.ceil(seconds / 3) + 1, `${during} API calls in ${seconds.toFixed(1)} s`);
  });
});

test('a runtime with more workers than a page offers its next pages, read by cursor', async () => {
  // A fresh runtime process of its own, so the count is known; its token is read from a secret file.
  const paged = await system.startExtraRuntime('paged');
  await system.api.ensureConnection({ id: 'paged', display_name: 'Paged runtime', endpoint: paged.url, token_ref: 'file:.yoi/secrets/paged' });
  for (let i = 1; i <= 27; i += 1) await system.api.createWorker('paged', { title: `Paged ${String(i).padStart(2, '0')}` });
  await page(async (p) => {
    const lists = [];
    p.on('request', (r) => { if (/\/api\/runtimes\/paged\/workers/.test(r.url())) lists.push(r.url()); });
    await p.goto('/#/workers');
    const more = p.getByTestId('more-paged');
    await more.waitFor();
    await more.click();
    await p.getByTestId('page-next').waitFor();
    assert.equal(await p.getByTestId('filter-runtime').inputValue(), 'paged');
    const firstPage = await p.locator('[data-worker]').count();
    assert.equal(firstPage, 25);
    await p.getByTestId('page-next').click();
    await p.getByTestId('page-previous').waitFor();
    assert.ok(lists.some((u) => /after=w-/.test(u)), `the next page is read after a cursor: ${lists.join(' ')}`);
    assert.equal(await p.locator('[data-worker]').count(), 2);
    assert.match(await p.getByTestId('workers-summary').textContent(), /page 2/);
    await p.getByTestId('page-previous').click();
    await p.getByTestId('page-next').waitFor();
    assert.equal(await p.locator('[data-worker]').count(), 25);
  });
});

test('a runtime that does not answer shows its diagnostic inline while the others still list', async () => {
  const port = await deadPort();
  await system.api.ensureConnection({ id: 'ghost', display_name: 'Ghost runtime', endpoint: `http://127.0.0.1:${port}` });
  const local = await system.api.createWorker('backend-internal', { title: 'Still listed' });
  await page(async (p) => {
    await p.goto('/#/workers');
    const problem = p.getByTestId('runtime-problem-ghost');
    await problem.waitFor({ timeout: 10_000 });
    assert.match(await problem.textContent(), /Ghost runtime did not answer/);
    assert.match(await problem.textContent(), /runtime_unavailable|runtime_timeout/);
    await row(p, local).waitFor();
    await assertAccessible(p, 'the workers page with a runtime down');
  });
  await system.api.call('DELETE', '/api/settings/runtime-connections/ghost');
});

test('creating a worker: a runtime that can create, one of its profiles, a title, then its page', async () => {
  const port = await deadPort();
  await system.api.ensureConnection({ id: 'down', display_name: 'Down runtime', endpoint: `http://127.0.0.1:${port}` });
  await page(async (p) => {
    await p.goto('/#/workers');
    await p.getByTestId('create-open').click();
    const dialog = p.getByTestId('create-dialog');
    await dialog.waitFor();
    await p.locator('#create-profile option', { hasText: /default/ }).first().waitFor({ state: 'attached' });
    const runtimes = await p.locator('#create-runtime option').evaluateAll((els) => els.map((e) => e.value));
    assert.ok(runtimes.includes('backend-internal') && runtimes.includes('dev'), runtimes.join());
    assert.ok(!runtimes.includes('down'), 'a runtime that cannot create is not offered');
    await assertAccessible(p, 'the create dialog');

    await dialog.getByLabel('Runtime').selectOption('dev');
    await p.locator('#create-profile option[value="slow-echo"]').waitFor({ state: 'attached' });
    await dialog.getByLabel('Profile').selectOption('slow-echo');
    assert.match(await p.getByTestId('create-profile-hint').textContent(), /Echo that streams slowly — Echo \(not a model\)/);
    await dialog.getByLabel(/Title/).fill('Made in the page');
    await dialog.getByRole('button', { name: 'Create and open' }).click();
    await p.locator('[data-testid="worker-title"]', { hasText: 'Made in the page' }).waitFor();
    assert.match(p.url(), /#\/workers\/dev\/w-/);
    assert.equal(await p.getByTestId('worker-profile').textContent(), 'slow-echo');
  });
  await system.api.call('DELETE', '/api/settings/runtime-connections/down');
});

test('a runtime whose profiles cannot be listed falls back to the default profile', async () => {
  await page(async (p) => {
    await p.route('**/api/runtimes/*/profiles', (route) => route.fulfill({
      status: 501, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'unsupported', message: 'no profiles here', retryable: false } }),
    }));
    await p.goto('/#/workers');
    await p.getByTestId('create-open').click();
    await p.locator('#create-profile:not([disabled])').waitFor();
    assert.deepEqual(await p.locator('#create-profile option').evaluateAll((els) => els.map((e) => e.value)), ['default']);
    assert.match(await p.getByTestId('create-profile-hint').textContent(), /does not list its profiles/);
    await p.getByTestId('create-title').fill('Fallback');
    await p.getByTestId('create-submit').click();
    await p.getByTestId('worker-profile').waitFor();
    assert.equal(await p.getByTestId('worker-profile').textContent(), 'default');
  }, { allow: /status of 501/ });
});
