// A worker's transcript on its page: the newest page first, "Load earlier" for older ones, new entries read
// as events announce them, and the reply that is streaming in below the last entry.

import { workers as workersApi, describeError } from './api.js';
import { h, replace } from './dom.js';
import { messageView, streamingView } from './message.js';

/** Entries per page. */
export const TRANSCRIPT_PAGE = 50;

/** The transcript of one worker; returns `{ element, loadLatest, catchUp, reset, delta, gap, settle }`. */
export function transcriptView(runtimeId, workerId) {
  const entries = new Map();
  const list = h('ol', { class: 'transcript__list', 'data-testid': 'transcript-list' });
  const earlier = h('button', { type: 'button', class: 'button button--small', 'data-testid': 'load-earlier', hidden: true }, 'Load earlier messages');
  const error = h('p', { class: 'notice notice--error', 'data-testid': 'transcript-error', hidden: true });
  const empty = h('p', { class: 'muted', 'data-testid': 'transcript-empty', hidden: true }, 'No messages yet. Say something below.');
  const live = h('div', { class: 'transcript__live', 'aria-live': 'off' });
  const scroller = h('div', { class: 'transcript', tabindex: '0', role: 'log', 'aria-label': 'Transcript', 'data-testid': 'transcript' },
    h('div', { class: 'transcript__earlier' }, earlier), list, empty, live);
  const element = h('div', { class: 'transcript-wrap' }, error, scroller);

  // Turn id → its streaming reply; and the turns whose reply is in the transcript, which stream no more.
  const streams = new Map();
  const replied = new Set();
  let catching = null;
  let catchAgain = false;

  const first = () => (entries.size === 0 ? null : Math.min(...entries.keys()));
  const last = () => (entries.size === 0 ? 0 : Math.max(...entries.keys()));
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;

  function showError(failure) {
    error.textContent = `Could not read the transcript: ${describeError(failure)}`;
    error.hidden = false;
  }

  /** Adds entries (in any order), skipping ones already shown, and settles the replies they end. */
  function add(page) {
    const stick = nearBottom();
    for (const entry of page) {
      if (entries.has(entry.seq)) continue;
      entries.set(entry.seq, entry);
      const node = messageView(entry);
      const after = [...list.children].find((child) => Number(child.dataset.seq) > entry.seq);
      list.insertBefore(node, after ?? null);
      if (entry.role === 'assistant' && entry.turn_id != null) {
        replied.add(entry.turn_id);
        settle(entry.turn_id);
      }
    }
    empty.hidden = entries.size > 0 || streams.size > 0;
    earlier.hidden = !(first() > 1);
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  /** Shows the newest page, given the newest seq (the worker's `transcript_len`). */
  async function loadLatest(newest) {
    const after = Math.max(0, newest - TRANSCRIPT_PAGE);
    try {
      const page = await workersApi.transcript(runtimeId, workerId, { after, limit: TRANSCRIPT_PAGE });
      error.hidden = true;
      add(page.entries || []);
      scroller.scrollTop = scroller.scrollHeight;
      await catchUp();
    } catch (failure) {
      showError(failure);
    }
  }

  /** Reads every entry after the newest one shown; calls while one runs are folded into one more. */
  async function catchUp() {
    if (catching) {
      catchAgain = true;
      return catching;
    }
    catching = (async () => {
      do {
        catchAgain = false;
        try {
          let after = last();
          for (;;) {
            const page = await workersApi.transcript(runtimeId, workerId, { after, limit: TRANSCRIPT_PAGE });
            add(page.entries || []);
            error.hidden = true;
            if (page.next_after == null || page.next_after <= after) break;
            after = page.next_after;
          }
        } catch (failure) {
          showError(failure);
        }
      } while (catchAgain);
      catching = null;
    })();
    return catching;
  }

  async function loadEarlier() {
    const oldest = first();
    if (!oldest || oldest <= 1) return;
    const after = Math.max(0, oldest - 1 - TRANSCRIPT_PAGE);
    earlier.disabled = true;
    const height = scroller.scrollHeight;
    try {
      const page = await workersApi.transcript(runtimeId, workerId, { after, limit: oldest - 1 - after });
      add(page.entries || []);
      // Keep the entry that was at the top where it was.
      scroller.scrollTop += scroller.scrollHeight - height;
    } catch (failure) {
      showError(failure);
    } finally {
      earlier.disabled = false;
    }
    // The button disappears once the first entry is shown; focus then goes to the oldest entry's list.
    if (earlier.hidden) scroller.focus();
  }
  earlier.addEventListener('click', loadEarlier);

  /** The streaming reply of `turnId`, made when its first delta arrives. */
  function stream(turnId) {
    let reply = streams.get(turnId);
    if (!reply) {
      reply = streamingView(turnId);
      streams.set(turnId, reply);
      live.append(reply.element);
      empty.hidden = true;
    }
    return reply;
  }

  function delta(turnId, text) {
    // A turn whose reply is already in the transcript has nothing left to stream.
    if (replied.has(turnId)) return;
    const stick = nearBottom();
    stream(turnId).append(text);
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  /** Marks `turnId`'s reply (made if need be), or every reply in progress, as possibly missing text. */
  function gap(why, turnId = null) {
    if (turnId != null) {
      if (replied.has(turnId)) return;
      stream(turnId).markGap(why);
      return;
    }
    for (const reply of streams.values()) reply.markGap(why);
  }

  /** Removes the streaming reply of `turnId`: its entry (if any) is in the transcript now. */
  function settle(turnId) {
    const reply = streams.get(turnId);
    if (!reply) return;
    reply.element.remove();
    streams.delete(turnId);
  }

  /** Forgets everything shown, for a transcript that must be read again from scratch. */
  function reset() {
    entries.clear();
    replied.clear();
    replace(list);
    for (const reply of streams.values()) reply.element.remove();
    streams.clear();
  }

  return { element, loadLatest, catchUp, reset, delta, gap, settle, newest: last };
}
