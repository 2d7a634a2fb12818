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
