// The "Add a connection" form: test a candidate before saving it, then add it. The backend validates and
// names every problem at once; the form shows each beside its field, anything else in an alert above the
// buttons.

import { connections, ApiError, describeError } from './api.js';
import { h, replace, rich, sentence } from './dom.js';
import { runTest } from './test-report.js';

const FIELDS = [
  {
    name: 'id',
    label: 'Id',
    hint: '1–64 lowercase letters, digits, “-” and “_”, e.g. dev. It names the runtime in every worker address.',
    attrs: { required: true, autocapitalize: 'none' },
  },
  {
    name: 'display_name',
    label: 'Display name',
    hint: 'What people see, up to 100 characters.',
    attrs: { required: true },
  },
  {
    name: 'endpoint',
    label: 'Endpoint',
    hint: 'Base URL of the worker-runtime: http or https, host and port; no path, query or user name.',
    attrs: { required: true, type: 'url', placeholder: 'http://127.0.0.1:8790', inputmode: 'url' },
  },
  {
    name: 'token_ref',
    label: 'Token reference',
    optional: true,
    hint: () => [
      'Where the backend reads the runtime’s token from: ', h('code', {}, 'env:YOI_RUNTIME_TOKEN_<NAME>'),
      ' (an environment variable of the backend) or ', h('code', {}, 'file:.yoi/secrets/<file>'),
      '. This is a reference, never the token itself: do not paste a token here.',
    ],
    attrs: { placeholder: 'env:YOI_RUNTIME_TOKEN_DEV' },
  },
];

/** Builds the form. `onAdded(answer, id)` runs after a connection was added. */
export function connectionForm({ onAdded }) {
  const inputs = {};
  const errors = {};
  const alert = h('div', { class: 'notice notice--error', role: 'alert', 'data-testid': 'form-error', hidden: true });
  const status = h('p', { class: 'status-line', role: 'status', 'data-testid': 'form-status' });
  const reportRegion = h('div', { class: 'report-region', 'aria-live': 'polite', 'data-testid': 'candidate-report-region' });
  const testButton = h('button', { type: 'button', class: 'button', 'data-testid': 'candidate-test' }, 'Test');
  const addButton = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'add-submit' }, 'Add');

  const fields = FIELDS.map((field) => {
    const inputId = `field-${field.name}`;
    const hintId = `hint-${field.name}`;
    const input = h('input', {
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      ...field.attrs,
      id: inputId,
      name: field.name,
      'aria-describedby': hintId,
      'data-testid': `input-${field.name}`,
    });
    const error = h('p', { class: 'field__error', id: `error-${field.name}`, 'data-testid': `error-${field.name}`, hidden: true });
    // Editing a field makes its old error stale.
    input.addEventListener('input', () => clearFieldError(field.name));
    inputs[field.name] = input;
    errors[field.name] = error;
    return h('div', { class: 'field' },
      h('label', { for: inputId, class: 'field__label' }, field.label,
        field.optional ? h('span', { class: 'field__optional' }, ' (optional)') : null),
      input,
      error,
      h('p', { class: 'field__hint', id: hintId }, typeof field.hint === 'function' ? field.hint() : field.hint));
  });

  const form = h('form', { class: 'add-form', 'data-testid': 'add-form', novalidate: true, 'aria-labelledby': 'add-heading' },
    h('div', { class: 'add-form__fields' }, fields),
    alert,
    h('div', { class: 'button-row' }, testButton, addButton),
    status,
    reportRegion);

  let busy = false;

  function candidate() {
    const value = (name) => inputs[name].value.trim();
    const body = { id: value('id'), endpoint: value('endpoint'), display_name: value('display_name') };
    // An empty reference means "no token"; the API wants the field left out then.
    if (value('token_ref') !== '') body.token_ref = value('token_ref');
    return body;
  }

  function clearFieldError(name) {
    errors[name].hidden = true;
    errors[name].textContent = '';
    errors[name].removeAttribute('data-code');
    inputs[name].removeAttribute('aria-invalid');
    inputs[name].setAttribute('aria-describedby', `hint-${name}`);
  }

  function clearErrors() {
    status.textContent = '';
    for (const name of Object.keys(inputs)) clearFieldError(name);
    alert.hidden = true;
    alert.replaceChildren();
  }

  /** Shows every problem of `error` beside its field, the rest in the alert; focus goes to the first field. */
  function showError(error) {
    const problems = error instanceof ApiError ? error.problems : [];
    const byField = problems.filter((p) => p.field && Object.hasOwn(inputs, p.field));
    const rest = problems.filter((p) => !(p.field && Object.hasOwn(inputs, p.field)));
    for (const problem of byField) {
      const name = problem.field;
      const shown = errors[name].hidden ? [] : [...errors[name].childNodes];
      replace(errors[name], shown, shown.length > 0 ? ' ' : null, rich(withoutFieldName(problem.message, name)),
        endpointHint(name, inputs[name].value));
      errors[name].dataset.code = error.code;
      errors[name].hidden = false;
      inputs[name].setAttribute('aria-invalid', 'true');
      inputs[name].setAttribute('aria-describedby', `error-${name} hint-${name}`);
    }
    const first = FIELDS.find((field) => byField.some((p) => p.field === field.name));
    if (first) inputs[first.name].focus();
    if (byField.length > 0 && rest.length === 0) return;
    replace(alert,
      error instanceof ApiError && byField.length > 0
        ? rest.map((p) => h('p', {}, rich(sentence(p.message))))
        : h('p', {}, rich(sentence(describeError(error)))),
      error instanceof ApiError
        ? h('p', { class: 'notice__code' }, 'Error code: ', h('code', {}, error.code),
          error.retryable ? ' — trying again may work.' : null)
        : null);
    if (error instanceof ApiError) alert.dataset.code = error.code;
    else alert.removeAttribute('data-code');
    alert.hidden = false;
  }

  function setBusy(value, which) {
    busy = value;
    testButton.disabled = value;
    addButton.disabled = value;
    form.setAttribute('aria-busy', String(value));
    testButton.textContent = value && which === 'test' ? 'Testing…' : 'Test';
    addButton.textContent = value && which === 'add' ? 'Adding…' : 'Add';
  }

  testButton.addEventListener('click', async () => {
    if (busy) return;
    clearErrors();
    const body = candidate();
    const subject = `${body.id || 'the candidate'}${body.endpoint ? ` at ${body.endpoint}` : ''} (not saved)`;
    setBusy(true, 'test');
    let validation = null;
    await runTest(reportRegion, {
      subject,
      id: body.id || 'runtime',
      tokenRef: body.token_ref ?? null,
      run: async (signal) => {
        try {
          return await connections.testCandidate(body, signal);
        } catch (error) {
          if (error instanceof ApiError && error.problems.some((p) => p.field && Object.hasOwn(inputs, p.field))) validation = error;
          throw error;
        }
      },
      onClose: () => testButton.focus(),
    });
    setBusy(false);
    if (validation) {
      // A validation error belongs beside its field, not in the report.
      reportRegion.replaceChildren();
      showError(validation);
    } else if (document.activeElement === document.body) {
      // A keyboard user stays on the button; it was disabled for a moment, which can drop focus in some browsers.
      testButton.focus();
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    clearErrors();
    // A report about what the form held before would be read as one about what is being added.
    reportRegion.replaceChildren();
    const body = candidate();
    setBusy(true, 'add');
    try {
      const answer = await connections.add(body);
      form.reset();
      reportRegion.replaceChildren();
      const connection = (answer && answer.connection) || {};
      const notes = connection.notes || [];
      let message = `Connection ${body.id} added.`;
      if (answer && answer.restart_required) {
        message += ' It is saved but could not be applied yet: it takes effect after a reload or restart.';
      }
      if (notes.length > 0) message += ` ${notes.join(' ')}`;
      status.textContent = message;
      await onAdded(answer, body.id);
    } catch (error) {
      showError(error);
    } finally {
      setBusy(false);
      if (document.activeElement === document.body) addButton.focus();
    }
  });

  return form;
}

/** For an endpoint without a scheme (`localhost:8790`), the likely fix. */
function endpointHint(name, value) {
  if (name !== 'endpoint' || !value.trim() || value.includes('://')) return null;
  return h('span', { class: 'field__fix', 'data-testid': 'endpoint-fix' },
    ' Start it with ', h('code', {}, 'http://'), ' or ', h('code', {}, 'https://'), ', e.g. ', h('code', {}, `http://${value.trim()}`), '.');
}

/**
 * The message without a leading "<field>: " (e.g. "endpoint: endpoint scheme must be http or https"): beside
 * the field, its name is already on screen.
 */
function withoutFieldName(message, field) {
  const prefix = `${field.replace(/_/g, ' ')}: `;
  const rest = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return rest ? rest.charAt(0).toUpperCase() + rest.slice(1) : message;
}
