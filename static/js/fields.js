// The entry form's parts, each a function that builds its section and reads its
// value back: pain scales, yes/no questions, symptoms, temperature and note, the
// reason for a change, and the summary of a saved entry.
import { h, uid } from './dom.js';

/** A number as the phone shows it: whole, or to two decimals. */
export const num = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100));

/** Eleven choices on one row (each at least 24 px wide on a 360 px phone), anchors under
 * both ends; the anchors are also part of the end choices' names. */
export function painScale(name, label, scale, value) {
  const id = uid('scale');
  const anchors = { [scale.min]: scale.low_anchor, [scale.max]: scale.high_anchor };
  const options = [];
  for (let n = scale.min; n <= scale.max; n += 1) {
    options.push(h('input', { type: 'radio', name, value: String(n), checked: value === n }));
  }
  const el = h('fieldset', { class: 'scale', role: 'radiogroup', 'aria-labelledby': `${id}-l`, 'aria-describedby': `${id}-a` },
    h('legend', { id: `${id}-l` }, label),
    h('div', { class: 'scale-options' }, options.map((input, i) =>
      h('label', { class: 'scale-option' }, input, h('span', { 'aria-hidden': 'true' }, String(scale.min + i)),
        h('span', { class: 'visually-hidden' }, String(scale.min + i) + (anchors[scale.min + i] ? ' ' + anchors[scale.min + i] : ''))))),
    h('p', { id: `${id}-a`, class: 'anchors' },
      h('span', {}, `${scale.min} = ${scale.low_anchor}`), h('span', {}, `${scale.max} = ${scale.high_anchor}`)));
  return {
    el,
    value(problems) {
      const chosen = options.find((o) => o.checked);
      if (!chosen) problems.push([options[0], `Choose a number for ${label.toLowerCase()}.`]);
      return chosen ? Number(chosen.value) : null;
    },
  };
}

export function yesNo(question, value, onchange) {
  const name = uid('yn');
  const inputs = ['no', 'yes'].map((v) => h('input', { type: 'radio', name, value: v, checked: value === v }));
  const el = h('fieldset', { class: 'yesno', role: 'radiogroup', 'aria-labelledby': `${name}-q` },
    h('legend', { id: `${name}-q` }, question),
    h('div', { class: 'choices' }, inputs.map((input) =>
      h('label', { class: 'choice' }, input, h('span', {}, input.value === 'yes' ? 'Yes' : 'No')))));
  el.addEventListener('change', () => onchange(api.get()));
  const api = {
    el,
    first: inputs[0],
    get: () => (inputs.find((i) => i.checked) || {}).value || null,
    set(v) {
      inputs.forEach((i) => { i.checked = i.value === v; });
    },
  };
  return api;
}

/** The checklist, answered either way: symptoms ticked, or "None of these" (which folds
 * the list away, so the common day ends close to Save). `onFever` opens the temperature. */
export function symptomsSection(p, start, dayWord, onFever) {
  const selected = (start && start.symptoms) || [];
  const boxes = [];
  const item = (s) => {
    const box = h('input', { type: 'checkbox', value: s.code, checked: selected.includes(s.code) });
    boxes.push(box);
    return h('label', { class: `check${s.red_flag ? ' red' : ''}` }, box, h('span', {}, s.label));
  };
  const none = h('input', { type: 'checkbox', checked: Boolean(start) && !selected.length });
  const list = h('div', {},
    h('p', { class: 'subhead' }, 'Tell your study team today'), p.symptoms.filter((s) => s.red_flag).map(item),
    h('p', { class: 'subhead' }, 'Other symptoms'), p.symptoms.filter((s) => !s.red_flag).map(item));
  const folded = h('p', { class: 'hint' }, 'Untick "None of these" to see the list again.');
  const fold = () => {
    list.hidden = none.checked;
    folded.hidden = !none.checked;
  };
  const el = h('fieldset', { class: 'group symptoms' },
    h('legend', {}, `Did you have any of these ${dayWord}?`),
    h('p', { class: 'hint' }, 'Tick all that apply, or "None of these".'),
    h('label', { class: 'check none' }, none, h('span', {}, 'None of these')), folded, list);
  el.addEventListener('change', (event) => {
    if (event.target === none) {
      if (none.checked) boxes.forEach((b) => { b.checked = false; });
    } else if (event.target.checked) {
      none.checked = false;
      if (p.red_flag && event.target.value === p.red_flag.fever_code) onFever();
    }
    fold();
  });
  fold();
  return {
    el,
    value(problems) {
      const ticked = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!ticked.length && !none.checked) {
        problems.push([none, `Symptoms: tick the ones you had ${dayWord}, or "None of these".`]);
      }
      return ticked;
    },
  };
}

/** Temperature and note, folded away unless the entry has them (or a fever is ticked). */
export function extrasSection(p, start) {
  const unitPref = localStorage.getItem('diary.tempUnit') || (navigator.language === 'en-US' ? 'F' : 'C');
  const temp = h('input', { id: 'temp', type: 'number', inputmode: 'decimal', step: '0.1', 'aria-describedby': 'temp-hint' });
  const unit = h('select', { id: 'temp-unit' }, h('option', { value: 'C' }, '°C'), h('option', { value: 'F' }, '°F'));
  unit.value = unitPref;
  if (start && start.temperature_c != null) {
    temp.value = unit.value === 'F' ? (start.temperature_c * 9 / 5 + 32).toFixed(1) : String(start.temperature_c);
  }
  unit.addEventListener('change', () => localStorage.setItem('diary.tempUnit', unit.value));
  const max = p.note_max_chars || 2000;
  const note = h('textarea', { id: 'note', rows: '3', maxlength: String(max), 'aria-describedby': 'note-count', value: (start && start.note) || '' });
  const count = h('p', { id: 'note-count', class: 'hint' });
  const counted = () => { count.textContent = `${note.value.length} of ${max} characters`; };
  note.addEventListener('input', counted);
  counted();
  const el = h('details', { class: 'group extras', open: Boolean(start && (start.note || start.temperature_c != null)) },
    h('summary', {}, 'Temperature or a note (optional)'),
    h('div', { class: 'field' }, h('label', { for: 'temp' }, 'Temperature (optional)'),
      h('div', { class: 'inline' }, temp, h('label', { for: 'temp-unit', class: 'visually-hidden' }, 'Temperature unit'), unit),
      h('p', { id: 'temp-hint', class: 'hint' }, 'Only if you measured it.')),
    h('div', { class: 'field' }, h('label', { for: 'note' }, 'Note for your study team (optional)'), note, count));
  return {
    el,
    open: () => { el.open = true; },
    temperature(problems) {
      if (temp.value.trim() === '') return null;
      const v = Number(temp.value);
      const c = unit.value === 'F' ? (v - 32) * 5 / 9 : v;
      if (!(c >= 30 && c <= 45)) {
        el.open = true;
        problems.push([temp, unit.value === 'F' ? 'Temperature: enter a body temperature between 86 and 113 °F.' : 'Temperature: enter a body temperature between 30 and 45 °C.']);
        return null;
      }
      return Math.round(c * 10) / 10;
    },
    note: () => note.value.trim() || null,
  };
}

export function reasonField() {
  const input = h('input', { id: 'reason', type: 'text', maxlength: '500', 'aria-describedby': 'reason-hint', required: true });
  const el = h('div', { class: 'field reason' },
    h('label', { for: 'reason' }, 'Why are you changing this entry?'),
    h('p', { id: 'reason-hint', class: 'hint' }, 'For example: "I pressed the wrong number." Your study team sees the old and new answers.'),
    input);
  return {
    el,
    value(problems) {
      const v = input.value.trim();
      if (v.length < 3) problems.push([input, 'Say briefly why you are changing this entry.']);
      return v;
    },
  };
}

export function entrySummary(p, e) {
  const drugs = new Map(p.formulary.map((d) => [d.code, d]));
  const symptoms = new Map(p.symptoms.map((s) => [s.code, s.label]));
  const doses = (e.doses || []).map((d) => {
    const drug = drugs.get(d.drug);
    return `${drug ? drug.label : d.drug} ${num(d.strength)} ${drug ? drug.unit : d.unit || ''} × ${num(d.units)}`;
  });
  const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  return h('dl', { class: 'summary' },
    row('Back pain', `${e.back_pain} of 10`), row('Leg pain', `${e.leg_pain} of 10`),
    row('Opioid medicines', doses.length ? doses.join('; ') : 'None'),
    row('Symptoms', (e.symptoms || []).length ? e.symptoms.map((c) => symptoms.get(c) || c).join('; ') : 'None'),
    e.temperature_c != null ? row('Temperature', `${e.temperature_c} °C`) : null,
    e.note ? row('Note', e.note) : null);
}

/** The server's field messages in words: {doses: {0: {strength: [...]}}} → "medicine 1 strength: …". */
export function fieldText(fields) {
  const parts = [];
  const walk = (value, path) => {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) parts.push(`${path.join(' ')}: ${value.join(', ')}`);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        walk(v, [...path, /^\d+$/.test(k) ? String(Number(k) + 1) : k === 'doses' ? 'medicine' : k.replace(/_/g, ' ')]);
      }
    } else parts.push(`${path.join(' ')}: ${value}`);
  };
  walk(fields || {}, []);
  return parts.length ? ` (${parts.join('; ')})` : '';
}
