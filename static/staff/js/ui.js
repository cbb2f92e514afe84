// Form fields, tables and messages shared by the console's screens. Every
// control gets a visible <label>; errors name the field they belong to.
import { ApiError, Offline } from '../../js/api.js';
import { add, h, notice, uid } from '../../js/dom.js';
import { plural } from './labels.js';

/** A labelled control: field('Study ID', h('input', {...}), {hint}). */
export function field(text, control, { hint, className = 'field' } = {}) {
  const id = control.id || uid('c');
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: className }, h('label', { for: id }, text), control, hintEl,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

/** A <select> from [[value, text], …]. */
export function select(name, options, value) {
  return h('select', { name },
    options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, text)));
}

/** One labelled radio button: radio('serious', 'true', 'Yes'). */
export function radio(name, value, text) {
  const id = uid('r');
  return h('div', { class: 'radio' }, h('input', { type: 'radio', name, value, id }), h('label', { for: id }, text));
}

export const entries = (table) => Object.entries(table);

/** Mark fields the API named (422) and return a summary notice. */
/** The query that acknowledges or resolves a flag's whole inbox item: the flags it
 * showed, so that a flag that joined the item since is never acted on unseen (the
 * server answers 409 item_changed); nothing for a flag alone. */
export function itemQuery(members) {
  return members.length > 1 ? `?merged=true&seen=${members.map((f) => f.id).join(',')}` : '';
}

export function showError(form, error, fallback = 'That did not work.') {
  if (form) {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const p of form.querySelectorAll('.field-error')) {
      p.hidden = true;
      p.textContent = '';
    }
  }
  if (error instanceof Offline) return notice('error', 'The diary server cannot be reached. Nothing was saved; try again.');
  if (!(error instanceof ApiError)) return notice('error', fallback);
  const items = [];
  for (const [name, messages] of Object.entries(error.fields || {})) {
    const text = flatten(messages).join('; ');
    let control = form && form.elements.namedItem(name);
    // Radios and checkboxes share a name: their fieldset (data-field) takes the message.
    const group = form && (!control || !control.id) ? form.querySelector(`fieldset[data-field="${name}"]`) : null;
    if (group) control = group;
    if (control && control.id) {
      if (!group) control.setAttribute('aria-invalid', 'true');
      const p = document.getElementById(`${control.id}-error`);
      if (p) {
        p.textContent = text;
        p.hidden = false;
        control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), p.id].filter(Boolean).join(' '));
      }
      const labelEl = group ? group.querySelector('legend') : form.querySelector(`label[for="${control.id}"]`);
      items.push(`${labelEl ? labelEl.textContent : name}: ${text}`);
    } else {
      items.push(`${name === '_schema' ? '' : `${name}: `}${text}`);
    }
  }
  let message = error.message;
  if (error.status === 403 && !/cannot|locked|only/i.test(message)) message = `Your role cannot do this. ${message}`;
  return notice('error', message, items.length ? h('ul', {}, items.map((t) => h('li', {}, t))) : null);
}

function flatten(messages) {
  if (Array.isArray(messages)) return messages.flatMap(flatten);
  if (messages && typeof messages === 'object') {
    return Object.entries(messages).flatMap(([k, v]) => flatten(v).map((m) => `${k} ${m}`));
  }
  return [String(messages)];
}

/** A table that becomes stacked cards on a phone (labels come from data-label). */
export function table(caption, columns, rows, { empty = 'Nothing to show.', className = '' } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', { class: `data ${className}` },
      h('caption', { class: caption.hidden ? 'visually-hidden' : '' }, caption.text || caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.className }, c.title)))),
      h('tbody', {}, rows.map((row) => h('tr', { class: row.rowClass || null },
        columns.map((c, i) => (i === 0
          ? h('th', { scope: 'row', 'data-label': c.title, class: c.className }, h('div', { class: 'cell' }, c.cell(row)))
          : h('td', { 'data-label': c.bare ? null : c.title, class: c.className }, h('div', { class: 'cell' }, c.cell(row))))))))));
}

/** The MME conversion factors of the formulary, each with its source (from the server). */
export function factorTable(formulary) {
  if (!formulary.length) return h('p', { class: 'empty' }, 'The formulary could not be loaded.');
  return table({ text: 'MME conversion factors and their sources', hidden: true }, [
    { title: 'Drug', cell: (d) => d.label },
    { title: 'Factor', className: 'num', cell: (d) => (d.factor == null ? 'none' : `${d.factor} MME per ${d.unit}`) },
    { title: 'Source', className: 'wide', cell: (d) => d.factor_source || '—' },
  ], formulary, { className: 'factors' });
}

export function badge(kind, text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A <dl> of [term, value] pairs. */
export function facts(pairs, className = 'facts') {
  return h('dl', { class: className }, pairs.filter(Boolean).flatMap(([t, v]) => [h('dt', {}, t), h('dd', {}, v ?? '—')]));
}

/** Run an async action from a button: disabled while it runs. */
export async function busy(button, action) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.disabled = was;
    button.removeAttribute('aria-busy');
  }
}

/** The query string of a params object, without empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Replace an element's children; null, false and nested arrays are skipped. */
export function put(el, ...children) {
  el.replaceChildren();
  return add(el, children);
}

/** A fieldset of radios or checkboxes that can carry the API's message for `name`. */
export function group(name, legend, children, { className = 'field radios', hint } = {}) {
  const id = uid('g');
  return h('fieldset', { class: className, id, 'data-field': name, 'aria-describedby': hint ? `${id}-hint` : null },
    h('legend', {}, legend), hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, children,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

/** One labelled checkbox. */
export function checkbox(name, text, { value, checked = false } = {}) {
  const id = uid('x');
  return h('div', { class: 'checkbox' }, h('input', { type: 'checkbox', name, id, value, checked }), h('label', { for: id }, text));
}

/** Under a paged list: how many of how many are shown (`total` null: not counted) and,
 * while more remain, a button that loads the next page (`onMore`, its text `label`);
 * after it, the first new row takes the focus. */
export function pageControls({ shown, total = null, one, many = `${one}s`, step, list, onMore, label = null }) {
  const done = !onMore || (total != null && shown >= total);
  let text = `Showing ${plural(shown, one, many)}.`;
  if (total != null) text = shown >= total ? `All ${plural(total, one, many)} shown.` : `Showing ${shown} of ${plural(total, one, many)}.`;
  const status = shown || total ? h('p', { class: 'page-count' }, text) : null;
  if (done) return h('div', { class: 'pager' }, status);
  const next = total == null ? step : Math.min(step, total - shown);
  const button = h('button', { type: 'button', class: 'btn' }, label || `Show ${next} more ${next === 1 ? one : many}`);
  button.addEventListener('click', () => busy(button, async () => {
    const before = shown;
    if (await onMore() === false) return;
    const row = list.querySelectorAll('tbody tr')[before];
    const cell = row && row.querySelector('th, td');
    if (cell) {
      cell.tabIndex = -1;
      cell.focus();
    }
  }));
  return h('div', { class: 'pager' }, status, button);
}
