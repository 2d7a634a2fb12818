// The Workers page, the landing page: every worker of every runtime, a page at a time, filtered by runtime
// and state, kept live by polling; a runtime that did not answer shows why while the others still list.

import { runtimes as runtimesApi, workers as workersApi, describeError } from './api.js';
import { h, replace, keepingFocus, rich, sentence } from './dom.js';
import { WORKER_STATES } from './labels.js';
import { poll } from './poller.js';
import { workersTable } from './workers-table.js';
import { createDialog } from './create-dialog.js';

/** Workers per page (per runtime in the view of every runtime). */
export const PAGE_SIZE = 25;

/** Renders the page into `main`; returns its teardown. */
export function renderWorkers(main, route) {
  const filters = { runtime: route.query.get('runtime') ?? '', state: route.query.get('state') ?? '' };
  // Cursors of the pages before the one shown, for "Previous"; `cursor` is the one shown (null: the first).
  let cursors = [];
  let cursor = null;
  let nextCursor = null;
  let known = new Map();
  let lastPage = null;
  let alive = true;

  const runtimeSelect = h('select', { id: 'filter-runtime', 'data-testid': 'filter-runtime' },
    h('option', { value: '' }, 'All runtimes'));
  const stateSelect = h('select', { id: 'filter-state', 'data-testid': 'filter-state' },
    h('option', { value: '' }, 'Any state'),
    WORKER_STATES.map((state) => h('option', { value: state }, state)));
  stateSelect.value = filters.state;
  const createButton = h('button', { type: 'button', class: 'button button--primary', 'data-testid': 'create-open' }, 'New worker');
  const problems = h('div', { class: 'problems', 'data-testid': 'workers-problems' });
  const body = h('div', { 'aria-busy': 'true', 'data-testid': 'workers' }, h('p', { class: 'loading' }, 'Loading workers…'));
  const pager = h('div', { class: 'pager', 'data-testid': 'pager' });
  const summary = h('p', { class: 'muted', 'data-testid': 'workers-summary' });

  const dialog = createDialog({
    runtimes: () => [...known.values()],
    onCreated: (worker) => {
      location.hash = `#/workers/${encodeURIComponent(worker.runtime_id)}/${encodeURIComponent(worker.worker_id)}`;
    },
  });

  const name = (id) => known.get(id)?.display_name ?? id;

  function setRuntimeOptions() {
    const options = [...known.values()].map((rt) => h('option', { value: rt.runtime_id }, rt.display_name));
    // A runtime named in the address but not (yet) registered still shows as chosen.
    if (filters.runtime && !known.has(filters.runtime)) options.push(h('option', { value: filters.runtime }, filters.runtime));
    replace(runtimeSelect, h('option', { value: '' }, 'All runtimes'), options);
    runtimeSelect.value = filters.runtime;
  }

  async function loadRuntimes() {
    try {
      const list = await runtimesApi.list();
      if (!alive) return;
      known = new Map((Array.isArray(list) ? list : []).map((rt) => [rt.runtime_id, rt]));
    } catch {
      // The workers list below says what is wrong; the filter then offers only what the address names.
    }
    setRuntimeOptions();
  }

  /** Reads the page shown; the poller calls it again and again. */
  async function load() {
    body.setAttribute('aria-busy', 'true');
    try {
      const page = filters.runtime
        ? await workersApi.list(filters.runtime, { after: cursor ?? undefined, limit: PAGE_SIZE })
        : await workersApi.all(PAGE_SIZE);
      if (!alive) return true;
      show(page);
      return true;
    } catch (error) {
      if (!alive) return true;
      replace(problems, h('div', { class: 'notice notice--error', 'data-testid': 'workers-error' },
        h('p', {}, filters.runtime
          ? ['Could not list the workers of ', h('strong', {}, name(filters.runtime)), ': ', rich(sentence(describeError(error)))]
          : ['Could not list the workers: ', rich(sentence(describeError(error)))]),
        h('p', { class: 'notice__code' }, 'Trying again shortly.')));
      return false;
    } finally {
      if (alive) body.setAttribute('aria-busy', 'false');
    }
  }

  function show(page) {
    lastPage = page;
    const all = page.workers || [];
    nextCursor = filters.runtime ? page.next_after ?? null : null;
    replace(problems, (page.diagnostics || []).map((problem) => h('div', {
      class: 'notice notice--warn', 'data-testid': `runtime-problem-${problem.runtime_id}`,
    },
    h('p', {}, h('strong', {}, name(problem.runtime_id)), ' did not answer; its workers are not listed. ',
      rich(sentence(problem.error && problem.error.message))),
    problem.error && problem.error.code ? h('p', { class: 'notice__code' }, 'Error code: ', h('code', {}, problem.error.code)) : null)));
    const shown = filters.state ? all.filter((w) => w.state === filters.state) : all;
    keepingFocus(body, () => replace(body, shown.length > 0
      ? workersTable(shown, name)
      : h('p', { 'data-testid': 'workers-empty' }, emptyText(all.length))));
    summary.textContent = summaryText(shown.length, all.length);
    keepingFocus(pager, () => replace(pager, pagerButtons(page.more || [])));
  }

  function emptyText(total) {
    if (total > 0) return `No ${filters.state} workers on this page.`;
    if (cursor) return 'No more workers.';
    return filters.runtime ? `${name(filters.runtime)} has no workers yet.` : 'There are no workers yet. Create one with “New worker”.';
  }

  function summaryText(shown, total) {
    if (total === 0) return '';
    const where = filters.runtime ? ` of ${name(filters.runtime)}` : '';
    const page = cursors.length > 0 || cursor ? `, page ${cursors.length + 1}` : '';
    return filters.state
      ? `${shown} of ${total} workers${where} on this page are ${filters.state}${page}.`
      : `${total} workers${where}${page}.`;
  }

  function pagerButtons(more) {
    if (!filters.runtime) {
      // The view of every runtime shows each one's first page; the rest are paged runtime by runtime.
      return more.map((id) => h('button', { type: 'button', class: 'button button--small', 'data-testid': `more-${id}`,
        on: { click: () => setFilter('runtime', id) } }, `More workers of ${name(id)}`));
    }
    const buttons = [];
    if (cursors.length > 0 || cursor !== null) {
      buttons.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'page-previous',
        on: { click: () => { cursor = cursors.pop() ?? null; refresh(); } } }, 'Previous page'));
    }
    if (nextCursor) {
      buttons.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'page-next',
        on: { click: () => { cursors.push(cursor); cursor = nextCursor; refresh(); } } }, 'Next page'));
    }
    return buttons;
  }

  function setFilter(which, value) {
    filters[which] = value;
    if (which === 'runtime') {
      cursors = [];
      cursor = null;
      runtimeSelect.value = value;
    }
    const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    const search = params.toString();
    // The address keeps the filters, for reload and sharing, without a hashchange that would re-render.
    history.replaceState(null, '', `#/workers${search ? `?${search}` : ''}`);
    refresh();
  }

  function refresh() {
    replace(body, h('p', { class: 'loading' }, 'Loading workers…'));
    poller.now();
  }

  runtimeSelect.addEventListener('change', () => setFilter('runtime', runtimeSelect.value));
  stateSelect.addEventListener('change', () => setFilter('state', stateSelect.value));
  createButton.addEventListener('click', () => dialog.open(createButton, filters.runtime));

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Workers'), createButton),
    h('p', { class: 'lede' }, 'Every worker of every runtime. Open one to talk to it. ',
      'States refresh by themselves every few seconds.'),
    h('section', { class: 'panel', 'aria-label': 'Workers' },
      h('div', { class: 'filters' },
        h('div', { class: 'field field--inline' }, h('label', { for: 'filter-runtime', class: 'field__label' }, 'Runtime'), runtimeSelect),
        h('div', { class: 'field field--inline' }, h('label', { for: 'filter-state', class: 'field__label' }, 'State'), stateSelect)),
      problems,
      summary,
      body,
      pager),
    dialog.element,
  );
  setRuntimeOptions();
  const poller = poll(load, { interval: 4_000 });
  // Names arrive with the runtimes; the page already shown is drawn again with them, without another call.
  loadRuntimes().then(() => { if (alive && lastPage) show(lastPage); });

  return () => {
    alive = false;
    poller.stop();
    dialog.close();
  };
}
