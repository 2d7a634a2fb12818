// The message box of a worker's page: Enter sends, Shift+Enter starts a new line, and a choice in plain
// words of what a message does while a reply is still running (`when_busy`).

import { workers as workersApi, ApiError, describeError } from './api.js';
import { h, replace, rich, sentence } from './dom.js';
import { BUSY_CHOICES } from './labels.js';

/** Builds the composer of a worker; `onSent(ack)` runs after the runtime accepted a message. */
export function composer(runtimeId, workerId, { onSent }) {
  const textarea = h('textarea', {
    id: 'composer-input', rows: '3', 'data-testid': 'composer-input',
    'aria-describedby': 'composer-hint', placeholder: 'Write a message…',
  });
  const choices = BUSY_CHOICES.map((choice, i) => {
    const id = `busy-${choice.value}`;
    return h('div', { class: 'choice' },
      h('input', { type: 'radio', name: 'when_busy', id, value: choice.value, checked: i === 0, 'data-testid': id,
        'aria-describedby': `${id}-hint` }),
      h('label', { for: id }, choice.label),
      h('span', { class: 'choice__hint', id: `${id}-hint` }, choice.hint));
  });
  const send = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'composer-send' }, 'Send');
  const status = h('p', { class: 'status-line', role: 'status', 'data-testid': 'composer-status' });
  const error = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'composer-error', hidden: true });
  const closedNote = h('p', { class: 'notice', 'data-testid': 'composer-closed', hidden: true });
  const form = h('form', { class: 'composer', novalidate: true, 'data-testid': 'composer', 'aria-label': 'Send a message' },
    h('label', { for: 'composer-input', class: 'field__label' }, 'Message'),
    textarea,
    h('p', { class: 'field__hint', id: 'composer-hint' }, 'Enter sends; Shift+Enter starts a new line.'),
    h('fieldset', { class: 'choices', 'data-testid': 'busy-choice' },
      h('legend', {}, 'If a reply is still running'),
      choices),
    error,
    h('div', { class: 'button-row' }, send),
    status,
    closedNote);

  let sending = false;
  // Nothing is sent before the page follows the worker's events, or the reply's first words would be missed.
  let ready = false;
  send.disabled = true;

  function whenBusy() {
    return form.querySelector('input[name="when_busy"]:checked')?.value ?? 'reject';
  }

  async function submit() {
    const content = textarea.value;
    if (sending || !ready || form.dataset.closed === 'true') return;
    if (content.trim() === '') {
      replace(error, h('p', {}, 'Write a message first.'));
      error.hidden = false;
      textarea.focus();
      return;
    }
    sending = true;
    send.disabled = true;
    error.hidden = true;
    status.textContent = '';
    try {
      const ack = await workersApi.input(runtimeId, workerId, { content, when_busy: whenBusy() });
      textarea.value = '';
      if (ack.disposition === 'queued') {
        status.textContent = `Your message waits in line${ack.queue_position ? ` (position ${ack.queue_position})` : ''}; it runs after the current reply.`;
      } else if (ack.disposition === 'interrupted') {
        status.textContent = 'The running reply was interrupted; your message runs now.';
      }
      onSent(ack);
    } catch (failure) {
      replace(error, h('p', {}, explain(failure)),
        failure instanceof ApiError ? h('p', { class: 'notice__code' }, 'Error code: ', h('code', {}, failure.code)) : null);
      error.hidden = false;
    } finally {
      sending = false;
      send.disabled = !ready || form.dataset.closed === 'true';
      textarea.focus();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  textarea.addEventListener('keydown', (event) => {
    // An IME composing a word uses Enter to commit it, not to send.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });

  return {
    element: form,
    /** Lets messages be sent once the page follows the worker's events. */
    setReady(value) {
      ready = value;
      send.disabled = !ready || sending || form.dataset.closed === 'true';
    },
    /** Follows the worker's state: a stopped or failed worker takes no more messages. */
    setState(state) {
      const closed = state === 'stopped' || state === 'failed';
      form.dataset.closed = String(closed);
      textarea.disabled = closed;
      send.disabled = closed || sending || !ready;
      for (const input of form.querySelectorAll('input[name="when_busy"]')) input.disabled = closed;
      closedNote.hidden = !closed;
      closedNote.textContent = closed ? `This worker is ${state}; it takes no more messages.` : '';
    },
  };
}

function explain(failure) {
  if (failure instanceof ApiError && failure.code === 'worker_busy') {
    return 'A reply is still running, so the message was not sent. Wait for it, or choose “Wait in line” or “Interrupt” and send again.';
  }
  if (failure instanceof ApiError && failure.code === 'worker_stopped') {
    return 'This worker is stopped; it takes no more messages.';
  }
  return ['The message was not sent: ', rich(sentence(describeError(failure)))];
}
