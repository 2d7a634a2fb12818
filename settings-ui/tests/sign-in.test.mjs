// Sign-in (SPEC §10): the link the backend printed signs a browser in; without it the page shows a form, never
// raw JSON; wrong tokens are explained and then held back; signing out, or a sign-in that ends, brings the
// form back. The token only ever lives in an HttpOnly cookie.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAccessible, assertNoSidewaysScroll, useSystem, withPage } from './support.mjs';

let system;
let browser;
useSystem((ready) => ({ system, browser } = ready));

const signedOut = (body, options = {}) => withPage(browser, system.backend.url, body, { signedIn: false, ...options });

/** The form's field and button. */
function form(page) {
  return { token: page.getByTestId('sign-in-token'), submit: page.getByTestId('sign-in-submit') };
}

test('the printed sign-in link signs in and leaves no token in the address or to scripts', async () => {
  await signedOut(async (page) => {
    await page.goto(system.signInUrl);
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
    assert.ok(!page.url().includes(system.accessToken), `the address still carries the token: ${page.url()}`);
    assert.ok(!(await page.evaluate(() => document.cookie)).includes(system.accessToken), 'the cookie is HttpOnly');
    await page.getByTestId('sign-out').waitFor();
    // A reload keeps the sign-in (the cookie), with the token long gone from the address.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
  });
});

test('without a token the page asks for it in a form, explains a wrong one and takes the right one', async () => {
  // The wrong token's 401 is the one console error a browser logs for it.
  await signedOut(async (page) => {
    await page.goto('/#/connections');
    await page.getByTestId('sign-in-form').waitFor();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    const text = await page.locator('body').innerText();
    assert.ok(!text.includes('"error"') && !text.includes('unauthorized'), `raw API answer shown: ${text}`);
    assert.equal(await page.getByRole('navigation').count(), 0, 'no sections to go to before signing in');
    await assertAccessible(page, 'the sign-in form');

    const { token, submit } = form(page);
    await token.fill('not-the-token');
    await submit.click();
    const error = page.getByTestId('sign-in-error');
    await error.getByText('That is not the access token').waitFor();
    assert.match(await error.innerText(), /sign-in link the backend printed/);
    await assertAccessible(page, 'the sign-in form with an error');

    await token.fill(system.accessToken);
    await token.press('Enter');
    // The address asked for the connections page; that is where signing in leads.
    await page.getByTestId('connection-backend-internal').waitFor();
  }, { allow: /status of 401/ });
});

test('signing out brings the form back and the browser is refused from then on', async () => {
  await withPage(browser, system.backend.url, async (page) => {
    await page.goto('/#/workers');
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-notice').getByText('Signed out.').waitFor();
    await page.getByTestId('sign-in-form').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/runtimes')).status);
    assert.equal(status, 401);
  }, { allow: /status of 401/ });
});

test('a sign-in that ends while the page is open asks for the token again', async () => {
  await withPage(browser, system.backend.url, async (page, context) => {
    await page.goto('/#/runtimes');
    await page.getByTestId('runtime-backend-internal').waitFor();
    await context.clearCookies();
    // The page's next refresh is refused; it shows the form instead of failing silently.
    await page.getByTestId('sign-in-notice').getByText('Your sign-in has ended', { exact: false }).waitFor({ timeout: 20_000 });
    await form(page).token.fill(system.accessToken);
    await form(page).submit.click();
    await page.getByTestId('runtime-backend-internal').waitFor();
  }, { allow: /status of 401/ });
});

test('the sign-in form fits a 375 px screen', async () => {
  await signedOut(async (page) => {
    await page.goto('/');
    await page.getByTestId('sign-in-form').waitFor();
    await assertNoSidewaysScroll(page, 'the sign-in form at 375 px');
    await assertAccessible(page, 'the sign-in form at 375 px');
  }, { viewport: { width: 375, height: 740 } });
});

// Last: it leaves this address waiting for a minute.
test('after too many wrong tokens the form says when to try again', async () => {
  await signedOut(async (page) => {
    await page.goto('/');
    const { token, submit } = form(page);
    const error = page.getByTestId('sign-in-error');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await token.fill(`wrong-${attempt}`);
      await submit.click();
      await error.getByText('That is not the access token').waitFor();
      await error.evaluate((node) => node.replaceChildren());
    }
    await token.fill(system.accessToken);
    await submit.click();
    await error.getByText(/Too many wrong tokens from this computer\. Try again in \d+ s\./).waitFor();
    assert.ok(await submit.isDisabled(), 'the button waits as the backend does');
  }, { allow: /status of (401|429)/ });
});
