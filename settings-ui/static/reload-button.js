// The Reload action of the Connections page: the backend reads its configuration again, as on SIGHUP
// (POST /api/settings/reload), and says what changed.

import { connections, describeError } from './api.js';
import { h, replace, rich, sentence } from './dom.js';

/** A button and its status line; `onReloaded(answer)` runs after a reload that was answered. */
export function reloadButton({ onReloaded }) {
  const button = h('button', { type: 'button', class: 'button', 'data-testid': 'reload' }, 'Reload configuration');
  const status = h('div', { class: 'reload-status', role: 'status', 'data-testid': 'reload-status' });

  button.addEventListener('click', async () => {
    button.disabled = true;
    button.textContent = 'Reloading…';
    status.replaceChildren();
    try {
      const answer = await connections.reload();
      replace(status, summary(answer || {}));
      await onReloaded(answer);
    } catch (error) {
      replace(status, h('p', { class: 'notice notice--error', 'data-testid': 'reload-error' },
        'Could not reload the configuration: ', rich(sentence(describeError(error)))));
    } finally {
      button.disabled = false;
      button.textContent = 'Reload configuration';
    }
  });

  return { button, status };
}

function summary(answer) {
  const added = answer.added || [];
  const removed = answer.removed || [];
  const failed = answer.failed || [];
  const lines = [];
  if (added.length === 0 && removed.length === 0 && failed.length === 0) lines.push('Reloaded: nothing changed.');
  else lines.push(`Reloaded.${added.length ? ` Now in use: ${added.join(', ')}.` : ''}${removed.length ? ` No longer used: ${removed.join(', ')}.` : ''}`);
  return h('div', { class: 'notice', 'data-testid': 'reload-result' },
    lines.map((line) => h('p', {}, line)),
    failed.length > 0 ? h('ul', { 'data-testid': 'reload-failed' }, failed.map((f) =>
      h('li', {}, h('code', {}, f.runtime_id), ' could not be applied: ', rich(sentence(f.reason))))) : null,
    answer.restart_required
      ? h('p', { 'data-testid': 'reload-restart' }, 'Some changes (to ', h('code', {}, '[server]'), ' or ', h('code', {}, '[embedded]'),
        ') take effect only after a restart of the backend.')
      : null);
}
