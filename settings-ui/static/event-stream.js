// One worker's event stream over the Browser WebSocket (SPEC §3, frames of runtime_api::StreamFrame), kept
// open for as long as the page wants it: a dropped socket is opened again with backoff and resumes with
// `after=<last seq>`, so durable events arrive once each and in order; when the cursor cannot be resumed, the
// owner is told to re-read what it shows.

import { eventsUrl } from './api.js';

/** Pauses between reconnection attempts, in ms; the last one repeats. */
const BACKOFF = [250, 500, 1_000, 2_000, 4_000, 8_000];
/** Attempts with `after` that fail before any frame, after which the cursor is given up. */
const RESUME_ATTEMPTS = 3;
/** Silence after which the socket is taken for dead (runtimes send heartbeats every 15 s by default). */
const SILENCE_MS = 40_000;

/**
 * Opens the stream of `workerId` in `runtimeId`. Callbacks:
 * - `onSnapshot(snapshot, { resumed })` for each connection's first frame (`resumed`: the cursor was kept);
 * - `onEvent(event, { replayed })` per event, never twice for one seq (`replayed`: at or before the
 *   snapshot, so the snapshot already reflects it);
 * - `onStatus(status, detail)` with `connecting`, `live`, `reconnecting` or `ended`;
 * - `onGap(why)` when live-only events (reply text) may have been missed: `reconnected`, `lagged`;
 * - `onResync()` when the cursor was lost (`cursor_expired`, a new event log): re-read the transcript.
 * Returns `{ close, drop }`; `drop()` closes the socket as a network failure would (for a Retry button).
 */
export function openStream(runtimeId, workerId, callbacks) {
  const { onSnapshot, onEvent, onStatus, onGap = () => {}, onResync = () => {} } = callbacks;
  let socket = null;
  let lastSeq = null;
  let logId = null;
  let snapshotSeq = 0;
  let attempt = 0;
  let failedResumes = 0;
  let closed = false;
  let everLive = false;
  let retryTimer = null;
  let silenceTimer = null;

  function connect() {
    retryTimer = null;
    if (closed) return;
    onStatus(everLive ? 'reconnecting' : 'connecting');
    const params = { worker_id: workerId, after: lastSeq ?? undefined };
    const ws = new WebSocket(eventsUrl(runtimeId, params));
    socket = ws;
    let gotFrame = false;
    const resuming = lastSeq !== null;

    ws.addEventListener('message', (message) => {
      if (ws !== socket) return;
      armSilence(ws);
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!gotFrame) {
        gotFrame = true;
        attempt = 0;
        failedResumes = 0;
      }
      handle(frame, resuming);
    });
    ws.addEventListener('close', () => {
      if (ws !== socket) return;
      socket = null;
      clearTimeout(silenceTimer);
      if (closed) return;
      if (!gotFrame && resuming && ++failedResumes >= RESUME_ATTEMPTS) {
        // The cursor may have left the retention window (a 410 before the upgrade looks like any other
        // failure to a page): start over from the current state.
        forget();
      }
      if (everLive) onGap('reconnected');
      retry();
    });
  }

  function handle(frame, resuming) {
    switch (frame.type) {
      case 'snapshot': {
        const newLog = logId !== null && frame.log_id !== logId;
        logId = frame.log_id;
        snapshotSeq = frame.seq;
        if (newLog) {
          // Seqs of another log mean nothing here.
          lastSeq = null;
          onResync();
        }
        lastSeq = Math.max(lastSeq ?? 0, frame.seq);
        everLive = true;
        onStatus('live');
        onSnapshot(frame, { resumed: resuming && !newLog });
        break;
      }
      case 'event': {
        const event = frame.event;
        if (!event || typeof event.seq !== 'number') return;
        if (lastSeq !== null && event.seq <= lastSeq && event.seq > snapshotSeq) return;
        lastSeq = Math.max(lastSeq ?? 0, event.seq);
        onEvent(event, { replayed: event.seq <= snapshotSeq });
        break;
      }
      case 'lagged':
        onGap('lagged');
        break;
      case 'closed':
        if (frame.reason === 'cursor_expired') {
          forget();
        } else if (frame.reason === 'source_removed') {
          closed = true;
          onStatus('ended', frame.message || 'The runtime was removed from this backend.');
        }
        // Any other end (shutdown, source_failed) is waited out like a dropped socket.
        break;
      default:
        break;
    }
  }

  function forget() {
    lastSeq = null;
    logId = null;
    failedResumes = 0;
    onResync();
  }

  function retry() {
    if (closed || retryTimer !== null) return;
    const pause = BACKOFF[Math.min(attempt, BACKOFF.length - 1)];
    attempt += 1;
    onStatus(everLive ? 'reconnecting' : 'connecting', pause);
    retryTimer = setTimeout(connect, pause);
  }

  function armSilence(ws) {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      if (ws === socket) ws.close();
    }, SILENCE_MS);
  }

  connect();

  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      if (socket) socket.close();
      socket = null;
    },
    drop() {
      if (socket) socket.close();
    },
  };
}
