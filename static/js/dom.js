// A tiny DOM builder. Text is always set as text, never parsed as HTML, so
// nothing the server or a participant writes can become markup.

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'textContent']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A native select with its chosen option shown over it in full, wrapping: a select's own
 * box cuts a long name ("Oxycodone (e.g. Percocet, OxyContin)") on a phone. Call
 * `sync()` after setting its value in code. */
export function picker(select) {
  const shown = h('span', { class: 'picker-text', 'aria-hidden': 'true' });
  const sync = () => { shown.textContent = select.selectedOptions.length ? select.selectedOptions[0].text : ''; };
  select.addEventListener('change', sync);
  sync();
  return { el: h('div', { class: 'picker' }, select, shown), sync };
}

/** A random UUID for a write's client_id (crypto.randomUUID where the browser has it). */
export const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
  : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));

let seq = 0;
/** A unique id for label/aria wiring. */
export const uid = (prefix = 'f') => `${prefix}-${++seq}`;

/** Say something to screen readers through the polite live region. */
export function announce(message) {
  const region = document.getElementById('status');
  region.textContent = '';
  // A fresh text node after a tick makes repeated messages be read again.
  setTimeout(() => { region.textContent = message; }, 50);
}

/** A visible message box; role=alert for errors, role=status otherwise. */
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}
