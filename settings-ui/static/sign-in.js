// Signing in (SPEC §10): the backend asks for its access token unless it was started with --no-auth. The
// token comes from the sign-in link the backend printed (`/?token=…`) or is typed into the form; the backend
// answers with an HttpOnly cookie, so the page itself never keeps the token.

import { ApiError, describeError, session } from './api.js';
import { h, replace } from './dom.js';

const WRONG = 'That is not the access token. Use the sign-in link the backend printed when it started, ' +
  'or the token in .yoi/access-token in its workspace.';

/**
 * Signs in with the link's token if the address carries one (and takes it out of the address and the
 * history); then returns the session `{auth, signed_in}`, or `{error}` when the link's token was refused.
 */
export async function signInFromLink() {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (token === null) return session.get();
  params.delete('token');
  const search = params.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
  try {
    return await session.signIn(token);
  } catch (error) {
    return { auth: 'token', signed_in: false, error: explain(error) };
  }
}

/**
 * Shows the sign-in form in `main`, with a `notice` (such as "signed out") or an `error` above it;
 * `onSignedIn(session)` runs once it worked.
 */
export function renderSignIn(main, { notice = null, error = null, onSignedIn }) {
  document.title = 'Sign in · Yoi Workspace';
  const input = h('input', {
    id: 'access-token', name: 'token', type: 'password', autocomplete: 'current-password', required: '',
    spellcheck: 'false', 'aria-describedby': 'access-token-help', 'data-testid': 'sign-in-token',
  });
  const button = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'sign-in-submit' }, 'Sign in');
  const alert = h('div', { role: 'alert', 'data-testid': 'sign-in-error' });
  const form = h('form', { class: 'panel sign-in', 'data-testid': 'sign-in-form', novalidate: '' },
    h('div', { class: 'field' },
      h('label', { class: 'field__label', for: 'access-token' }, 'Access token'),
      input,
      h('p', { id: 'access-token-help', class: 'field__hint' },
        'Open the sign-in link the backend printed when it started (it ends in ', h('code', {}, '?token=…'),
        '), or paste the token kept in ', h('code', {}, '.yoi/access-token'), ' in its workspace.')),
    alert,
    h('div', { class: 'button-row' }, button));
  replace(main,
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lede' }, 'This backend asks for its access token before it shows its runtimes and workers.'),
    notice ? h('p', { class: 'notice', 'data-testid': 'sign-in-notice' }, notice) : null,
    form);
  if (error) replace(alert, h('p', { class: 'notice notice--error' }, error));

  let retryTimer = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      replace(alert, h('p', { class: 'notice notice--error' }, 'Enter the access token.'));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const signedIn = await session.signIn(token);
      onSignedIn(signedIn);
    } catch (refusal) {
      replace(alert, h('p', { class: 'notice notice--error' }, explain(refusal)));
      input.select();
      const wait = refusal instanceof ApiError && refusal.code === 'too_many_attempts' ? refusal.retryAfterS : null;
      if (wait) {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => { button.disabled = false; }, wait * 1000);
        return;
      }
    }
    button.disabled = false;
  });
  input.focus();
}

/** What to tell a person whose sign-in was refused. */
function explain(error) {
  if (error instanceof ApiError && error.code === 'unauthorized') return WRONG;
  if (error instanceof ApiError && error.code === 'too_many_attempts') {
    const wait = error.retryAfterS ? ` in ${error.retryAfterS} s` : ' in a minute';
    return `Too many wrong tokens from this computer. Try again${wait}.`;
  }
  return describeError(error);
}
