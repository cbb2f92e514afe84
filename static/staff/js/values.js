// A record's values in words, as the audit trail shows them: a change as lines of
// "Field: old → new", a record made or removed as "Field: value"; never raw JSON.
import { h } from '../../js/dom.js';
import { dose, instant, symptom } from './labels.js';

const SHOWN = 8; // lines shown at once; the rest fold under "more"
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const CAPITALS = { mme: 'MME', ae: 'AE', sae: 'SAE', ctcae: 'CTCAE', id: 'ID', ids: 'IDs', totp: 'TOTP', url: 'URL', csv: 'CSV' };

const isRecord = (v) => v != null && typeof v === 'object' && !Array.isArray(v);

/** "baseline_mme" → "Baseline MME"; a nested field "detail.max_mme" → "Detail › max MME". */
export function fieldName(path) {
  const text = path.split('.').map((part) => part.split('_').map((w) => CAPITALS[w] || w).join(' ')).join(' › ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** One value in words: a dose as the diary writes it, an instant in the reader's time,
 * a list joined, yes/no, a dash for nothing. */
export function valueText(value) {
  if (value == null || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return INSTANT.test(value) ? instant(value) : symptom(value);
  if (Array.isArray(value)) return value.length ? value.map(valueText).join('; ') : 'none';
  if (value.drug && value.strength != null) return dose(value);
  return Object.entries(value).map(([k, v]) => `${fieldName(k).toLowerCase()} ${valueText(v)}`).join(', ');
}

/** Nested records flattened to dotted fields: {detail: {max_mme: 60}} → {'detail.max_mme': 60}. */
function flatten(record, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(record)) {
    if (isRecord(value) && !(value.drug && value.strength != null) && Object.keys(value).length) flatten(value, `${prefix}${key}.`, out);
    else out[`${prefix}${key}`] = value;
  }
  return out;
}

/** The lines of one audit row's before and after: [{field, before, after, changed}]. */
export function changes(before, after) {
  if (!isRecord(before) && !isRecord(after)) {
    if (before == null && after == null) return [];
    return [{ field: 'Value', before: before == null ? null : valueText(before), after: valueText(after), changed: before != null }];
  }
  const old = isRecord(before) ? flatten(before) : {};
  const now = isRecord(after) ? flatten(after) : {};
  const keys = [...new Set([...Object.keys(now), ...Object.keys(old)])];
  const lines = [];
  for (const key of keys) {
    const was = key in old ? old[key] : undefined;
    const is = key in now ? now[key] : undefined;
    if (before != null && after != null && JSON.stringify(was) === JSON.stringify(is)) continue;
    lines.push({
      field: fieldName(key),
      before: before == null ? null : valueText(was),
      after: after == null ? null : valueText(is),
      changed: before != null && after != null,
    });
  }
  return lines;
}

/** The lines as a list: "Back pain: 4 → 7" (changed), "Back pain: 4" (made or removed). */
export function changeList(before, after) {
  const lines = changes(before, after);
  if (!lines.length) return null;
  const item = (l) => h('li', {},
    h('span', { class: 'field-name' }, `${l.field}: `),
    l.changed
      ? [h('span', { class: 'old' }, l.before), h('span', { class: 'arrow', 'aria-hidden': 'true' }, ' → '),
        h('span', { class: 'visually-hidden' }, ' changed to '), h('span', { class: 'new' }, l.after)]
      : h('span', {}, l.after ?? `${l.before} (removed)`));
  const first = h('ul', { class: 'changes-list' }, lines.slice(0, SHOWN).map(item));
  if (lines.length <= SHOWN) return first;
  return [first, h('details', { class: 'more-values' },
    h('summary', {}, `${lines.length - SHOWN} more value${lines.length - SHOWN === 1 ? '' : 's'}`),
    h('ul', { class: 'changes-list' }, lines.slice(SHOWN).map(item)))];
}
