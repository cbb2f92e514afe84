// A FHIR Questionnaire as the phone walks it: its items in order (a group's items
// after it), which of them the answers so far show (enableWhen), and the answer
// each kind of item takes. The skip logic is the questionnaire's own data, read the
// way the server reads it: in document order, an item in a hidden group hidden, and
// a hidden item's answer counting as no answer.

const ANSWERED = new Set(['choice', 'integer', 'decimal', 'boolean', 'string', 'text', 'date']);
const MIN = 'http://hl7.org/fhir/StructureDefinition/minValue';
const MAX = 'http://hl7.org/fhir/StructureDefinition/maxValue';

/** [{ item, parent }] in document order. */
export function flatten(resource) {
  const out = [];
  const walk = (items, parent) => {
    for (const item of items || []) {
      out.push({ item, parent });
      if (item.type === 'group') walk(item.item, item);
    }
  };
  walk(resource.item, null);
  return out;
}

export const answered = (item) => ANSWERED.has(item.type);

/** The option code or text an answerOption stands for. */
export const optionCode = (o) => (o.valueCoding ? o.valueCoding.code : o.valueString);
export const optionText = (o) => (o.valueCoding ? o.valueCoding.display || o.valueCoding.code : o.valueString);

export function limits(item) {
  const find = (url) => {
    const ext = (item.extension || []).find((e) => e.url === url);
    return ext ? ext.valueInteger ?? ext.valueDecimal ?? ext.valueDate : undefined;
  };
  return { min: find(MIN), max: find(MAX) };
}

function conditionAnswer(c) {
  for (const [k, v] of Object.entries(c)) {
    if (k.startsWith('answer') && k.length > 6) return v && typeof v === 'object' ? v.code : v;
  }
  return undefined;
}

function holds(c, value) {
  const want = conditionAnswer(c);
  if (c.operator === 'exists') return (value != null) === Boolean(want);
  if (value == null) return c.operator === '!=';
  switch (c.operator) {
    case '=': return value === want;
    case '!=': return value !== want;
    case '>': return typeof value === typeof want && value > want;
    case '<': return typeof value === typeof want && value < want;
    case '>=': return typeof value === typeof want && value >= want;
    case '<=': return typeof value === typeof want && value <= want;
    default: return false;
  }
}

/** The linkIds the answers so far show. */
export function shown(resource, answers) {
  const visible = new Set();
  for (const { item, parent } of flatten(resource)) {
    if (parent && !visible.has(parent.linkId)) continue;
    const conditions = item.enableWhen || [];
    if (conditions.length) {
      const tests = conditions.map((c) => holds(c, visible.has(c.question) ? answers[c.question] : undefined));
      const any = item.enableBehavior === 'any';
      if (!(any ? tests.some(Boolean) : tests.every(Boolean))) continue;
    }
    visible.add(item.linkId);
  }
  return visible;
}

/** What to send: the answers of shown items only (a hidden item's answer is never sent). */
export function toSend(resource, answers) {
  const visible = shown(resource, answers);
  const out = {};
  for (const { item } of flatten(resource)) {
    if (!answered(item) || !visible.has(item.linkId)) continue;
    const v = answers[item.linkId];
    if (v == null || v === '') continue;
    out[item.linkId] = v;
  }
  return out;
}
