// The page: a shell with hash routes (`#/workers`, `#/workers/{runtime}/{worker}`, `#/runtimes`,
// `#/connections`). Each route module renders into <main> and may return a function that tears it down when
// another route is shown. Until the backend knows who is asking (sign-in, SPEC §10), only the sign-in form shows.

import { renderWorkers } from './workers.js';
import { renderWorkerView } from './worker-view.js';
import { renderConnections } from './connections.js';
import { renderRuntimes } from './runtimes.js';
import { describeError, session } from './api.js';
import { h, replace } from './dom.js';
import { renderSignIn, signInFromLink } from './sign-in.js';

const ROUTES = {
  workers: { title: 'Workers', render: (main, route) => route.params.length >= 2 ? renderWorkerView(main, route) : renderWorkers(main, route) },
  runtimes: { title: 'Runtimes', render: renderRuntimes },
  connections: { title: 'Runtime Connections', render: renderConnections },
};
const DEFAULT_ROUTE = 'workers';

let teardown = null;
let firstRender = true;
let signedIn = false;
const nav = document.getElementById('app-nav');
const signOutButton = document.getElementById('sign-out');

/** The route in the address: `{ name, params, query }`, or null for an unknown one. */
function currentRoute() {
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, ...params] = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  if (!Object.hasOwn(ROUTES, name ?? '')) return null;
  return { name, params, query: new URLSearchParams(search) };
}

function show() {
  let route = currentRoute();
  if (route === null) {
    // Unknown or empty hash: show the default page and make the address say so, without a history entry.
    history.replaceState(null, '', `#/${DEFAULT_ROUTE}`);
    route = { name: DEFAULT_ROUTE, params: [], query: new URLSearchParams() };
  }
  const page = ROUTES[route.name];
  const main = document.getElementById('main');

  if (teardown) teardown();
  teardown = null;
  main.replaceChildren();
  document.title = `${page.title} · Yoi Workspace`;
  for (const link of document.querySelectorAll('.app-nav a')) {
    if (link.dataset.route === route.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  teardown = page.render(main, route) ?? null;

  // After the user moves to another page, put keyboard and screen-reader focus on its heading, as a full page
  // load would; not on the first load, where focus belongs at the top of the document.
  if (!firstRender) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }
  firstRender = false;
}

window.addEventListener('hashchange', () => {
  // Only `#/…` addresses are routes; any other fragment (an in-page anchor) must not re-render the page and
  // wipe what the user was typing.
  if (signedIn && (location.hash === '' || location.hash.startsWith('#/'))) show();
});

/** Leaves whatever page is shown for the sign-in form (see `renderSignIn` for `options`). */
function showSignIn(options = {}) {
  signedIn = false;
  if (teardown) teardown();
  teardown = null;
  nav.hidden = true;
  signOutButton.hidden = true;
  renderSignIn(document.getElementById('main'), { ...options, onSignedIn: enter });
}

/** Shows the console to a signed-in `current` session. */
function enter(current) {
  signedIn = true;
  nav.hidden = false;
  signOutButton.hidden = current.auth !== 'token';
  show();
}

// Any answer `401` while signed in: the cookie expired or the backend has another token now.
window.addEventListener('yoi:signed-out', () => {
  if (signedIn) showSignIn({ notice: 'Your sign-in has ended: the backend may have a new access token. Sign in again.' });
});

signOutButton.addEventListener('click', async () => {
  signOutButton.disabled = true;
  try {
    await session.signOut();
    showSignIn({ notice: 'Signed out.' });
  } catch (error) {
    replace(document.getElementById('main'), h('p', { class: 'notice notice--error', role: 'alert' }, describeError(error)));
  } finally {
    signOutButton.disabled = false;
  }
});

// The skip link moves focus to <main> without touching the address, which would re-render the page.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});

async function start() {
  try {
    const current = await signInFromLink();
    if (current.signed_in) enter(current);
    else showSignIn({ error: current.error ?? null });
  } catch (error) {
    replace(document.getElementById('main'), h('p', { class: 'notice notice--error', role: 'alert' }, describeError(error)));
  }
}

start();
