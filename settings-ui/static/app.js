// The page: a shell with hash routes (`#/workers`, `#/workers/{runtime}/{worker}`, `#/runtimes`,
// `#/connections`). Each route module renders into <main> and may return a function that tears it down when
// another route is shown.

import { renderWorkers } from './workers.js';
import { renderWorkerView } from './worker-view.js';
import { renderConnections } from './connections.js';
import { renderRuntimes } from './runtimes.js';

const ROUTES = {
  workers: { title: 'Workers', render: (main, route) => route.params.length >= 2 ? renderWorkerView(main, route) : renderWorkers(main, route) },
  runtimes: { title: 'Runtimes', render: renderRuntimes },
  connections: { title: 'Runtime Connections', render: renderConnections },
};
const DEFAULT_ROUTE = 'workers';

let teardown = null;
let firstRender = true;

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
  if (location.hash === '' || location.hash.startsWith('#/')) show();
});

// The skip link moves focus to <main> without touching the address, which would re-render the page.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});

show();
