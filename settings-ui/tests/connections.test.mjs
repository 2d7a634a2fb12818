// The Runtime Connections page against a real backend and a real runtime: list, add, test, validation errors
// and delete, checked both on the page and in the config file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, deadPort, fillForm, gotoConnections, openPage, SEEDED_COMMENT, useSystem } from './support.mjs';

let system;
let browser;
useSystem((ready) => ({ system, browser } = ready));

/** A fresh page on the backend; fails the test on any console error unless `allow` matches it. */
async function withPage(t, body, { allow = null, ...options } = {}) {
  const { context, page, problems } = await openPage(browser, system.backend.url, options);
  try {
    await body(page);
    const unexpected = problems.filter((p) => !(allow && allow.test(p)));
    assert.deepEqual(unexpected, [], 'no console errors');
  } finally {
    await context.close();
  }
}

const DEV = () => ({ id: 'dev', display_name: 'Dev runtime', endpoint: system.runtime.url, token_ref: 'env:YOI_RUNTIME_TOKEN_DEV' });
// An error answer (409, 400) is logged by Chromium as a failed resource load; that is the API working.
const FAILED_LOAD = /Failed to load resource: the server responded with a status of 4\d\d/;

test('the built-in runtime is listed with the built-in badge and cannot be deleted', async (t) => {
  await withPage(t, async (page) => {
    await gotoConnections(page);
    const row = page.getByTestId('connection-backend-internal');
    await assert.doesNotReject(row.getByTestId('builtin-badge').waitFor());
    assert.equal(await row.getByTestId('builtin-badge').textContent(), 'built-in');
    assert.equal(await row.getByTestId('display-name').textContent(), 'Backend internal');
    assert.equal(await row.getByRole('button', { name: /delete/i }).count(), 0, 'no delete button');
    assert.equal(await row.getByRole('button').count(), 0, 'no test button either: it is not a remote');
    assert.equal(await row.getByTestId('active').getAttribute('data-state'), 'true');
  });
});

test('adding a connection lists it as active and appends it to the local file, keeping its comments', async (t) => {
  await withPage(t, async (page) => {
    await gotoConnections(page);
    await fillForm(page, DEV());
    await page.getByRole('button', { name: 'Add', exact: true }).click();

    const row = page.getByTestId('connection-dev');
    await row.waitFor();
    assert.match(await page.getByTestId('form-status').textContent(), /Connection dev added/);
    assert.equal(await row.getByTestId('display-name').textContent(), 'Dev runtime');
    assert.equal(await row.getByTestId('builtin-badge').count(), 0);
    assert.match(await row.getByTestId('endpoint').textContent(), new RegExp(escape(system.runtime.url)));
    assert.match(await row.getByTestId('token-ref').textContent(), /env:YOI_RUNTIME_TOKEN_DEV/);
    assert.equal(await row.getByTestId('active').getAttribute('data-state'), 'true');
    assert.equal(await row.getByTestId('persisted').getAttribute('data-state'), 'true');
    assert.equal(await page.getByLabel('Id', { exact: true }).inputValue(), '', 'the form is cleared');

    const file = await system.workspace.readConfig();
    assert.match(file, /^\[\[runtimes\.remote\]\]$/m);
    assert.match(file, /^id = "dev"$/m);
    assert.match(file, /^token_ref = "env:YOI_RUNTIME_TOKEN_DEV"$/m);
    assert.ok(file.startsWith(SEEDED_COMMENT), `the seeded comment survives:\n${file}`);
    assert.match(file, /store = "memory" {3}# trailing note/);
    assert.ok(!file.includes(system.token), 'no token value in the file');
  });
});

test('testing a saved connection shows it compatible, with every operation supported', async (t) => {
  await system.api.ensureConnection(DEV());
  await withPage(t, async (page) => {
    await gotoConnections(page);
    await page.getByTestId('test-dev').click();

    const report = page.getByTestId('connection-report-region').getByTestId('test-report');
    await report.waitFor();
    assert.equal(await page.getByTestId('connection-report-region').getAttribute('aria-live'), 'polite');
    assert.equal(await report.getAttribute('data-compatible'), 'true');
    assert.equal(await report.getByTestId('report-verdict').textContent(), 'yes');
    assert.ok((await report.getByTestId('report-basis').textContent()).length > 0, 'a basis sentence');
    assert.equal(await report.getByTestId('observed-id').textContent(), 'dev');
    assert.equal(await report.getByTestId('observed-name').textContent(), 'Dev runtime');
    assert.match(await report.getByTestId('observed-protocol').textContent(), /\S+ \d+\.\d+/);

    const operations = report.locator('[data-testid^="operation-"]');
    assert.ok(await operations.count() >= 7, 'a verdict per operation');
    for (const op of await operations.all()) {
      assert.equal(await op.getAttribute('data-supported'), 'true', await op.textContent());
    }
    assert.equal(await report.locator('[data-testid^="diagnostic-"]').count(), 0, 'no diagnostics');
    assert.ok(!(await page.content()).includes(system.token), 'the page never shows the token');
    await page.locator('[data-testid="connection-dev"] [data-testid="compatible"][data-state="yes"]').waitFor({ state: 'attached' });
  });
});

test('testing a candidate at a dead endpoint reports it unknown: not reached, runtime_unavailable, and saves nothing', async (t) => {
  const port = await deadPort();
  await withPage(t, async (page) => {
    await gotoConnections(page);
    await fillForm(page, { id: 'ghost', display_name: 'Ghost', endpoint: `http://127.0.0.1:${port}` });
    await page.getByTestId('candidate-test').click();

    const report = page.getByTestId('candidate-report-region').getByTestId('test-report');
    await report.waitFor();
    assert.equal(await report.getAttribute('data-compatible'), 'false');
    assert.equal(await report.getByTestId('report-verdict').textContent(), 'unknown: not reached');
    await report.getByTestId('diagnostic-runtime_unavailable').waitFor();
    assert.equal(await page.getByTestId('connection-ghost').count(), 0);
  });
  assert.ok(!(await system.workspace.readConfig()).includes('ghost'), 'a test writes nothing');
});

test('adding a duplicate id shows duplicate_connection beside the id field', async (t) => {
  await system.api.ensureConnection(DEV());
  const before = await system.workspace.readConfig();
  await withPage(t, async (page) => {
    await gotoConnections(page);
    await fillForm(page, { id: 'dev', display_name: 'Another', endpoint: 'http://127.0.0.1:9' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();

    const error = page.getByTestId('error-id');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'duplicate_connection');
    assert.ok((await error.textContent()).length > 0);
    const input = page.getByLabel('Id', { exact: true });
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.match(await input.getAttribute('aria-describedby'), /\berror-id\b/);
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the id field has focus');
    assert.equal(await page.getByTestId('form-error').isHidden(), true, 'no form-level alert');
  }, { allow: FAILED_LOAD });
  assert.equal(await system.workspace.readConfig(), before, 'the file is untouched');
});

test('an endpoint that is not http(s) shows an error under the endpoint field', async (t) => {
  await withPage(t, async (page) => {
    await gotoConnections(page);
    await fillForm(page, { id: 'ftp-one', display_name: 'FTP', endpoint: 'ftp://x' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();

    const error = page.getByTestId('error-endpoint');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'invalid_request');
    const input = page.getByLabel('Endpoint');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.match(await input.getAttribute('aria-describedby'), /\berror-endpoint\b/);
    assert.equal(await page.getByTestId('error-id').isHidden(), true);

    // Correcting the field clears its error.
    await input.fill('http://127.0.0.1:9');
    assert.equal(await error.isHidden(), true);
    assert.equal(await input.getAttribute('aria-invalid'), null);
  }, { allow: FAILED_LOAD });
  assert.ok(!(await system.workspace.readConfig()).includes('ftp-one'));
});

test('delete asks for confirmation, then removes the connection from the page and the file', async (t) => {
  await system.api.ensureConnection(DEV());
  await withPage(t, async (page) => {
    await gotoConnections(page);
    const row = page.getByTestId('connection-dev');

    // Cancel keeps it.
    await page.getByTestId('delete-dev').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /Delete connection dev\?/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await row.count(), 1);

    // Escape as well.
    await page.getByTestId('delete-dev').click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await row.count(), 1);

    await page.getByTestId('delete-dev').click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.match(await page.getByTestId('list-status').textContent(), /Connection dev deleted/);
  });
  const file = await system.workspace.readConfig();
  assert.doesNotMatch(file, /id = "dev"/);
  assert.doesNotMatch(file, /\[\[runtimes\.remote\]\]/);
  assert.ok(file.startsWith(SEEDED_COMMENT), `the seeded comment survives:\n${file}`);
  assert.ok((await system.api.connections()).every((c) => c.id !== 'dev'), 'the backend no longer lists it');
});

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
