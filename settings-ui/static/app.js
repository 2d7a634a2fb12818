// The Settings page: a shell with hash routes. Each route module renders into <main> and may return a
// function that tears it down when another route is shown.

import { renderConnections } from './connections.js';
import { renderRuntimes } from './runtimes.js';

const ROUTES = {
  connections: { title: 'Runtime Connections', render: renderConnections },
  runtimes: { title: 'Runtimes', render: renderRuntimes },
};
const DEFAULT_ROUTE = 'connections';

let teardown = null;
let firstRender = true;

function currentRoute() {
  const name = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return Object.hasOwn(ROUTES, name) ? name : null;
}

function show() {
  const name = currentRoute();
  if (name === null) {
    // Unknown or empty hash: show the default page and make the address say so, without a history entry.
    history.replaceState(null, '', `#/${DEFAULT_ROUTE}`);
  }
  const route = ROUTES[name ?? DEFAULT_ROUTE];
  const main = document.getElementById('main');

  if (teardown) teardown();
  teardown = null;
  main.replaceChildren();
  document.title = `${route.title} · Yoi Workspace`;
  for (const link of document.querySelectorAll('.app-nav a')) {
    if (link.dataset.route === (name ?? DEFAULT_ROUTE)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  teardown = route.render(main) ?? null;

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

window.addEventListener('hashchange', show);
show();
