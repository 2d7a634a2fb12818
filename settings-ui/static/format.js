// Times, durations and counts in words people read, shared by the pages.

import { h } from './dom.js';

const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'long' });

/** "5 seconds ago", "in 2 minutes", "now"; `null` for a missing or unreadable time. */
export function ago(iso, now = Date.now()) {
  const at = Date.parse(iso ?? '');
  if (Number.isNaN(at)) return null;
  const diff = at - now;
  if (Math.abs(diff) < 2_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === 'second') return relative.format(Math.round(diff / ms), unit);
  }
  return null;
}

/** A timestamp as the reader's local date and time, for a `title` or a `<time>` label. */
export function localTime(iso) {
  const at = new Date(iso ?? '');
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleString();
}

/** The clock time of a Date, to the second. */
export function clock(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Milliseconds in words: "0.4 ms", "120 ms", "2.5 s". */
export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return null;
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** "1 worker", "3 workers". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** A `<time>` saying how long ago `iso` was, with the local date and time as its tooltip. */
export function timeAgo(iso, attrs = {}) {
  const words = ago(iso);
  if (words === null) return h('span', attrs, 'never');
  return h('time', { ...attrs, datetime: iso, title: localTime(iso) }, words);
}
