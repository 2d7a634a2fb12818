// The Runtime Connections page (SPEC §8, docs/settings.md): the list of connections with Test and Delete, and
// the form that adds one.

import { connections, describeError } from './api.js';
import { h, replace, badge, srOnly } from './dom.js';
import { kindLabel, statusTone } from './labels.js';
import { connectionForm } from './connection-form.js';
import { reportView, testingView, reportErrorView } from './test-report.js';
import { deleteDialog } from './delete-dialog.js';

/** Renders the page into `main`; returns its teardown. */
export function renderConnections(main) {
  let alive = true;
  const listHeading = h('h2', { id: 'connections-heading', tabindex: '-1' }, 'Connections');
  const refreshButton = h('button', { type: 'button', class: 'button', 'data-testid': 'refresh' }, 'Refresh');
  const list = h('div', { class: 'list', 'aria-busy': 'true', 'data-testid': 'connections' },
    h('p', { class: 'loading' }, 'Loading connections…'));
  const listStatus = h('p', { class: 'status-line', role: 'status', 'data-testid': 'list-status' });
  const reportRegion = h('div', { class: 'report-region', 'aria-live': 'polite', 'data-testid': 'connection-report-region' });

  const dialog = deleteDialog({
    onDeleted: async (id, answer) => {
      listStatus.textContent = answer && answer.restart_required
        ? `Connection ${id} removed from the file; it stays in use until the backend is reloaded or restarted.`
        : `Connection ${id} deleted.`;
      // The report of a connection that no longer exists would only confuse.
      if (reportRegion.dataset.subject === id) reportRegion.replaceChildren();
      await load();
      listHeading.focus();
    },
  });

  async function load() {
    list.setAttribute('aria-busy', 'true');
    refreshButton.disabled = true;
    try {
      const answer = await connections.list();
      if (!alive) return;
      renderList((answer && answer.connections) || [], (answer && answer.warnings) || []);
    } catch (error) {
      if (!alive) return;
      replace(list, h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'list-error' },
        h('p', {}, `Could not load the connections: ${describeError(error)}`)));
    } finally {
      if (alive) {
        list.setAttribute('aria-busy', 'false');
        refreshButton.disabled = false;
      }
    }
  }

  function renderList(entries, warnings) {
    // Re-rendering replaces the buttons; keep keyboard focus on the same one if it still exists.
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const body = entries.length === 0
      ? h('p', {}, 'There are no connections.')
      : table(entries, { onTest: test, onDelete: (entry, button) => dialog.open(entry, button) });
    // Keys the backend does not know are ignored; an operator may have mistyped one.
    const notice = warnings.length === 0 ? null : h('div', { class: 'notice', 'data-testid': 'config-warnings' },
      h('p', {}, 'The configuration files hold keys this backend ignores:'),
      h('ul', {}, ...warnings.map((warning) => h('li', {}, warning))));
    replace(list, ...[notice, body].filter(Boolean));
    if (focused) {
      const again = list.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  async function test(entry, button) {
    const id = entry.id;
    button.disabled = true;
    button.firstChild.textContent = 'Testing…';
    reportRegion.dataset.subject = id;
    replace(reportRegion, testingView(id));
    reportRegion.scrollIntoView({ block: 'nearest' });
    try {
      const report = await connections.test(id);
      if (!alive) return;
      replace(reportRegion, reportView(report, id));
    } catch (error) {
      if (!alive) return;
      replace(reportRegion, reportErrorView(error, id));
    } finally {
      button.disabled = false;
      button.firstChild.textContent = 'Test';
    }
    // A test may change what the backend knows about the connection (status, compatibility).
    await load();
  }

  refreshButton.addEventListener('click', () => {
    listStatus.textContent = '';
    load();
  });

  main.append(
    h('h1', {}, 'Runtime Connections'),
    h('p', { class: 'lede' },
      'The runtimes this backend connects to. Connections you add here are saved to ',
      h('code', {}, '.yoi/workspace-backend.local.toml'),
      ' and used at once; tokens stay in the backend’s environment or secret files and are never shown here.'),
    h('section', { class: 'panel', 'aria-labelledby': 'connections-heading' },
      h('div', { class: 'section-head' }, listHeading, refreshButton),
      listStatus,
      list,
      reportRegion),
    h('section', { class: 'panel', 'aria-labelledby': 'add-heading' },
      h('h2', { id: 'add-heading' }, 'Add a connection'),
      h('p', { class: 'section-lede' },
        'Start a worker-runtime, then enter its address. Test checks that this backend can talk to it without saving anything.'),
      connectionForm({ onAdded: () => load() })),
    dialog.element,
  );
  load();

  return () => {
    alive = false;
    dialog.close();
  };
}

const COLUMNS = ['Connection', 'Kind', 'Endpoint', 'Status', 'Actions'];

function table(entries, actions) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table connections-table', role: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Runtime connections'),
    h('thead', { role: 'rowgroup' },
      h('tr', { role: 'row' }, COLUMNS.map((name) => h('th', { scope: 'col', role: 'columnheader' }, name)))),
    h('tbody', { role: 'rowgroup' }, entries.map((entry) => row(entry, actions)))));
}

function row(entry, { onTest, onDelete }) {
  const id = entry.id;
  return h('tr', { role: 'row', 'data-testid': `connection-${id}`, 'data-id': id },
    h('td', { role: 'cell', 'data-label': 'Connection', class: 'cell-name' },
      h('span', { class: 'conn-name', 'data-testid': 'display-name' }, entry.display_name),
      h('span', { class: 'conn-id' }, h('code', { 'data-testid': 'connection-id' }, id)),
      entry.builtin ? badge('built-in', 'info', { 'data-testid': 'builtin-badge' }) : null),
    h('td', { role: 'cell', 'data-label': 'Kind', 'data-testid': 'kind' }, kindLabel(entry.kind)),
    h('td', { role: 'cell', 'data-label': 'Endpoint' }, endpointView(entry)),
    h('td', { role: 'cell', 'data-label': 'Status' }, statusView(entry)),
    h('td', { role: 'cell', 'data-label': 'Actions', class: 'cell-actions' }, actionsView(entry, onTest, onDelete)),
  );
}

function endpointView(entry) {
  const endpoint = entry.endpoint
    ? h('code', { class: 'endpoint', 'data-testid': 'endpoint' }, entry.endpoint)
    : h('span', { 'data-testid': 'endpoint' }, h('span', { 'aria-hidden': 'true' }, '—'), srOnly('none'));
  let token = null;
  if (entry.token_ref) {
    token = h('span', { class: 'token-ref', 'data-testid': 'token-ref' }, 'Token from ', h('code', {}, entry.token_ref));
  } else if (entry.has_token) {
    token = h('span', { class: 'token-ref', 'data-testid': 'token-ref' }, 'Token set in the config file');
  }
  return [endpoint, token];
}

function statusView(entry) {
  const badges = [
    badge(entry.status ?? 'unknown', statusTone(entry.status), { 'data-testid': 'status-badge', 'data-state': entry.status ?? 'unknown' }),
  ];
  // The built-in runtime lives in no file; "not persisted" would only puzzle.
  if (!entry.builtin) {
    const persisted = entry.persisted
      ? (entry.defined_in === 'shared' ? 'persisted (shared file)' : 'persisted')
      : 'not persisted';
    badges.push(badge(persisted, entry.persisted ? 'ok' : 'warn',
      { 'data-testid': 'persisted-badge', 'data-state': String(Boolean(entry.persisted)) }));
  }
  badges.push(badge(entry.active ? 'active' : 'inactive', entry.active ? 'ok' : 'warn',
    { 'data-testid': 'active-badge', 'data-state': String(Boolean(entry.active)) }));
  const compatible = entry.compatible === true ? 'compatible' : entry.compatible === false ? 'incompatible' : 'unknown';
  badges.push(badge(compatible, { compatible: 'ok', incompatible: 'bad', unknown: 'neutral' }[compatible],
    { 'data-testid': 'compatible-badge', 'data-state': compatible, title: 'Protocol compatibility' }));
  const notes = entry.notes || [];
  return [
    h('span', { class: 'badges' }, badges),
    notes.length > 0 ? h('ul', { class: 'notes', 'data-testid': 'notes' }, notes.map((note) => h('li', {}, note))) : null,
  ];
}

function actionsView(entry, onTest, onDelete) {
  const buttons = [];
  if (!entry.builtin && entry.kind === 'remote_http') {
    const button = h('button', { type: 'button', class: 'button button--small', 'data-testid': `test-${entry.id}` },
      h('span', {}, 'Test'), srOnly(` ${entry.id}`));
    button.addEventListener('click', () => onTest(entry, button));
    buttons.push(button);
  }
  if (!entry.builtin && entry.deletable) {
    const button = h('button', { type: 'button', class: 'button button--small button--danger', 'data-testid': `delete-${entry.id}` },
      'Delete', srOnly(` ${entry.id}`));
    button.addEventListener('click', () => onDelete(entry, button));
    buttons.push(button);
  }
  if (buttons.length > 0) return h('span', { class: 'actions' }, buttons);
  let why = 'Not managed here';
  if (entry.builtin) why = 'Built in';
  else if (entry.defined_in === 'shared') why = 'Defined in the shared config file';
  else if (entry.kind === 'local_compat') why = 'Read-only view from the config file';
  return h('span', { class: 'muted' }, why);
}
