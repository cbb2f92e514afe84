// Half-written forms kept in this tab's sessionStorage, so that a session that
// ends (idle timeout) sends staff to sign-in without losing what they typed.

const PREFIX = 'console.draft.';

export function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(PREFIX + key));
  } catch {
    return null;
  }
}

export function save(key, value) {
  try {
    sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Storage full or refused: the form still works, only without the safety net.
  }
}

export function drop(key) {
  try {
    sessionStorage.removeItem(PREFIX + key);
  } catch {
    // nothing kept
  }
}

export function dropAll() {
  try {
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(PREFIX)) sessionStorage.removeItem(key);
  } catch {
    // nothing kept
  }
}

/** Read a form's named controls into a plain object. */
export function readForm(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.type === 'submit' || el.type === 'button') continue;
    if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
    } else if (el.type === 'checkbox') {
      out[el.name] = el.checked;
    } else {
      out[el.name] = el.value;
    }
  }
  return out;
}

/** Put saved values back into a form's named controls. */
export function fillForm(form, values) {
  if (!values) return false;
  for (const el of form.elements) {
    if (!el.name || !(el.name in values)) continue;
    if (el.type === 'radio') el.checked = el.value === values[el.name];
    else if (el.type === 'checkbox') el.checked = Boolean(values[el.name]);
    else el.value = values[el.name];
  }
  return true;
}

/** Keep a form's draft under `key` as staff type; returns whether a draft was restored. */
export function keep(form, key) {
  const restored = fillForm(form, load(key));
  const store = () => save(key, readForm(form));
  form.addEventListener('input', store);
  form.addEventListener('change', store);
  return restored;
}
