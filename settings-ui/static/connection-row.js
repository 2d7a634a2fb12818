// One row per connection on the Connections page: one clear status, and the rest (file, registry,
// compatibility, health, notes) in a details element opened on demand.

import { h, badge, srOnly, rich, sentence } from './dom.js';
import { kindLabel, statusTone } from './labels.js';
import { statusWord, contactView, countsView } from './health.js';
import { tokenHint, tokenUnreadable } from './token-hint.js';

const COLUMNS = ['Connection', 'Kind', 'Endpoint', 'Status', 'Actions'];

/** The table of `entries`; `counts` maps runtime ids to worker counts. */
export function connectionsTable(entries, { counts, testing, onTest, onDelete }) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table connections-table', role: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Runtime connections'),
    h('thead', { role: 'rowgroup' },
      h('tr', { role: 'row' }, COLUMNS.map((name) => h('th', { scope: 'col', role: 'columnheader' }, name)))),
    h('tbody', { role: 'rowgroup' }, entries.map((entry) => row(entry, counts.get(entry.id), testing.has(entry.id), onTest, onDelete)))));
}

/**
 * The one status of a connection: not in use (with why), incompatible, or its health. `{ word, tone,
 * reason }`.
 */
export function connectionStatus(entry) {
  const notes = entry.notes || [];
  const health = entry.health || null;
  if (!entry.active) {
    return { word: entry.persisted ? 'not in use' : 'inactive', tone: 'warn', reason: notes[0] ?? null };
  }
  if (entry.compatible === false) {
    return { word: 'incompatible', tone: 'bad', reason: (health && health.reason) || notes[0] || null };
  }
  const word = statusWord(entry.status, health);
  const reason = word === 'ready' ? null : (health && health.reason) || notes[0] || null;
  return { word, tone: word === 'checking' ? 'neutral' : statusTone(word), reason };
}

function row(entry, counts, testing, onTest, onDelete) {
  const id = entry.id;
  return h('tr', { role: 'row', 'data-testid': `connection-${id}`, 'data-id': id },
    h('td', { role: 'cell', 'data-label': 'Connection', class: 'cell-name' },
      h('span', { class: 'conn-name', 'data-testid': 'display-name' }, entry.display_name),
      h('span', { class: 'conn-id' }, h('code', { 'data-testid': 'connection-id' }, id)),
      entry.builtin ? badge('built-in', 'info', { 'data-testid': 'builtin-badge' }) : null),
    h('td', { role: 'cell', 'data-label': 'Kind', 'data-testid': 'kind' }, kindLabel(entry.kind)),
    h('td', { role: 'cell', 'data-label': 'Endpoint' }, endpointView(entry)),
    h('td', { role: 'cell', 'data-label': 'Status' }, statusCell(entry, counts)),
    h('td', { role: 'cell', 'data-label': 'Actions', class: 'cell-actions' }, actionsView(entry, testing, onTest, onDelete)),
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

function statusCell(entry, counts) {
  const status = connectionStatus(entry);
  const texts = [...(entry.notes || []), entry.health && entry.health.reason].filter(Boolean);
  const unreadable = texts.some(tokenUnreadable);
  return [
    h('span', { class: 'status' },
      badge(status.word, status.tone, { 'data-testid': 'status-badge', 'data-state': status.word }),
      status.reason ? h('span', { class: 'status-reason', 'data-testid': 'status-reason' }, rich(sentence(status.reason))) : null),
    unreadable ? tokenHint(entry.token_ref, entry.id) : null,
    detailsView(entry, counts),
  ];
}

function detailsView(entry, counts) {
  const health = entry.health || null;
  const rows = [];
  // The built-in runtime lives in no file; "not saved" would only puzzle.
  if (!entry.builtin) {
    const file = entry.defined_in === 'shared' ? 'yes, in the shared file (read-only here)' : 'yes';
    rows.push(['Saved in the config file', h('span', { 'data-testid': 'persisted', 'data-state': String(Boolean(entry.persisted)) },
      entry.persisted ? file : 'no')]);
  }
  rows.push(['In use by this backend', h('span', { 'data-testid': 'active', 'data-state': String(Boolean(entry.active)) },
    entry.active ? 'yes' : 'no')]);
  const compatible = entry.compatible === true ? 'yes' : entry.compatible === false ? 'no' : 'unknown: not reached';
  rows.push(['Protocol compatible', h('span', { 'data-testid': 'compatible', 'data-state': compatible }, compatible)]);
  if (health) {
    rows.push(['Last contact', contactView(health)]);
    if (health.failed_probes > 0) rows.push(['Failed checks in a row', String(health.failed_probes)]);
    if (health.last_error && health.last_error.message) rows.push(['Last error', rich(sentence(health.last_error.message))]);
  }
  if (counts !== undefined) rows.push(['Workers', countsView(counts)]);
  const notes = entry.notes || [];
  return h('details', { class: 'details', 'data-id': entry.id, 'data-testid': 'details' },
    h('summary', { 'data-testid': `details-${entry.id}` }, 'Details', srOnly(` of ${entry.id}`)),
    h('dl', { class: 'facts' }, rows.map(([term, value]) => h('div', { class: 'facts__row' }, h('dt', {}, term), h('dd', {}, value)))),
    notes.length > 0 ? h('ul', { class: 'notes', 'data-testid': 'notes' }, notes.map((note) => h('li', {}, rich(sentence(note))))) : null);
}

function actionsView(entry, testing, onTest, onDelete) {
  const buttons = [];
  if (!entry.builtin && entry.kind === 'remote_http') {
    const button = h('button', { type: 'button', class: 'button button--small', 'data-testid': `test-${entry.id}`, disabled: testing },
      h('span', {}, testing ? 'Testing…' : 'Test'), srOnly(` ${entry.id}`));
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
