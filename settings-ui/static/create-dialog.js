// The "New worker" dialog: pick a runtime that can create workers, one of its profiles and a title, then
// create the worker and open it.

import { runtimes as runtimesApi, workers as workersApi, ApiError, describeError } from './api.js';
import { h, modal, replace, rich, sentence } from './dom.js';
import { executorLabel } from './labels.js';

/**
 * Builds the dialog. `runtimes()` gives the runtimes the page knows (refreshed when the dialog opens);
 * `onCreated(worker)` runs with the new worker's detail.
 */
export function createDialog({ runtimes, onCreated }) {
  const runtimeSelect = h('select', { id: 'create-runtime', 'data-testid': 'create-runtime', 'aria-describedby': 'create-runtime-hint' });
  const profileSelect = h('select', { id: 'create-profile', 'data-testid': 'create-profile', 'aria-describedby': 'create-profile-hint' });
  const profileHint = h('p', { class: 'field__hint', id: 'create-profile-hint', 'data-testid': 'create-profile-hint' });
  const titleInput = h('input', { id: 'create-title', type: 'text', autocomplete: 'off', maxlength: '200', 'data-testid': 'create-title',
    placeholder: 'e.g. Release notes draft' });
  const error = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'create-error', hidden: true });
  const none = h('p', { class: 'notice', 'data-testid': 'create-none', hidden: true },
    'No runtime can create workers right now. Check the Runtimes page.');
  const cancel = h('button', { type: 'button', class: 'button', 'data-testid': 'create-cancel' }, 'Cancel');
  const submit = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'create-submit' }, 'Create and open');
  const form = h('form', { novalidate: true, class: 'dialog__form' },
    h('h2', { id: 'create-title-heading', class: 'dialog__title' }, 'New worker'),
    none,
    h('div', { class: 'field' },
      h('label', { for: 'create-runtime', class: 'field__label' }, 'Runtime'), runtimeSelect,
      h('p', { class: 'field__hint', id: 'create-runtime-hint' }, 'Only runtimes that accept new workers are listed.')),
    h('div', { class: 'field' },
      h('label', { for: 'create-profile', class: 'field__label' }, 'Profile'), profileSelect, profileHint),
    h('div', { class: 'field' },
      h('label', { for: 'create-title', class: 'field__label' }, 'Title', h('span', { class: 'field__optional' }, ' (optional)')),
      titleInput),
    error,
    h('div', { class: 'button-row button-row--end' }, cancel, submit));
  const element = h('dialog', { class: 'dialog', 'data-testid': 'create-dialog', 'aria-labelledby': 'create-title-heading' }, form);

  let busy = false;
  const dialog = modal(element, cancel, () => busy);
  let profiles = [];
  let loadSeq = 0;

  function creatable(list) {
    return list.filter((rt) => rt.active !== false && rt.capabilities && rt.capabilities.create);
  }

  function fillRuntimes(list, preferred) {
    const usable = creatable(list);
    const current = runtimeSelect.value || preferred;
    replace(runtimeSelect, usable.map((rt) => h('option', { value: rt.runtime_id }, `${rt.display_name} (${rt.runtime_id})`)));
    if (usable.some((rt) => rt.runtime_id === current)) runtimeSelect.value = current;
    none.hidden = usable.length > 0;
    submit.disabled = usable.length === 0;
    return usable;
  }

  async function open(button, preferred) {
    error.hidden = true;
    titleInput.value = '';
    runtimeSelect.value = '';
    replace(profileSelect, h('option', { value: '' }, 'Loading profiles…'));
    profileSelect.disabled = true;
    dialog.show(button);
    fillRuntimes(runtimes(), preferred);
    try {
      // What the page knew may be stale: a runtime may have come up or lost the ability to create.
      const fresh = await runtimesApi.list();
      if (element.open) fillRuntimes(Array.isArray(fresh) ? fresh : [], preferred);
    } catch {
      // Keep what the page knew.
    }
    await loadProfiles();
    runtimeSelect.focus();
  }

  /** The runtime's profiles; one that cannot list them gets `default`, which every runtime has. */
  async function loadProfiles() {
    const runtimeId = runtimeSelect.value;
    const seq = ++loadSeq;
    replace(profileSelect, h('option', { value: '' }, 'Loading profiles…'));
    profileSelect.disabled = true;
    let list = [];
    if (runtimeId) {
      try {
        list = await listProfiles(runtimeId);
      } catch {
        list = [];
      }
    }
    if (seq !== loadSeq) return;
    profiles = list.length > 0 ? list : [{ name: 'default', executor: null, fallback: true }];
    replace(profileSelect, profiles.map((p) => h('option', { value: p.name }, profileLabel(p))));
    const preferred = profiles.find((p) => p.name === 'default') ?? profiles[0];
    profileSelect.value = preferred.name;
    profileSelect.disabled = false;
    describeProfile();
  }

  function describeProfile() {
    const profile = profiles.find((p) => p.name === profileSelect.value);
    if (!profile) return profileHint.replaceChildren();
    if (profile.fallback) return replace(profileHint, 'This runtime does not list its profiles; its default profile is used.');
    replace(profileHint, profile.description ? `${profile.description} — ` : '', executorLabel(profile), '.');
  }

  async function listProfiles(runtimeId) {
    const answer = await runtimesApi.profiles(runtimeId);
    return (answer && Array.isArray(answer.profiles)) ? answer.profiles : [];
  }

  runtimeSelect.addEventListener('change', loadProfiles);
  profileSelect.addEventListener('change', describeProfile);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || !runtimeSelect.value) return;
    busy = true;
    submit.disabled = true;
    submit.textContent = 'Creating…';
    error.hidden = true;
    const body = {};
    if (profileSelect.value) body.profile = profileSelect.value;
    if (titleInput.value.trim()) body.title = titleInput.value.trim();
    try {
      const worker = await workersApi.create(runtimeSelect.value, body);
      busy = false;
      dialog.closeKeepingFocus();
      onCreated(worker);
    } catch (failure) {
      replace(error, h('p', {}, 'Could not create the worker: ', rich(sentence(describeError(failure)))),
        failure instanceof ApiError ? h('p', { class: 'notice__code' }, 'Error code: ', h('code', {}, failure.code)) : null);
      error.hidden = false;
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = 'Create and open';
    }
  });

  return { element, open, close: dialog.close };
}

function profileLabel(profile) {
  if (profile.fallback) return 'default';
  return `${profile.name} — ${executorLabel(profile)}`;
}
