// The page as a whole: its security headers, a clean console, the Runtimes overview, narrow screens and
// keyboard use.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, gotoConnections, launchBrowser, openPage, startSystem } from './support.mjs';

let system;
let browser;

before(async () => {
  system = await startSystem();
  browser = await launchBrowser();
  // A connection with a long name and endpoint, so the narrow layout has something to wrap.
  await system.api.ensureConnection({
    id: 'dev',
    display_name: 'Dev runtime on the build machine in the basement',
    endpoint: system.runtime.url,
    token_ref: 'env:YOI_RUNTIME_TOKEN_DEV',
  });
});

after(async () => {
  await browser?.close();
  await system?.stop();
});

test('the page is served with a strict CSP and loads without console errors', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    const response = await gotoConnections(page);
    const csp = response.headers()['content-security-policy'];
    assert.ok(csp, 'a Content-Security-Policy header');
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.match(response.headers()['content-type'], /^text\/html/);

    // The stylesheet applied (a CSP refusal would leave the page unstyled).
    const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
    assert.match(font, /system-ui/);

    const nav = page.getByRole('navigation');
    await nav.getByRole('link', { name: 'Runtimes', exact: true }).click();
    await page.getByTestId('runtime-backend-internal').waitFor();
    await page.getByTestId('runtime-dev').waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Runtimes', exact: true }).getAttribute('aria-current'), 'page');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Runtimes');
    await page.locator('[data-testid="runtime-dev"] [data-testid="status-badge"][data-state="ready"]').waitFor();

    await nav.getByRole('link', { name: 'Runtime Connections' }).click();
    await page.getByTestId('connection-dev').waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the empty hash and an unknown route show the workers page', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    await page.goto('/');
    await page.getByTestId('workers').waitFor();
    assert.match(page.url(), /#\/workers$/);
    await page.goto('/#/nowhere');
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
    assert.match(page.url(), /#\/workers$/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the skip link moves focus to the content without changing the address or wiping a half-filled form', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    await gotoConnections(page);
    await page.getByLabel('Id', { exact: true }).fill('half-filled');
    await page.getByLabel('Display name').fill('Half filled');
    const url = page.url();
    // The first stop of the keyboard on the page.
    await page.locator('.skip-link').focus();
    await page.keyboard.press('Enter');
    assert.equal(page.url(), url, 'the hash is unchanged');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    assert.equal(await page.getByLabel('Id', { exact: true }).inputValue(), 'half-filled', 'the form keeps its values');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('every page and the delete dialog pass axe-core with no violation', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    await page.goto('/#/workers');
    await page.getByTestId('workers').locator(':scope:not([aria-busy="true"])').waitFor();
    await assertAccessible(page, 'the Workers page');
    await page.goto('/#/runtimes');
    await page.getByTestId('runtime-dev').waitFor();
    await assertAccessible(page, 'the Runtimes page');
    await gotoConnections(page);
    await page.getByTestId('connection-dev').waitFor();
    await assertAccessible(page, 'the Connections page');
    await page.getByTestId('delete-dev').click();
    await page.getByTestId('delete-dialog').waitFor();
    await assertAccessible(page, 'the delete dialog');
    await page.keyboard.press('Escape');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('at 375 px wide nothing scrolls sideways, with the list, a report and the form on screen', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url, { viewport: { width: 375, height: 740 } });
  try {
    await gotoConnections(page);
    await page.getByTestId('connection-dev').waitFor();
    await page.getByTestId('test-dev').click();
    await page.getByTestId('connection-report-region').getByTestId('test-report').waitFor();
    const overflow = () => page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    let { scroll, client } = await overflow();
    assert.ok(scroll <= client, `connections page: scrollWidth ${scroll} > clientWidth ${client}`);

    await page.goto('/#/runtimes');
    await page.getByTestId('runtime-dev').waitFor();
    ({ scroll, client } = await overflow());
    assert.ok(scroll <= client, `runtimes page: scrollWidth ${scroll} > clientWidth ${client}`);
    await assertAccessible(page, 'the Runtimes page at 375 px');

    await page.goto('/#/workers');
    await page.getByTestId('workers').locator(':scope:not([aria-busy="true"])').waitFor();
    ({ scroll, client } = await overflow());
    assert.ok(scroll <= client, `workers page: scrollWidth ${scroll} > clientWidth ${client}`);
    await page.getByTestId('create-open').click();
    await page.getByTestId('create-dialog').waitFor();
    ({ scroll, client } = await overflow());
    assert.ok(scroll <= client, `create dialog: scrollWidth ${scroll} > clientWidth ${client}`);
    await assertAccessible(page, 'the create dialog at 375 px');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the form can be used from the keyboard alone, with a visible focus outline', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    await gotoConnections(page);
    const id = page.getByLabel('Id', { exact: true });
    await id.focus();
    await page.keyboard.type('kb');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Keyboard runtime');
    await page.keyboard.press('Tab');
    await page.keyboard.type(system.runtime.url);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement.id);
    assert.equal(focused, 'field-token_ref');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused field shows an outline');
    await page.keyboard.press('Enter');
    await page.getByTestId('connection-kb').waitFor();
    const tokenInput = await page.getByLabel(/Token reference/).getAttribute('type');
    assert.equal(tokenInput, 'text', 'a reference is not a password');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a backend that cannot be reached is reported on the page, not only in the console', async () => {
  const { context, page, problems } = await openPage(browser, system.backend.url);
  try {
    await gotoConnections(page);
    // From here on every API call fails as if the backend had gone away.
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));

    await page.getByTestId('refresh').click();
    const listError = page.getByTestId('list-error');
    await listError.waitFor();
    assert.equal(await listError.getAttribute('role'), 'alert');
    assert.match(await listError.textContent(), /could not be reached/);

    await page.getByLabel('Id', { exact: true }).fill('offline');
    await page.getByLabel('Display name').fill('Offline');
    await page.getByLabel('Endpoint').fill('http://127.0.0.1:9');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const formError = page.getByTestId('form-error');
    await formError.waitFor();
    assert.equal(await formError.getAttribute('role'), 'alert');
    assert.match(await formError.textContent(), /could not be reached/);
    assert.ok(problems.every((p) => /Failed to load resource/.test(p)), problems.join('\n'));
  } finally {
    await context.close();
  }
});
