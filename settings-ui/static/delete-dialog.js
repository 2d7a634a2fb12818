// The confirmation before a connection is deleted: a modal <dialog> with Cancel and Delete.

import { connections, describeError } from './api.js';
import { h, replace } from './dom.js';

/** Builds the dialog. `onDeleted(id, answer)` runs after the backend removed the connection. */
export function deleteDialog({ onDeleted }) {
  const title = h('h2', { id: 'delete-title', class: 'dialog__title' });
  const description = h('p', { id: 'delete-description' });
  const error = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'delete-error', hidden: true });
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'delete-cancel', autofocus: true }, 'Cancel');
  const confirm = h('button', { type: 'button', class: 'button button--danger', 'data-testid': 'delete-confirm' }, 'Delete');
  const element = h('dialog', {
    class: 'dialog',
    'data-testid': 'delete-dialog',
    'aria-labelledby': 'delete-title',
    'aria-describedby': 'delete-description',
  }, title, description, error, h('div', { class: 'button-row button-row--end' }, cancel, confirm));

  let target = null;
  let opener = null;
  let busy = false;

  function open(entry, button) {
    target = entry;
    opener = button;
    title.textContent = `Delete connection ${entry.id}?`;
    replace(description,
      `“${entry.display_name}” is removed from `, h('code', {}, '.yoi/workspace-backend.local.toml'),
      ' and this backend stops using it. Its workers keep running in the runtime; open event streams here end.');
    error.hidden = true;
    error.replaceChildren();
    element.showModal();
    cancel.focus();
  }

  function close() {
    if (element.open) element.close();
  }

  cancel.addEventListener('click', close);
  // Escape closes the dialog, except while the deletion is under way.
  element.addEventListener('cancel', (event) => {
    if (busy) event.preventDefault();
  });
  element.addEventListener('close', () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });

  confirm.addEventListener('click', async () => {
    if (busy || !target) return;
    const id = target.id;
    busy = true;
    confirm.disabled = true;
    cancel.disabled = true;
    confirm.textContent = 'Deleting…';
    try {
      const answer = await connections.remove(id);
      opener = null;
      close();
      await onDeleted(id, answer);
    } catch (failure) {
      replace(error, h('p', {}, `Could not delete ${id}: ${describeError(failure)}`));
      error.hidden = false;
    } finally {
      busy = false;
      confirm.disabled = false;
      cancel.disabled = false;
      confirm.textContent = 'Delete';
    }
  });

  return { element, open, close };
}
