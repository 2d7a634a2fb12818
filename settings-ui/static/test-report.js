// Shows the report of a connection test (POST .../test): the verdict, what the runtime said about itself, what
// this backend can do with it and the diagnostics.

import { h, badge } from './dom.js';
import { describeError } from './api.js';
import { statusTone } from './labels.js';

/** The report of a finished test of `subject` (a connection id, or a description of the candidate). */
export function reportView(report, subject) {
  const compatible = report.compatible === true;
  return h('article', {
    class: `report ${compatible ? 'report--ok' : 'report--bad'}`,
    'data-testid': 'test-report',
    'data-compatible': String(report.compatible === true),
  },
    h('h3', { class: 'report__title' }, `Test of ${subject}`),
    h('p', { class: 'report__verdict' },
      h('span', {}, 'Compatible: '),
      badge(compatible ? 'yes' : 'no', compatible ? 'ok' : 'bad', { 'data-testid': 'report-verdict' })),
    report.basis && h('p', { class: 'report__basis', 'data-testid': 'report-basis' }, report.basis),
    // What went wrong comes first: it is what the reader of a failed test looks for.
    diagnosticsView(report.diagnostics || []),
    observedView(report.observed),
    operationsView(report.operations || [], report.observed == null),
  );
}

/** What the region shows while a test of `subject` runs. */
export function testingView(subject) {
  return h('p', { class: 'report report--pending', 'data-testid': 'test-pending' }, `Testing ${subject}…`);
}

/** A test that got no report: the request was refused or never answered. */
export function reportErrorView(error, subject) {
  return h('div', { class: 'notice notice--error', 'data-testid': 'test-error' },
    h('p', {}, `Could not test ${subject}: ${describeError(error)}`),
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
    sharedReason ? h('p', { class: 'report__note' }, capitalize(sharedReason) + '.') : null,
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
        op.reason && !sharedReason ? h('span', { class: 'verdict__reason' }, op.reason) : null,
      );
    })));
}

function capitalize(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

function diagnosticsView(diagnostics) {
  return h('section', { class: 'report__section' },
    h('h4', {}, 'Diagnostics'),
    diagnostics.length === 0
      ? h('p', { 'data-testid': 'report-diagnostics' }, 'None.')
      : h('ul', { class: 'diagnostics', 'data-testid': 'report-diagnostics' }, diagnostics.map((d) =>
        h('li', { 'data-testid': `diagnostic-${d.code}` }, h('code', { class: 'diagnostics__code' }, d.code), ' ', d.message))));
}
