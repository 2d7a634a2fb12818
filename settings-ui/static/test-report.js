// Shows the report of a connection test (POST .../test): the verdict, what the runtime said about itself, what
// this backend can do with it and the diagnostics; while a test runs, a Cancel button; once it is shown, a
// close button, when it ran and how long it took.

import { h, badge, rich, sentence } from './dom.js';
import { describeError, AbortedError } from './api.js';
import { statusTone } from './labels.js';
import { clock, duration } from './format.js';
import { tokenHint, tokenUnreadable } from './token-hint.js';

/** Transport failures: the runtime was never reached, so nothing is known of its compatibility. */
const NOT_REACHED = new Set(['runtime_unavailable', 'runtime_timeout']);

/**
 * Runs a test and shows it in `region`: `run(signal)` calls the API. `subject` names what is tested;
 * `tokenRef` and `id` let an unreadable token be explained; `onClose` runs when the report is closed.
 */
export async function runTest(region, { subject, run, tokenRef = null, id = 'runtime', onClose = () => {} }) {
  const controller = new AbortController();
  const started = performance.now();
  const at = new Date();
  region.dataset.subject = subject;
  const cancel = h('button', { type: 'button', class: 'button button--small', 'data-testid': 'test-cancel' }, 'Cancel test');
  cancel.addEventListener('click', () => controller.abort());
  region.replaceChildren(h('div', { class: 'report report--pending', 'data-testid': 'test-pending' },
    h('p', {}, `Testing ${subject}…`), cancel));
  let view;
  try {
    const report = await run(controller.signal);
    view = reportView(report, subject, { tokenRef, id });
  } catch (error) {
    view = error instanceof AbortedError
      ? h('div', { class: 'notice', 'data-testid': 'test-cancelled' },
        h('p', {}, `The test of ${subject} was cancelled after ${duration(performance.now() - started)}; nothing was saved.`))
      : reportErrorView(error, subject);
    if (!(error instanceof AbortedError)) view.dataset.failed = 'true';
  }
  const close = h('button', { type: 'button', class: 'button button--small report__close', 'data-testid': 'report-close' },
    'Close', h('span', { class: 'visually-hidden' }, ` the report of ${subject}`));
  close.addEventListener('click', () => {
    region.replaceChildren();
    delete region.dataset.subject;
    onClose();
  });
  const timing = h('p', { class: 'report__timing muted', 'data-testid': 'report-timing' },
    `Tested at ${clock(at)}, took ${duration(performance.now() - started)}.`);
  view.prepend(h('div', { class: 'report__bar' }, timing, close));
  region.replaceChildren(view);
  return view;
}

/** The report of a finished test of `subject` (a connection id, or a description of the candidate). */
export function reportView(report, subject, { tokenRef = null, id = 'runtime' } = {}) {
  const diagnostics = report.diagnostics || [];
  const unreadable = diagnostics.some((d) => tokenUnreadable(d.message));
  const reached = !(report.observed == null && (unreadable || diagnostics.some((d) => NOT_REACHED.has(d.code))));
  const verdict = report.compatible === true ? 'yes' : reached ? 'no' : 'unknown: not reached';
  const tone = { yes: 'ok', no: 'bad' }[verdict] ?? 'neutral';
  const basis = unreadable
    ? 'The backend could not read the token for this connection, so nothing was sent and its protocol is unknown.'
    : report.basis;
  return h('article', {
    class: `report report--${tone}`,
    'data-testid': 'test-report',
    'data-compatible': String(report.compatible === true),
    'data-verdict': verdict,
  },
  h('h3', { class: 'report__title' }, `Test of ${subject}`),
  h('p', { class: 'report__verdict' },
    h('span', {}, 'Compatible: '),
    badge(verdict, tone, { 'data-testid': 'report-verdict' })),
  basis && h('p', { class: 'report__basis', 'data-testid': 'report-basis' }, rich(sentence(basis))),
  unreadable ? tokenHint(tokenRef, id) : null,
  // What went wrong comes first: it is what the reader of a failed test looks for.
  diagnosticsView(diagnostics),
  observedView(report.observed),
  operationsView(report.operations || [], report.observed == null));
}

/** A test that got no report: the request was refused or never answered. */
export function reportErrorView(error, subject) {
  return h('div', { class: 'notice notice--error', 'data-testid': 'test-error' },
    h('p', {}, `Could not test ${subject}: `, rich(sentence(describeError(error)))),
    error && error.code ? h('p', { class: 'notice__code' }, 'Error code: ', h('code', {}, error.code)) : null);
}

function observedView(observed) {
  if (!observed) {
    return h('section', { class: 'report__section', 'data-testid': 'report-observed' },
      h('h4', {}, 'What the runtime said'),
      h('p', {}, 'Nothing: it did not answer with a runtime summary.'));
  }
  const protocol = observed.protocol || null;
  const features = (protocol && protocol.features) || [];
  return h('section', { class: 'report__section', 'data-testid': 'report-observed' },
    h('h4', {}, 'What the runtime said'),
    h('dl', { class: 'facts' },
      fact('Runtime id', h('code', { 'data-testid': 'observed-id' }, observed.runtime_id ?? '—')),
      fact('Display name', h('span', { 'data-testid': 'observed-name' }, observed.display_name ?? '—')),
      fact('Status', observed.status
        ? badge(observed.status, statusTone(observed.status), { 'data-testid': 'observed-status' })
        : '—'),
      fact('Protocol', protocol
        ? h('span', { 'data-testid': 'observed-protocol' }, `${protocol.name ?? '?'} ${protocol.version ?? ''}`.trim())
        : 'not stated'),
      fact('Features', features.length > 0
        ? h('ul', { class: 'chips', 'data-testid': 'observed-features' },
          features.map((feature) => h('li', {}, h('code', {}, feature))))
        : 'none stated'),
    ));
}

function fact(term, value) {
  return h('div', { class: 'facts__row' }, h('dt', {}, term), h('dd', {}, value));
}

/**
 * One verdict per operation. When the runtime never answered (`unanswered`), "not supported" would claim more
 * than is known: such verdicts read "unknown", and a shared reason is said once instead of on every line.
 */
function operationsView(operations, unanswered) {
  if (operations.length === 0) return null;
  const reasons = new Set(operations.map((op) => op.reason));
  const sharedReason = unanswered && reasons.size === 1 ? [...reasons][0] : null;
  return h('section', { class: 'report__section' },
    h('h4', {}, 'What this backend can use'),
    sharedReason ? h('p', { class: 'report__note' }, rich(sentence(sharedReason))) : null,
    h('ul', { class: 'verdicts', 'data-testid': 'report-operations' }, operations.map((op) => {
      const state = op.supported ? 'yes' : unanswered ? 'unknown' : 'no';
      return h('li', {
        class: `verdict verdict--${state}`,
        'data-testid': `operation-${op.operation}`,
        'data-supported': String(Boolean(op.supported)),
      },
      h('span', { class: 'verdict__icon', 'aria-hidden': 'true' }, { yes: '✓', no: '✕', unknown: '?' }[state]),
      h('span', { class: 'verdict__label' }, op.label ?? op.operation),
      h('span', { class: 'verdict__state' }, { yes: 'supported', no: 'not supported', unknown: 'unknown' }[state]),
      op.reason && !sharedReason ? h('span', { class: 'verdict__reason' }, rich(op.reason)) : null,
      );
    })));
}

function diagnosticsView(diagnostics) {
  return h('section', { class: 'report__section' },
    h('h4', {}, 'Diagnostics'),
    diagnostics.length === 0
      ? h('p', { 'data-testid': 'report-diagnostics' }, 'None.')
      : h('ul', { class: 'diagnostics', 'data-testid': 'report-diagnostics' }, diagnostics.map((d) =>
        h('li', { 'data-testid': `diagnostic-${d.code}` }, h('code', { class: 'diagnostics__code' }, d.code), ' ', rich(sentence(d.message))))));
}
