// Building DOM nodes. Everything goes through createElement and text nodes, never an HTML string, so a value from
// the server is always shown as text and can never become markup.

/**
 * Creates an element.
 *
 * `attrs` keys: `class` (string), `on` (event name → handler), `text` (text content), boolean values set or
 * omit an attribute, `null`/`undefined` values are skipped, anything else is set as an attribute.
 * `children` may be nodes, strings, numbers, arrays of those, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name === 'text') {
      element.textContent = String(value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (see `h`) to `parent`. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces every child of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Text that only screen readers read, e.g. the id after a short button label. */
export function srOnly(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/** A status badge; `tone` picks its colour (ok, warn, bad, info, neutral). */
export function badge(text, tone, attrs = {}) {
  return h('span', { ...attrs, class: `badge badge--${tone}` }, text);
}

/**
 * A message from the API as nodes: text between backticks becomes a `<code>` span, the rest plain text, so
 * "set `FOO`" never shows its backticks. A lone backtick stays as it is.
 */
export function rich(text) {
  const parts = String(text ?? '').split('`');
  if (parts.length < 3) return [String(text ?? '')];
  const nodes = [];
  parts.forEach((part, i) => {
    // An odd count of backticks leaves the last part unclosed: show it as text, with its backtick.
    const closed = i < parts.length - 1 || parts.length % 2 === 1;
    if (i % 2 === 1 && closed) nodes.push(h('code', {}, part));
    else if (i % 2 === 1) nodes.push('`' + part);
    else if (part) nodes.push(part);
  });
  return nodes;
}

/** A message from the API as one sentence: its first letter upper case, a final period added. */
export function sentence(text) {
  const value = String(text ?? '').trim();
  if (!value) return value;
  const first = value.charAt(0).toUpperCase() + value.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}

/**
 * Runs `render`, which replaces nodes inside `container`, and gives keyboard focus back to the element with
 * the same `data-testid` if focus was inside before: a live refresh must not throw a keyboard user out.
 */
export function keepingFocus(container, render) {
  const active = document.activeElement;
  const focused = active && container.contains(active) ? active.dataset.testid : null;
  render();
  if (focused) {
    const again = container.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

/**
 * What every modal `<dialog>` of the page does: Cancel and Escape close it, except while `isBusy()`, and focus
 * goes back to the element that opened it. `show(opener)` opens it; `close()` closes it; `closeKeepingFocus()`
 * closes it and leaves focus to the caller.
 */
export function modal(element, cancel, isBusy) {
  let opener = null;
  const close = () => {
    if (element.open) element.close();
  };
  cancel.addEventListener('click', close);
  element.addEventListener('cancel', (event) => {
    if (isBusy()) event.preventDefault();
  });
  element.addEventListener('close', () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  return {
    show(from) {
      opener = from ?? null;
      element.showModal();
    },
    close,
    closeKeepingFocus() {
      opener = null;
      close();
    },
  };
}
