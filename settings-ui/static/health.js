// How a runtime is doing, as its health monitor found it (the `health` object of /api/runtimes and of the
// connections listing): one status, the reason when it is not ready, the last contact and its latency.

import { h, badge, rich, sentence } from './dom.js';
import { statusTone, WORKER_STATES } from './labels.js';
import { duration, timeAgo } from './format.js';

/** The one status word of a runtime: its view's status, or "checking" before its first probe. */
export function statusWord(status, health) {
  if (health && health.status === 'unknown' && status !== 'ready') return 'checking';
  return status ?? 'unknown';
}

/** A status badge with the reason beside it when the runtime is not ready. */
export function statusView(status, health, notes = []) {
  const word = statusWord(status, health);
  const reason = word === 'ready' ? null : (health && health.reason) || notes[0] || null;
  return [
    badge(word, word === 'checking' ? 'neutral' : statusTone(word), { 'data-testid': 'status-badge', 'data-state': word }),
    reason ? h('span', { class: 'status-reason', 'data-testid': 'status-reason' }, rich(sentence(reason))) : null,
  ];
}

/** When the runtime last answered, and how long it took. */
export function contactView(health) {
  if (!health) return h('span', { class: 'muted', 'data-testid': 'last-contact' }, 'not monitored');
  return h('span', { class: 'contact' },
    h('span', { 'data-testid': 'last-contact' }, 'Answered ', timeAgo(health.last_ok_at)),
    typeof health.latency_ms === 'number'
      ? h('span', { class: 'muted', 'data-testid': 'latency' }, ` in ${duration(health.latency_ms)}`)
      : null);
}

/** Worker counts by state ("2 idle · 1 busy"), or a dash when the runtime did not say. */
export function countsView(counts) {
  if (!counts) return h('span', { class: 'muted', 'data-testid': 'worker-counts' }, 'unknown');
  const parts = WORKER_STATES.filter((state) => counts[state] > 0).map((state) => `${counts[state]} ${state}`);
  return h('span', { 'data-testid': 'worker-counts', 'data-total': counts.total },
    counts.total === 0 ? 'none' : parts.join(' · '));
}
