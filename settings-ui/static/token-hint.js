// What to do about a connection whose token the backend cannot read: the runtime never saw a request, and
// the fix depends on where the reference points.

import { h } from './dom.js';

/** Whether a message says the backend could not read a connection's token. */
export function tokenUnreadable(text) {
  return /token/i.test(text ?? '') && /cannot be read|could not be read|can't be read/i.test(text ?? '');
}

/** The advice for `tokenRef` (`env:NAME`, `file:PATH`, or null when the page is not shown it) of `id`. */
export function tokenHint(tokenRef, id) {
  const file = `.yoi/secrets/${id}`;
  const fileWay = ['put the token in ', h('code', {}, file), ' and use the reference ', h('code', {}, `file:${file}`),
    ': a secret file is read at each call, without a restart'];
  let advice;
  if (tokenRef && tokenRef.startsWith('env:')) {
    const name = tokenRef.slice(4);
    advice = ['Set ', h('code', {}, name), ' in the backend’s environment and restart the backend. Or ',
      'delete this connection, ', ...fileWay, ', and add it again with that reference.'];
  } else if (tokenRef && tokenRef.startsWith('file:')) {
    const path = tokenRef.slice(5);
    advice = ['Put the token in ', h('code', {}, path),
      ' (the file alone, one line). It is read at each call: no restart is needed.'];
  } else {
    advice = ['Check the token reference in the config file: ', ...fileWay, '.'];
  }
  return h('div', { class: 'notice notice--hint', 'data-testid': 'token-hint' },
    h('p', {}, h('strong', {}, 'The backend could not read this connection’s token, so nothing was sent to the runtime.')),
    h('p', {}, advice));
}
