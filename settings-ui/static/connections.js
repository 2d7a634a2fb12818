// The Runtime Connections page (SPEC §8, docs/settings.md): the list of connections with one status each,
// details on demand, Test and Delete, kept live by polling; the Reload action; and the form that adds one.

import { connections, runtimes, describeError } from './api.js';
import { h, replace, keepingFocus, rich, sentence } from './dom.js';
import { poll } from './poller.js';
import { clock } from './format.js';
import { connectionForm } from './connection-form.js';
import { runTest } from './test-report.js';
import { confirmDialog } from './confirm-dialog.js';
import { reloadButton } from './reload-button.js';
import { connectionsTable } from './connection-row.js';

/** Pause between refreshes while the backend answers, in ms. */
export const REFRESH_MS = 5_000;

/** Renders the page into `main`; returns its teardown. */
export function renderConnections(main) {
  let alive = true;
  let counts = new Map();
  let ticks = 0;
  // Connections whose test runs now: a refresh keeps their Test button busy.
  const testing = new Set();
  const listHeading = h('h2', { id: 'connections-heading', tabindex: '-1' }, 'Connections');
  const refreshButton = h('button', { type: 'button', class: 'button', 'data-testid': 'refresh' }, 'Refresh now');
  const list = h('div', { class: 'list', 'aria-busy': 'true', 'data-testid': 'connections' },
    h('p', { class: 'loading' }, 'Loading connections…'));
  const listStatus = h('p', { class: 'status-line', role: 'status', 'data-testid': 'list-status' });
  const listError = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'list-error', hidden: true });
  const updated = h('p', { class: 'muted updated-line', 'data-testid': 'connections-updated' });
  const reportRegion = h('div', { class: 'report-region', 'aria-live': 'polite', 'data-testid': 'connection-report-region' });
  const reload = reloadButton({ onReloaded: () => poller.now() });

  const dialog = confirmDialog('delete');

  function confirmDelete(entry, button) {
    const { id } = entry;
    dialog.open({
      title: `Delete connection ${id}?`,
      description: [`“${entry.display_name}” is removed from `, h('code', {}, '.yoi/workspace-backend.local.toml'),
        ' and this backend stops using it. Its workers keep running in the runtime; open event streams here end.'],
      action: 'Delete',
      busyLabel: 'Deleting…',
      opener: button,
      run: () => connections.remove(id),
      describeFailure: (failure) => `Could not delete ${id}: ${describeError(failure)}`,
      onDone: async (answer) => {
        listStatus.textContent = answer && answer.restart_required
          ? `Connection ${id} removed from the file; it stays in use until the backend is reloaded or restarted.`
          : `Connection ${id} deleted.`;
        // The report of a connection that no longer exists would only confuse.
        if (reportRegion.dataset.subject === id) reportRegion.replaceChildren();
        await load();
        listHeading.focus();
      },
    });
  }

  async function load() {
    ticks += 1;
    try {
      // Worker counts come from the runtimes' own view, asked every other time to keep to one call or so
      // every few seconds.
      const [answer] = await Promise.all([
        connections.list(),
        ticks % 2 === 1 ? runtimes.list().then((rts) => {
          counts = new Map((Array.isArray(rts) ? rts : []).map((rt) => [rt.runtime_id, rt.workers ?? null]));
        }).catch(() => {}) : null,
      ]);
      if (!alive) return true;
      listError.hidden = true;
      renderList((answer && answer.connections) || [], (answer && answer.warnings) || []);
      updated.textContent = `Updated at ${clock(new Date())}; refreshes every few seconds.`;
      return true;
    } catch (error) {
      if (!alive) return true;
      replace(listError, h('p', {}, 'Could not load the connections: ', rich(sentence(describeError(error)))));
      listError.hidden = false;
      if (list.querySelector('.loading')) list.replaceChildren();
      return false;
    } finally {
      if (alive) list.setAttribute('aria-busy', 'false');
    }
  }

  function renderList(entries, warnings) {
    // A refresh must not fold away details the reader opened.
    const open = new Set([...list.querySelectorAll('details[open]')].map((d) => d.dataset.id));
    const body = entries.length === 0
      ? h('p', {}, 'There are no connections.')
      : connectionsTable(entries, { counts, testing, onTest: test, onDelete: confirmDelete });
    // Keys the backend does not know are ignored; an operator may have mistyped one.
    const notice = warnings.length === 0 ? null : h('div', { class: 'notice', 'data-testid': 'config-warnings' },
      h('p', {}, 'The configuration files hold keys this backend ignores:'),
      h('ul', {}, ...warnings.map((warning) => h('li', {}, rich(warning)))));
    keepingFocus(list, () => {
      replace(list, ...[notice, body].filter(Boolean));
      for (const details of list.querySelectorAll('details')) if (open.has(details.dataset.id)) details.open = true;
    });
  }

  async function test(entry, button) {
    if (testing.has(entry.id)) return;
    testing.add(entry.id);
    button.disabled = true;
    button.firstChild.textContent = 'Testing…';
    reportRegion.scrollIntoView({ block: 'nearest' });
    await runTest(reportRegion, {
      subject: entry.id,
      id: entry.id,
      tokenRef: entry.token_ref,
      run: (signal) => connections.test(entry.id, signal),
      onClose: () => {
        const again = list.querySelector(`[data-testid="test-${CSS.escape(entry.id)}"]`);
        if (again) again.focus();
      },
    });
    testing.delete(entry.id);
    if (!alive) return;
    // The button may have been drawn again meanwhile; whichever is on the page now is freed.
    const current = list.querySelector(`[data-testid="test-${CSS.escape(entry.id)}"]`);
    if (current) {
      current.disabled = false;
      current.firstChild.textContent = 'Test';
    }
    // A test may change what the backend knows about the connection (status, compatibility).
    poller.now();
  }

  refreshButton.addEventListener('click', () => {
    listStatus.textContent = '';
    poller.now();
  });

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Runtime Connections'), reload.button),
    h('p', { class: 'lede' },
      'The runtimes this backend connects to. Connections you add here are saved to ',
      h('code', {}, '.yoi/workspace-backend.local.toml'),
      ' and used at once; tokens stay in the backend’s environment or secret files and are never shown here. ',
      'After editing the file by hand, use Reload configuration.'),
    reload.status,
    h('section', { class: 'panel', 'aria-labelledby': 'connections-heading' },
      h('div', { class: 'section-head' }, listHeading, refreshButton),
      updated,
      listStatus,
      listError,
      list,
      reportRegion),
    h('section', { class: 'panel', 'aria-labelledby': 'add-heading' },
      h('h2', { id: 'add-heading' }, 'Add a connection'),
      h('p', { class: 'section-lede' },
        'Start a worker-runtime, then enter its address. Test checks that this backend can talk to it without saving anything.'),
      connectionForm({ onAdded: () => poller.now() })),
    dialog.element,
  );
  const poller = poll(load, { interval: REFRESH_MS });

  return () => {
    alive = false;
    poller.stop();
    dialog.close();
  };
}
