// One transcript entry as the worker page shows it: who spoke, the text, and for an assistant reply what
// produced it and how its turn ended.

import { h, badge, rich, sentence } from './dom.js';
import { duration, localTime, clock } from './format.js';
import { OUTCOMES } from './labels.js';

const ROLES = { user: 'You', assistant: 'Assistant', system: 'System instruction', notice: 'Notice' };

/** The element of `entry`. */
export function messageView(entry) {
  const role = Object.hasOwn(ROLES, entry.role) ? entry.role : 'notice';
  const outcome = entry.role === 'assistant' ? entry.outcome ?? null : null;
  const ended = outcome && outcome !== 'completed';
  return h('li', {
    class: `message message--${role}${ended ? ` message--${outcome}` : ''}`,
    'data-testid': `entry-${entry.seq}`,
    'data-seq': entry.seq,
    'data-role': role,
    'data-turn': entry.turn_id ?? null,
    'data-outcome': outcome,
  },
  h('div', { class: 'message__head' },
    h('span', { class: 'message__who' }, ROLES[role]),
    ended ? badge(OUTCOMES[outcome] ?? outcome, outcome === 'failed' ? 'bad' : 'warn', { 'data-testid': 'entry-outcome' }) : null,
    h('time', { class: 'message__at', datetime: entry.at, title: localTime(entry.at) }, atWords(entry.at))),
  role === 'notice'
    ? h('p', { class: 'message__text', 'data-testid': 'entry-text' }, rich(sentence(entry.content)))
    : h('p', { class: 'message__text', 'data-testid': 'entry-text' }, entry.content),
  role === 'assistant' ? factsView(entry) : null);
}

/** A reply that is still arriving, delta by delta. */
export function streamingView(turnId) {
  const text = h('span', { 'data-testid': 'streaming-text' });
  const note = h('p', { class: 'message__note', 'data-testid': 'streaming-note', hidden: true });
  const element = h('div', { class: 'message message--assistant message--streaming', 'data-testid': 'streaming', 'data-turn': turnId },
    h('div', { class: 'message__head' },
      h('span', { class: 'message__who' }, 'Assistant'),
      badge('replying…', 'info', { 'data-testid': 'streaming-badge' })),
    h('p', { class: 'message__text' }, text),
    note);
  return {
    element,
    append(delta) {
      text.append(delta);
    },
    /**
     * Says that some text may be missing until the turn ends and the whole reply is read: `joined` (the reply
     * began before the page was following it) or `reconnected`/`lagged` (the connection dropped or fell behind).
     */
    markGap(why) {
      note.textContent = why === 'joined'
        ? 'This reply began before the page connected; the whole reply appears when it ends.'
        : 'Part of this reply was missed while the connection was down; the whole reply appears when it ends.';
      note.hidden = false;
    },
  };
}

function factsView(entry) {
  const facts = [];
  if (entry.executor === 'echo') facts.push(['Executor', 'echo (not a model)']);
  else if (entry.model) facts.push(['Model', entry.model]);
  else if (entry.executor) facts.push(['Executor', entry.executor]);
  if (entry.usage) {
    const u = entry.usage;
    facts.push(['Tokens', `${u.total_tokens} (${u.prompt_tokens} prompt, ${u.completion_tokens} reply)`]);
  }
  if (entry.finish_reason) facts.push(['Finish', entry.finish_reason]);
  if (typeof entry.first_token_ms === 'number') facts.push(['First token', duration(entry.first_token_ms)]);
  if (typeof entry.duration_ms === 'number') facts.push(['Took', duration(entry.duration_ms)]);
  if (facts.length === 0) return null;
  return h('dl', { class: 'message__facts', 'data-testid': 'entry-facts' },
    facts.map(([term, value]) => h('div', { class: 'message__fact' }, h('dt', {}, term), h('dd', {}, value))));
}

function atWords(iso) {
  const at = new Date(iso ?? '');
  return Number.isNaN(at.getTime()) ? '' : clock(at);
}
