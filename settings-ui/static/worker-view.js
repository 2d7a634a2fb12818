// A worker's page (`#/workers/{runtime}/{worker}`): what it is and its state, its transcript with the reply
// streaming in over the event stream, the message box, Cancel while busy and Stop with a confirmation.

import { workers as workersApi, describeError } from './api.js';
import { h, replace, badge, rich, sentence } from './dom.js';
import { executorLabel, workerStateTone } from './labels.js';
import { openStream } from './event-stream.js';
import { transcriptView } from './transcript-view.js';
import { composer } from './composer.js';
import { confirmDialog } from './confirm-dialog.js';

/** Events after which the transcript has new entries to read. */
const WRITES = new Set(['input_accepted', 'turn_completed', 'turn_cancelled', 'turn_failed', 'turn_interrupted', 'worker_stopped', 'worker_failed']);
/** Events that end a turn, and with it the reply streaming for it. */
const TURN_ENDS = new Set(['turn_completed', 'turn_cancelled', 'turn_failed', 'turn_interrupted']);

/** Renders the page into `main`; returns its teardown. */
export function renderWorkerView(main, route) {
  const [runtimeId, workerId] = route.params;
  let alive = true;
  let stream = null;
  let resync = false;
  let worker = null;

  const heading = h('h1', { 'data-testid': 'worker-title' }, 'Loading worker…');
  const stateBadge = h('span', { 'data-testid': 'worker-state-slot' });
  const facts = h('dl', { class: 'facts worker-facts', 'data-testid': 'worker-facts' });
  const connection = h('p', { class: 'connection-line', role: 'status', 'data-testid': 'connection-status', 'data-state': 'connecting' }, 'Connecting…');
  const actionStatus = h('p', { class: 'status-line', role: 'status', 'data-testid': 'action-status' });
  const actionError = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'action-error', hidden: true });
  const cancelButton = h('button', { type: 'button', class: 'button', 'data-testid': 'worker-cancel', hidden: true }, 'Cancel reply');
  const stopButton = h('button', { type: 'button', class: 'button button--danger', 'data-testid': 'worker-stop', hidden: true }, 'Stop worker');
  const transcript = transcriptView(runtimeId, workerId);
  const box = composer(runtimeId, workerId, { onSent: () => transcript.catchUp() });
  const stopDialog = confirmDialog('stop');
  const body = h('div', { class: 'worker-body' });

  function showWorker(detail) {
    worker = detail;
    heading.textContent = detail.title || 'Untitled worker';
    document.title = `${heading.textContent} · Yoi Workspace`;
    setState(detail.state);
    const usage = detail.usage && detail.usage.total_tokens > 0 ? `${detail.usage.total_tokens} tokens so far` : null;
    replace(facts,
      fact('Runtime', h('code', {}, runtimeId)),
      fact('Worker id', h('code', { 'data-testid': 'worker-id' }, detail.worker_id)),
      fact('Profile', h('code', { 'data-testid': 'worker-profile' }, detail.profile)),
      fact('Runs with', h('span', { 'data-testid': 'worker-executor', 'data-executor': detail.executor }, executorLabel(detail))),
      detail.queued_inputs > 0 ? fact('Waiting in line', String(detail.queued_inputs)) : null,
      usage ? fact('Usage', usage) : null,
      detail.end_reason ? fact('Why it ended', h('span', { 'data-testid': 'worker-end-reason' }, rich(sentence(detail.end_reason)))) : null);
  }

  function setState(state) {
    if (worker) worker.state = state;
    replace(stateBadge, badge(state, workerStateTone(state), { 'data-testid': 'worker-state', 'data-state': state }));
    cancelButton.hidden = state !== 'busy';
    stopButton.hidden = state === 'stopped' || state === 'failed';
    box.setState(state);
  }

  function setConnection(status, detail) {
    connection.dataset.state = status;
    if (status === 'live') connection.textContent = 'Live: new messages appear as they arrive.';
    else if (status === 'reconnecting') connection.textContent = 'Reconnecting… the page catches up once the connection is back.';
    else if (status === 'connecting' && typeof detail === 'number') {
      connection.textContent = `Could not connect to live updates; trying again in ${Math.max(1, Math.round(detail / 1000))} s…`;
    } else if (status === 'connecting') connection.textContent = 'Connecting…';
    else replace(connection, 'Updates stopped: ', rich(sentence(detail)), ' Reload the page to try again.');
  }

  function onSnapshot(snapshot, { resumed }) {
    if (!alive || snapshot.scope !== 'worker') return;
    box.setReady(true);
    showWorker(snapshot.worker);
    const busyTurn = snapshot.worker.state === 'busy' ? snapshot.worker.current_turn?.turn_id : null;
    if (resync) {
      resync = false;
      transcript.loadLatest(snapshot.worker.transcript_len);
    } else {
      transcript.catchUp();
    }
    // Text streamed before this connection is not sent again: say so until the whole reply is read.
    if (busyTurn != null) transcript.gap(resumed ? 'reconnected' : 'joined', busyTurn);
  }

  function onEvent(event, { replayed }) {
    if (!alive) return;
    if (!replayed && event.state) setState(event.state);
    if (event.kind === 'turn_delta') {
      transcript.delta(event.turn_id, event.delta ?? '');
      return;
    }
    if (WRITES.has(event.kind)) {
      transcript.catchUp().then(() => {
        if (TURN_ENDS.has(event.kind)) transcript.settle(event.turn_id);
      });
    }
    if (event.kind === 'worker_stopped' || event.kind === 'worker_failed') refreshDetail();
  }

  async function refreshDetail() {
    try {
      const detail = await workersApi.get(runtimeId, workerId);
      if (alive) showWorker(detail);
    } catch {
      // The stream keeps the state badge right; the facts wait for the next chance.
    }
  }

  async function start() {
    let detail;
    try {
      detail = await workersApi.get(runtimeId, workerId);
    } catch (failure) {
      if (!alive) return;
      replace(body, h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'worker-error' },
        h('p', {}, `Could not open worker ${workerId} of ${runtimeId}: `, rich(sentence(describeError(failure)))),
        h('p', {}, h('a', { href: '#/workers' }, 'Back to all workers'))));
      connection.hidden = true;
      return;
    }
    if (!alive) return;
    showWorker(detail);
    await transcript.loadLatest(detail.transcript_len);
    if (!alive) return;
    stream = openStream(runtimeId, workerId, {
      onSnapshot,
      onEvent,
      onStatus: setConnection,
      onGap: (why) => transcript.gap(why),
      onResync: () => {
        resync = true;
        transcript.reset();
      },
    });
  }

  cancelButton.addEventListener('click', async () => {
    cancelButton.disabled = true;
    actionError.hidden = true;
    try {
      const ack = await workersApi.cancel(runtimeId, workerId);
      actionStatus.textContent = ack.outcome === 'cancelled' ? 'The reply was cancelled.' : 'There was no reply to cancel.';
      setState(ack.state);
      transcript.catchUp();
    } catch (failure) {
      replace(actionError, h('p', {}, 'Could not cancel: ', rich(sentence(describeError(failure)))));
      actionError.hidden = false;
    } finally {
      cancelButton.disabled = false;
    }
  });

  stopButton.addEventListener('click', () => stopDialog.open({
    title: `Stop ${worker?.title || 'this worker'}?`,
    description: ['A running reply is cancelled, and the worker takes no more messages. ',
      'Its transcript stays readable. This cannot be undone.'],
    action: 'Stop worker',
    busyLabel: 'Stopping…',
    opener: stopButton,
    run: async () => {
      const ack = await workersApi.stop(runtimeId, workerId);
      actionStatus.textContent = ack.outcome === 'already_stopped' ? 'The worker was already stopped.' : 'The worker is stopped.';
      setState(ack.state);
      await transcript.catchUp();
      refreshDetail();
    },
  }));

  replace(body,
    h('div', { class: 'worker-actions' }, cancelButton, stopButton),
    actionError,
    actionStatus,
    transcript.element,
    box.element);

  main.append(
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/workers', 'data-testid': 'back-to-workers' }, '← All workers')),
    h('div', { class: 'page-head' }, heading, stateBadge),
    facts,
    connection,
    body,
    stopDialog.element,
  );
  start();

  return () => {
    alive = false;
    if (stream) stream.close();
    stopDialog.close();
  };
}

function fact(term, value) {
  return h('div', { class: 'facts__row' }, h('dt', {}, term), h('dd', {}, value));
}
