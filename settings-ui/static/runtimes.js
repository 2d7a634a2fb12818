// The Runtimes page: every runtime this backend routes to and how it is doing now, refreshed by itself
// (GET /api/runtimes, polled with backoff), each linked to its workers.

import { runtimes, describeError } from './api.js';
import { h, replace, keepingFocus, rich, sentence } from './dom.js';
import { kindLabel } from './labels.js';
import { poll } from './poller.js';
import { clock } from './format.js';
import { statusView, contactView, countsView } from './health.js';

/** Pause between refreshes while the backend answers, in ms. */
export const REFRESH_MS = 3_000;

/** Renders the page into `main`; returns its teardown. */
export function renderRuntimes(main) {
  const body = h('div', { class: 'panel', 'aria-busy': 'true', 'data-testid': 'runtimes' },
    h('p', { class: 'loading' }, 'Loading runtimes…'));
  const refresh = h('button', { type: 'button', class: 'button', 'data-testid': 'runtimes-refresh' }, 'Refresh now');
  const updated = h('p', { class: 'muted updated-line', 'data-testid': 'runtimes-updated' });
  const error = h('div', { class: 'notice notice--error', 'data-testid': 'runtimes-error', hidden: true });
  let alive = true;

  async function load() {
    try {
      const answer = await runtimes.list();
      if (!alive) return true;
      const list = Array.isArray(answer) ? answer : [];
      error.hidden = true;
      keepingFocus(body, () => replace(body, list.length === 0 ? h('p', {}, 'No runtimes are registered.') : table(list)));
      updated.textContent = `Updated at ${clock(new Date())}; refreshes every few seconds.`;
      return true;
    } catch (failure) {
      if (!alive) return true;
      // What was shown stays, marked as old by the time above it.
      replace(error, h('p', {}, 'Could not refresh: ', rich(sentence(describeError(failure))), ' Trying again shortly.'));
      error.hidden = false;
      return false;
    } finally {
      if (alive) body.setAttribute('aria-busy', 'false');
    }
  }
  const poller = poll(load, { interval: REFRESH_MS });
  refresh.addEventListener('click', () => poller.now());

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Runtimes'), refresh),
    h('p', { class: 'lede' },
      'Every runtime this backend routes to, as it is doing now. Manage remote ones under ',
      h('a', { href: '#/connections' }, 'Runtime Connections'), '.'),
    updated,
    error,
    body,
  );

  return () => {
    alive = false;
    poller.stop();
  };
}

const COLUMNS = ['Runtime', 'Status', 'Last contact', 'Workers', 'Kind'];

function table(list) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table', role: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Registered runtimes'),
    h('thead', { role: 'rowgroup' },
      h('tr', { role: 'row' }, COLUMNS.map((name) => h('th', { scope: 'col', role: 'columnheader' }, name)))),
    h('tbody', { role: 'rowgroup' }, list.map(row))));
}

function row(runtime) {
  const id = runtime.runtime_id;
  const notes = (runtime.diagnostics && runtime.diagnostics.notes) || [];
  const total = runtime.workers ? runtime.workers.total : null;
  return h('tr', { role: 'row', 'data-testid': `runtime-${id}`, 'data-active': String(Boolean(runtime.active)) },
    h('td', { role: 'cell', 'data-label': 'Runtime', class: 'cell-name' },
      h('span', { class: 'conn-name', 'data-testid': 'display-name' }, runtime.display_name),
      h('code', { class: 'conn-id' }, id)),
    h('td', { role: 'cell', 'data-label': 'Status' }, h('span', { class: 'status' }, statusView(runtime.status, runtime.health, notes))),
    h('td', { role: 'cell', 'data-label': 'Last contact' }, contactView(runtime.health)),
    h('td', { role: 'cell', 'data-label': 'Workers' },
      countsView(runtime.workers), ' ',
      h('a', { href: `#/workers?runtime=${encodeURIComponent(id)}`, 'data-testid': `workers-of-${id}`, class: 'workers-link' },
        total === null ? 'Workers' : `Open ${total === 1 ? 'its worker' : 'its workers'}`,
        h('span', { class: 'visually-hidden' }, ` of ${runtime.display_name}`))),
    h('td', { role: 'cell', 'data-label': 'Kind' }, kindLabel(runtime.kind),
      runtime.active ? null : h('span', { class: 'muted', 'data-testid': 'inactive' }, ' (not in use)')),
  );
}
