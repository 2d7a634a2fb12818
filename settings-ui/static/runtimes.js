// The Runtimes page: a read-only overview of GET /api/runtimes.

import { runtimes } from './api.js';
import { describeError } from './api.js';
import { h, replace, badge } from './dom.js';
import { kindLabel, statusTone } from './labels.js';

/** Renders the page into `main`. */
export function renderRuntimes(main) {
  const body = h('div', { class: 'panel', 'aria-busy': 'true', 'data-testid': 'runtimes' },
    h('p', { class: 'loading' }, 'Loading runtimes…'));
  const refresh = h('button', { type: 'button', class: 'button', 'data-testid': 'runtimes-refresh' }, 'Refresh');
  let alive = true;

  async function load() {
    body.setAttribute('aria-busy', 'true');
    refresh.disabled = true;
    try {
      const answer = await runtimes.list();
      if (!alive) return;
      // The API answers with an array; accept a wrapped list too.
      const list = Array.isArray(answer) ? answer : (answer && answer.runtimes) || [];
      replace(body, list.length === 0 ? h('p', {}, 'No runtimes are registered.') : table(list));
    } catch (error) {
      if (!alive) return;
      replace(body, h('p', { class: 'notice notice--error', role: 'alert' }, describeError(error)));
    } finally {
      if (alive) {
        body.setAttribute('aria-busy', 'false');
        refresh.disabled = false;
      }
    }
  }
  refresh.addEventListener('click', load);

  main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Runtimes'),
      refresh),
    h('p', { class: 'lede' },
      'Every runtime this backend routes to, as it is doing now. Manage remote ones under ',
      h('a', { href: '#/connections' }, 'Runtime Connections'), '.'),
    body,
  );
  load();
  return () => { alive = false; };
}

function table(list) {
  const columns = ['Id', 'Display name', 'Kind', 'Status', 'Active'];
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table', role: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Registered runtimes'),
    h('thead', { role: 'rowgroup' },
      h('tr', { role: 'row' }, columns.map((name) => h('th', { scope: 'col', role: 'columnheader' }, name)))),
    h('tbody', { role: 'rowgroup' }, list.map((runtime) => {
      const id = runtime.runtime_id ?? runtime.id;
      const notes = (runtime.diagnostics && runtime.diagnostics.notes) || [];
      return h('tr', { role: 'row', 'data-testid': `runtime-${id}` },
        h('td', { role: 'cell', 'data-label': 'Id' }, h('code', {}, id)),
        h('td', { role: 'cell', 'data-label': 'Display name' }, runtime.display_name,
          notes.length > 0 && h('ul', { class: 'notes' }, notes.map((note) => h('li', {}, note)))),
        h('td', { role: 'cell', 'data-label': 'Kind' }, kindLabel(runtime.kind)),
        h('td', { role: 'cell', 'data-label': 'Status' },
          badge(runtime.status ?? 'unknown', statusTone(runtime.status), { 'data-testid': 'status-badge' })),
        h('td', { role: 'cell', 'data-label': 'Active' },
          runtime.active
            ? badge('active', 'ok', { 'data-testid': 'active-badge' })
            : badge('inactive', 'warn', { 'data-testid': 'active-badge' })),
      );
    })),
  ));
}
