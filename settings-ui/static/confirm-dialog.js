// A modal confirmation: a question, what follows from it, Cancel and one action that runs while the dialog
// waits, showing its error in the dialog if it fails.

import { h, modal, replace, rich, sentence } from './dom.js';
import { describeError } from './api.js';

/**
 * Builds a dialog named `name` (used in ids and test ids). `open({ title, description, action, busyLabel,
 * run, opener, describeFailure, onDone })` shows it; `run()` is awaited, and the dialog closes when it
 * resolves. `describeFailure(error)`, if given, words a failed `run()` (by default the API's message as a
 * sentence). `onDone(result)`, if given, is awaited after the dialog closed, with what `run()` resolved to;
 * focus is then its business, so it does not go back to `opener`.
 */
export function confirmDialog(name) {
  const title = h('h2', { id: `${name}-title`, class: 'dialog__title' });
  const description = h('p', { id: `${name}-description` });
  const error = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': `${name}-error`, hidden: true });
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': `${name}-cancel` }, 'Cancel');
  const confirm = h('button', { type: 'button', class: 'button button--danger', 'data-testid': `${name}-confirm` });
  const element = h('dialog', {
    class: 'dialog', 'data-testid': `${name}-dialog`, 'aria-labelledby': `${name}-title`, 'aria-describedby': `${name}-description`,
  }, title, description, error, h('div', { class: 'button-row button-row--end' }, cancel, confirm));

  let current = null;
  let busy = false;
  const dialog = modal(element, cancel, () => busy);

  function open(options) {
    current = options;
    title.textContent = options.title;
    replace(description, options.description);
    confirm.textContent = options.action;
    error.hidden = true;
    error.replaceChildren();
    dialog.show(options.opener);
    cancel.focus();
  }

  confirm.addEventListener('click', async () => {
    if (busy || !current) return;
    const { run, action, busyLabel, describeFailure, onDone } = current;
    busy = true;
    confirm.disabled = true;
    cancel.disabled = true;
    confirm.textContent = busyLabel ?? `${action}…`;
    try {
      const result = await run();
      if (onDone) dialog.closeKeepingFocus();
      else dialog.close();
      if (onDone) await onDone(result);
    } catch (failure) {
      replace(error, h('p', {}, describeFailure ? describeFailure(failure) : rich(sentence(describeError(failure)))));
      error.hidden = false;
    } finally {
      busy = false;
      confirm.disabled = false;
      cancel.disabled = false;
      confirm.textContent = action;
    }
  });

  return { element, open, close: dialog.close };
}
