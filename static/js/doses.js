// The opioid doses of an entry: "did you take any?", one row per medicine with its
// strength and count, and "same as yesterday" from the last entry's doses. Nothing is
// filled in for the participant: a strength and a count are chosen, or repeated on
// purpose with "same as yesterday".
import { h, picker, uid } from './dom.js';
import { num, yesNo } from './fields.js';

export function dosesSection(p, start, { dayWord, sameLabel, offerSame, changed, announce }) {
  const drugs = new Map(p.formulary.map((d) => [d.code, d]));
  const recent = (p.recent_drugs || []).filter((c) => drugs.has(c));
  const startDoses = (start && start.doses) || [];
  const rows = [];
  const list = h('div', { class: 'doses' });
  const took = yesNo(`Did you take any opioid pain medicine ${dayWord}?`, start ? (startDoses.length ? 'yes' : 'no') : null, (answer) => {
    if (answer === 'yes' && !live().length) addRow();
    show();
  });
  const more = h('button', { type: 'button', class: 'btn', onclick: () => addRow().focus() }, '+ Add another medicine');
  const last = (p.last_doses || []).filter((d) => drugs.has(d.drug));
  const same = last.length && offerSame ? h('button', { type: 'button', class: 'btn same', onclick: repeat },
    h('span', {}, sameLabel), h('span', { class: 'hint' }, last.map(describe).join(', '))) : null;
  const el = h('fieldset', { class: 'group' }, h('legend', { class: 'visually-hidden' }, 'Opioid pain medicines'),
    took.el, same, list, more);
  startDoses.forEach((d) => addRow(d, true));
  show();
  return {
    el,
    value(problems) {
      const answer = took.get();
      if (!answer) {
        problems.push([took.first, `Answer: did you take any opioid pain medicine ${dayWord}?`]);
        return [];
      }
      return answer === 'yes' ? live().map((r) => r.value(problems)) : [];
    },
  };

  function live() {
    return rows.filter((r) => r.el.isConnected);
  }

  /** The rows under "yes"; "same as yesterday" while it can still help. */
  function show() {
    const answer = took.get();
    list.hidden = answer !== 'yes';
    more.hidden = list.hidden;
    if (same) same.hidden = answer === 'no' || live().some((r) => r.folded());
  }

  function repeat() {
    took.set('yes');
    rows.splice(0).forEach((r) => r.el.remove());
    last.forEach((d) => addRow(d, true));
    show();
    changed();
    announce(`Filled in: ${last.map(describe).join(', ')}.`);
    list.querySelector('.dose-folded button').focus();
  }

  function describeFull(d) {
    const drug = drugs.get(d.drug);
    return `${drug.label} ${num(d.strength)} ${drug.unit} × ${num(d.units)}`;
  }

  function describe(d) {
    const drug = drugs.get(d.drug);
    return `${drug.label.replace(/ \(.*\)$/, '')} ${num(d.strength)} ${drug.unit} × ${num(d.units)}`;
  }

  /** A medicine's row; one filled in on purpose (repeated or saved) shows as one line
   * until "Change" opens its fields. */
  function addRow(dose, fold = false) {
    const n = live().length + 1;
    const id = uid('dose');
    const drugSelect = h('select', { id: `${id}-d`, required: true },
      h('option', { value: '' }, 'Choose…'),
      recent.length ? h('optgroup', { label: 'Your recent medicines' }, recent.map((c) => h('option', { value: c }, drugs.get(c).label))) : null,
      h('optgroup', { label: recent.length ? 'Other medicines' : 'Medicines' },
        p.formulary.filter((d) => !recent.includes(d.code)).map((d) => h('option', { value: d.code }, d.label))));
    const drugPicker = picker(drugSelect);
    const strength = h('select', { id: `${id}-s` });
    const other = h('input', { id: `${id}-o`, type: 'number', inputmode: 'decimal', min: '0', step: 'any' });
    const otherLabel = h('label', { for: `${id}-o` }, 'Other strength');
    const otherWrap = h('div', { class: 'field', hidden: true }, otherLabel, other);
    const units = h('input', { id: `${id}-u`, type: 'number', inputmode: 'decimal', min: '0.5', step: '0.5' });
    const unitsLabel = h('label', { for: `${id}-u` }, 'How many');
    const step = (delta) => {
      const now = Number(units.value) || 0;
      if (!now && delta < 0) return;
      units.value = num(Math.max(0.5, now + delta));
      changed();
    };
    const fields = h('div', { hidden: fold },
      h('div', { class: 'field' }, h('label', { for: `${id}-d` }, 'Medicine'),
        drugPicker.el),
      h('div', { class: 'dose-amount' },
        h('div', { class: 'field' }, h('label', { for: `${id}-s` }, 'Strength'), strength),
        h('div', { class: 'field' }, unitsLabel,
          h('div', { class: 'stepper' },
            h('button', { type: 'button', class: 'btn step', 'aria-label': `One less of medicine ${n}`, onclick: () => step(-1) }, '−'),
            units,
            h('button', { type: 'button', class: 'btn step', 'aria-label': `One more of medicine ${n}`, onclick: () => step(1) }, '+')))),
      otherWrap,
      h('button', { type: 'button', class: 'btn link', onclick: removeRow }, `Remove medicine ${n}`));
    const line = h('p', { class: 'dose-folded', hidden: !fold },
      h('span', {}, dose ? describeFull(dose) : ''),
      h('button', { type: 'button', class: 'btn', onclick: unfold, 'aria-label': `Change medicine ${n}` }, 'Change'));
    const row = {
      el: h('fieldset', { class: 'dose' }, h('legend', {}, `Medicine ${n}`), line, fields),
      folded: () => !line.hidden,
      focus: () => drugSelect.focus(),
      value(problems) {
        const drug = drugs.get(drugSelect.value);
        if (!drug) {
          problems.push([drugSelect, `Medicine ${n}: choose which medicine.`]);
          return null;
        }
        const s = Number(strength.value === 'other' ? other.value : strength.value);
        const u = Number(units.value);
        if (!(s > 0)) problems.push([strength.value === 'other' ? other : strength, `Medicine ${n}: choose the strength.`]);
        if (!(u > 0)) problems.push([units, `Medicine ${n}: enter how many.`]);
        return { drug: drug.code, strength: s, units: u };
      },
    };
    function unfold() {
      line.hidden = true;
      fields.hidden = false;
      show();
      drugSelect.focus();
    }
    drugSelect.addEventListener('change', () => fillStrengths());
    strength.addEventListener('change', () => { otherWrap.hidden = strength.value !== 'other'; });
    function fillStrengths(keep) {
      const drug = drugs.get(drugSelect.value);
      const values = drug ? [...drug.strengths] : [];
      if (keep && !values.includes(keep)) values.push(keep);
      strength.replaceChildren(h('option', { value: '' }, drug ? 'Choose…' : 'Choose a medicine first'),
        ...(drug ? [...values.map((v) => h('option', { value: String(v) }, `${num(v)} ${drug.unit}`)), h('option', { value: 'other' }, 'Other…')] : []));
      strength.value = keep ? String(keep) : '';
      otherWrap.hidden = strength.value !== 'other';
      if (drug) otherLabel.textContent = `Other strength (${drug.unit})`;
      unitsLabel.textContent = drug && drug.unit === 'mcg/hr' ? 'Patches worn' : 'How many';
    }
    function removeRow() {
      row.el.remove();
      changed();
      live().forEach((r, i) => {
        r.el.querySelector('legend').textContent = `Medicine ${i + 1}`;
      });
      announce(`Medicine ${n} removed.`);
      if (!live().length) took.set('no');
      show();
    }
    if (dose) {
      drugSelect.value = dose.drug;
      fillStrengths(dose.strength);
      units.value = num(dose.units);
    } else fillStrengths();
    drugPicker.sync();
    rows.push(row);
    list.append(row.el);
    return row;
  }
}
