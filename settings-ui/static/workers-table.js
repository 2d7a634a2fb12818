// The table of workers on the Workers page: one row per worker with its state, what runs it and when it last
// did something.

import { h, badge } from './dom.js';
import { executorLabel, workerStateTone } from './labels.js';
import { timeAgo } from './format.js';

const COLUMNS = ['Worker', 'Runtime', 'State', 'Runs with', 'Last activity'];

/** The address of a worker's page. */
export function workerHref(runtimeId, workerId) {
  return `#/workers/${encodeURIComponent(runtimeId)}/${encodeURIComponent(workerId)}`;
}

/** A table of `workers`; `runtimeName(id)` gives a runtime's display name. */
export function workersTable(workers, runtimeName) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table workers-table', role: 'table', 'data-testid': 'workers-table' },
    h('caption', { class: 'visually-hidden' }, 'Workers'),
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, COLUMNS.map((name) => h('th', { scope: 'col', role: 'columnheader' }, name)))),
    h('tbody', { role: 'rowgroup' }, workers.map((worker) => row(worker, runtimeName)))));
}

function row(worker, runtimeName) {
  const key = `${worker.runtime_id}/${worker.worker_id}`;
  const echo = worker.executor === 'echo';
  return h('tr', { role: 'row', 'data-testid': `worker-${key}`, 'data-worker': worker.worker_id, 'data-state': worker.state },
    h('td', { role: 'cell', 'data-label': 'Worker', class: 'cell-name' },
      h('a', { href: workerHref(worker.runtime_id, worker.worker_id), class: 'worker-link', 'data-testid': `open-${key}` },
        worker.title || 'Untitled worker'),
      h('code', { class: 'conn-id' }, worker.worker_id)),
    h('td', { role: 'cell', 'data-label': 'Runtime', 'data-testid': 'worker-runtime' }, runtimeName(worker.runtime_id)),
    h('td', { role: 'cell', 'data-label': 'State' },
      badge(worker.state, workerStateTone(worker.state), { 'data-testid': 'worker-state' })),
    h('td', { role: 'cell', 'data-label': 'Runs with', 'data-testid': 'worker-runs-with' },
      h('span', { class: 'runs-with__profile' }, 'Profile ', h('code', {}, worker.profile)),
      h('span', { class: `runs-with__executor${echo ? ' runs-with__executor--echo' : ''}`, 'data-testid': 'worker-executor', 'data-executor': worker.executor },
        executorLabel(worker))),
    h('td', { role: 'cell', 'data-label': 'Last activity' }, timeAgo(worker.updated_at, { 'data-testid': 'worker-activity' })),
  );
}
