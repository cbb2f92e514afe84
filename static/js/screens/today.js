// Today: the day's entry in under a minute — pain, opioid doses, symptoms,
// optional temperature and note. Saved to the phone first, then sent.
import { localAlert, redFlagLabels } from '../alert.js';
import { Offline, get } from '../api.js';
import { addDays, deviceTime, showDate, showTime, zoned } from '../dates.js';
import { h, notice, uid } from '../dom.js';

const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
  : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));

const num = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100));

function render(root, ctx, params) {
  const view = { dirty: false, update: () => { if (!view.dirty) load(); } };
  const tz = ctx.profile && ctx.profile.timezone;
  const now = zoned(tz);
  const today = now.date;
  // The entry window is the protocol's (cached from the server): until the phone has it,
  // only today can be entered.
  const closes = ctx.protocol && ctx.protocol.window_closes_next_day_at;
  const yesterday = addDays(today, -1);
  const yesterdayOpen = Boolean(closes) && now.time < closes &&
    !(ctx.profile && ctx.profile.window && yesterday < ctx.profile.window.first_date);
  const date = params.get('date') === yesterday && yesterdayOpen ? yesterday : today;
  const isToday = date === today;
  const dayWord = isToday ? 'today' : 'yesterday';
  const studyId = ctx.user.study_id;
  let entry = null;
  let pending = null;
  let editing = null; // the values the form starts from, when open
  let fetched = false;
  let previous = false; // the day before has an entry (sent or waiting)

  const title = h('h1', {}, isToday ? 'Today' : 'Yesterday');
  const sub = h('p', { class: 'lead' }, showDate(date, { weekday: 'long', day: 'numeric', month: 'short' }),
    ctx.profile && isToday ? ` · study day ${ctx.profile.day}` : '');
  const body = h('div', { class: 'today' }, h('p', {}, 'Loading…'));
  root.append(title, sub, body);
  load();
  return view;

  async function load() {
    await read();
    if (!view.dirty) draw(offerYesterday());
    if (fetched || !ctx.online) return;
    fetched = true;
    try {
      const state = () => `${entry && entry.version}|${previous}`;
      const before = state();
      const fresh = await get(`/entries?from=${addDays(date, -1)}&to=${date}`);
      await ctx.outbox.cacheEntries(studyId, fresh.entries);
      await read();
      if (!view.dirty && state() !== before) draw(offerYesterday());
    } catch (error) {
      if (!(error instanceof Offline)) throw error;
    }
  }

  async function read() {
    const [cached, waiting] = await Promise.all([ctx.outbox.cached(studyId), ctx.outbox.pending(studyId)]);
    entry = cached.find((e) => e.date === date) || null;
    pending = waiting.find((r) => r.date === date) || null;
    previous = cached.some((e) => e.date === addDays(date, -1)) || waiting.some((r) => r.date === addDays(date, -1));
  }

  function offerYesterday() {
    return isToday && yesterdayOpen && !previous;
  }

  function draw(offerYesterday) {
    const p = ctx.protocol;
    body.replaceChildren();
    if (!p) {
      body.append(ctx.loadError
        ? notice('error', `The diary questions could not be loaded: ${ctx.loadError}`)
        : ctx.online ? h('p', {}, 'Loading the diary questions…')
          : notice('info', 'Connect to the internet once to load the diary questions.'));
      return;
    }
    if (offerYesterday) {
      body.append(h('p', { class: 'notice info' }, `Yesterday's diary is missing. You can still fill it in until ${closes}. `,
        h('a', { href: `#/today?date=${yesterday}` }, "Fill in yesterday's diary")));
    }
    if (editing) {
      body.append(form(p, editing));
      return;
    }
    if (pending && pending.status === 'refused') {
      body.append(notice('error', h('strong', {}, 'This entry was not accepted. '), pending.error.message, fieldText(pending.error.fields)),
        summary(p, pending.body),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn primary', onclick: () => edit(pending.body) }, 'Edit and send again'),
          h('button', { type: 'button', class: 'btn', onclick: discard }, 'Remove from this phone')));
    } else if (pending) {
      body.append(notice('waiting', h('strong', {}, 'Saved on this phone — waiting to send. '),
        'It is sent automatically when you are online.'), summary(p, pending.body),
      h('button', { type: 'button', class: 'btn', onclick: () => edit(pending.body) }, 'Change this entry'));
    } else if (entry) {
      body.append(notice('done', h('strong', {}, `✓ ${isToday ? "Today's" : "Yesterday's"} diary is done.`),
        ` Sent at ${showTime(entry.received_at)}${entry.late ? ' (late)' : ''}. Thank you!`), summary(p, entry),
      h('button', { type: 'button', class: 'btn', onclick: () => edit(entry) }, `Change ${dayWord}'s entry`));
    } else {
      body.append(form(p, null));
    }
  }

  function edit(values) {
    editing = values;
    draw(false);
    const first = body.querySelector('input');
    if (first) first.focus();
  }

  async function discard() {
    if (!window.confirm('Remove this entry from the phone? It was not accepted by the server and will not be sent.')) return;
    await ctx.outbox.remove(pending.client_id);
    ctx.announce('Entry removed from this phone.');
    load();
  }

  // --- the form ---------------------------------------------------------

  function form(p, start) {
    const correcting = !!entry; // the server already holds an entry: a change needs a reason
    const errors = h('div', { class: 'errors', tabindex: '-1' });
    const back = painScale('back_pain', `Back pain ${dayWord}`, p.scales.back_pain, start && start.back_pain);
    const leg = painScale('leg_pain', `Leg pain ${dayWord}`, p.scales.leg_pain, start && start.leg_pain);
    const doses = dosesSection(p, start);
    const symptoms = symptomsSection(p, (start && start.symptoms) || []);
    const extra = extras(p, start);
    const reason = correcting ? reasonField() : null;
    const el = h('form', { class: 'entry', novalidate: true, onsubmit: submit, oninput: () => { view.dirty = true; } },
      errors, back.el, leg.el, doses.el, symptoms.el, extra.el, reason && reason.el,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn primary wide' }, correcting || pending ? 'Save the change' : `Save ${dayWord}'s diary`),
        start ? h('button', { type: 'button', class: 'btn', onclick: cancel }, 'Cancel') : null));
    return el;

    function cancel() {
      editing = null;
      view.dirty = false;
      draw(false);
    }

    async function submit(event) {
      event.preventDefault();
      const problems = [];
      const value = {
        back_pain: back.value(problems),
        leg_pain: leg.value(problems),
        doses: doses.value(problems),
        symptoms: symptoms.value(),
        temperature_c: extra.temperature(problems),
        note: extra.note(),
      };
      if (reason) value.reason = reason.value(problems);
      if (problems.length) {
        errors.replaceChildren(notice('error', h('strong', {}, 'Please check: '),
          h('ul', {}, problems.map(([, text]) => h('li', {}, text)))));
        problems[0][0].focus();
        return;
      }
      errors.replaceChildren();
      value.client_id = uuid();
      value.device_time = deviceTime();
      if (!value.reason) delete value.reason;
      await ctx.outbox.save(studyId, date, value);
      view.dirty = false;
      editing = null;
      if (navigator.onLine) await ctx.sync();
      await load();
      const labels = redFlagLabels(p, value.symptoms, value.temperature_c);
      if (pending && pending.status === 'waiting') {
        ctx.backgroundSync();
        ctx.announce('Saved on this phone. It will be sent when you are online.');
        if (labels.length) {
          await ctx.outbox.markAdvised(value.client_id);
          ctx.showAlerts([localAlert(p, labels)]);
        }
      } else if (pending) {
        ctx.announce(`Not accepted: ${pending.error.message}`);
      } else {
        ctx.announce(`Saved. ${isToday ? "Today's" : "Yesterday's"} diary is done.`);
      }
      title.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }

  function painScale(name, label, scale, value) {
    const id = uid('scale');
    const anchors = { [scale.min]: scale.low_anchor, [scale.max]: scale.high_anchor };
    const options = [];
    for (let n = scale.min; n <= scale.max; n += 1) {
      const input = h('input', { type: 'radio', name, value: String(n), checked: value === n });
      options.push(input);
    }
    const el = h('fieldset', { class: 'scale', role: 'radiogroup', 'aria-labelledby': `${id}-l`, 'aria-describedby': `${id}-a` },
      h('legend', { id: `${id}-l` }, label),
      h('div', { class: 'scale-options' }, options.map((input, i) =>
        h('label', { class: 'scale-option' }, input, h('span', { 'aria-hidden': 'true' }, String(scale.min + i)),
          h('span', { class: 'visually-hidden' }, `${scale.min + i}${anchors[scale.min + i] ? ` ${anchors[scale.min + i]}` : ''}`)))),
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

  function dosesSection(p, start) {
    const drugs = new Map(p.formulary.map((d) => [d.code, d]));
    const recent = (p.recent_drugs || []).filter((c) => drugs.has(c));
    const startDoses = (start && start.doses) || [];
    const rows = [];
    const list = h('div', { class: 'doses' });
    const took = yesNo(`Did you take any opioid pain medicine ${dayWord}?`, start ? (startDoses.length ? 'yes' : 'no') : null, (answer) => {
      if (answer === 'yes' && !rows.length) addRow();
      list.hidden = answer !== 'yes';
      more.hidden = answer !== 'yes';
    });
    const more = h('button', { type: 'button', class: 'btn', onclick: () => addRow().focus() }, '+ Add another medicine');
    const last = (p.last_doses || []).filter((d) => drugs.has(d.drug));
    const same = last.length && !entry ? h('button', { type: 'button', class: 'btn same', onclick: repeat },
      h('span', {}, previous ? `Same as ${isToday ? 'yesterday' : 'the day before'}` : 'Same as last time'), h('span', { class: 'hint' }, last.map(describe).join(', '))) : null;
    const el = h('fieldset', { class: 'group' }, h('legend', {}, 'Opioid pain medicines'),
      took.el, same, list, more);
    startDoses.forEach((d) => addRow(d));
    list.hidden = took.get() !== 'yes';
    more.hidden = list.hidden;
    return {
      el,
      value(problems) {
        const answer = took.get();
        if (!answer) {
          problems.push([took.first, `Answer: did you take any opioid pain medicine ${dayWord}?`]);
          return [];
        }
        return answer === 'yes' ? rows.filter((r) => r.el.isConnected).map((r) => r.value(problems)) : [];
      },
    };

    function repeat() {
      took.set('yes');
      rows.splice(0).forEach((r) => r.el.remove());
      last.forEach((d) => addRow(d));
      list.hidden = false;
      more.hidden = false;
      view.dirty = true;
      ctx.announce(`Filled in: ${last.map(describe).join(', ')}.`);
    }

    function describe(d) {
      const drug = drugs.get(d.drug);
      return `${drug.label.replace(/ \(.*\)$/, '')} ${num(d.strength)} ${drug.unit} × ${num(d.units)}`;
    }

    function addRow(dose) {
      const n = rows.filter((r) => r.el.isConnected).length + 1;
      const id = uid('dose');
      const drugSelect = h('select', { id: `${id}-d`, required: true },
        h('option', { value: '' }, 'Choose…'),
        recent.length ? h('optgroup', { label: 'Your recent medicines' }, recent.map((c) => h('option', { value: c }, drugs.get(c).label))) : null,
        h('optgroup', { label: recent.length ? 'Other medicines' : 'Medicines' },
          p.formulary.filter((d) => !recent.includes(d.code)).map((d) => h('option', { value: d.code }, d.label))));
      const strength = h('select', { id: `${id}-s` });
      const other = h('input', { id: `${id}-o`, type: 'number', inputmode: 'decimal', min: '0', step: 'any' });
      const otherWrap = h('div', { class: 'field', hidden: true }, h('label', { for: `${id}-o` }, 'Other strength'), other);
      const units = h('input', { id: `${id}-u`, type: 'number', inputmode: 'decimal', min: '0.5', step: '0.5', value: '1' });
      const unitsLabel = h('label', { for: `${id}-u` }, 'How many');
      const step = (delta) => {
        units.value = num(Math.max(0.5, (Number(units.value) || 0) + delta));
        view.dirty = true;
      };
      const legend = h('legend', {}, `Medicine ${n}`);
      const row = {
        el: h('fieldset', { class: 'dose' }, legend,
          h('div', { class: 'field' }, h('label', { for: `${id}-d` }, 'Medicine'), drugSelect),
          h('div', { class: 'field' }, h('label', { for: `${id}-s` }, 'Strength'), strength),
          otherWrap,
          h('div', { class: 'field' }, unitsLabel,
            h('div', { class: 'stepper' },
              h('button', { type: 'button', class: 'btn step', 'aria-label': `One less of medicine ${n}`, onclick: () => step(-1) }, '−'),
              units,
              h('button', { type: 'button', class: 'btn step', 'aria-label': `One more of medicine ${n}`, onclick: () => step(1) }, '+'))),
          h('button', { type: 'button', class: 'btn link', onclick: removeRow }, `Remove medicine ${n}`)),
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
      drugSelect.addEventListener('change', () => fillStrengths());
      strength.addEventListener('change', () => { otherWrap.hidden = strength.value !== 'other'; });
      function fillStrengths(keep) {
        const drug = drugs.get(drugSelect.value);
        const values = drug ? [...drug.strengths] : [];
        if (keep && !values.includes(keep)) values.push(keep);
        strength.replaceChildren(...(drug ? values.map((v) => h('option', { value: String(v) }, `${num(v)} ${drug.unit}`)) : [h('option', { value: '' }, 'Choose a medicine first')]),
          ...(drug ? [h('option', { value: 'other' }, 'Other strength…')] : []));
        if (keep) strength.value = String(keep);
        otherWrap.hidden = strength.value !== 'other';
        if (drug) other.previousSibling.textContent = `Other strength (${drug.unit})`;
        unitsLabel.textContent = drug && drug.unit === 'mcg/hr' ? 'Patches worn' : 'How many (tablets or doses)';
      }
      function removeRow() {
        row.el.remove();
        view.dirty = true;
        rows.filter((r) => r.el.isConnected).forEach((r, i) => {
          r.el.querySelector('legend').textContent = `Medicine ${i + 1}`;
        });
        ctx.announce(`Medicine ${n} removed.`);
        if (!rows.some((r) => r.el.isConnected)) took.set('no');
      }
      if (dose) {
        drugSelect.value = dose.drug;
        fillStrengths(dose.strength);
        units.value = num(dose.units);
      } else fillStrengths();
      rows.push(row);
      list.append(row.el);
      return row;
    }
  }

  function yesNo(question, value, onchange) {
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

  function symptomsSection(p, selected) {
    const boxes = [];
    const item = (s) => {
      const box = h('input', { type: 'checkbox', value: s.code, checked: selected.includes(s.code) });
      boxes.push(box);
      return h('label', { class: `check${s.red_flag ? ' red' : ''}` }, box, h('span', {}, s.label));
    };
    const red = p.symptoms.filter((s) => s.red_flag);
    const rest = p.symptoms.filter((s) => !s.red_flag);
    const el = h('fieldset', { class: 'group symptoms' },
      h('legend', {}, `Did you have any of these ${dayWord}?`),
      h('p', { class: 'hint' }, 'Tick all that apply. Leave them empty if none.'),
      h('p', { class: 'subhead' }, 'Tell your study team today'), red.map(item),
      h('p', { class: 'subhead' }, 'Other symptoms'), rest.map(item));
    return { el, value: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  }

  function extras(p, start) {
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
    const el = h('fieldset', { class: 'group' }, h('legend', {}, 'Anything else (optional)'),
      h('div', { class: 'field' }, h('label', { for: 'temp' }, 'Temperature (optional)'),
        h('div', { class: 'inline' }, temp, h('label', { for: 'temp-unit', class: 'visually-hidden' }, 'Temperature unit'), unit),
        h('p', { id: 'temp-hint', class: 'hint' }, 'Only if you measured it.')),
      h('div', { class: 'field' }, h('label', { for: 'note' }, 'Note for your study team (optional)'), note, count));
    return {
      el,
      temperature(problems) {
        if (temp.value.trim() === '') return null;
        const v = Number(temp.value);
        const c = unit.value === 'F' ? (v - 32) * 5 / 9 : v;
        if (!(c >= 30 && c <= 45)) {
          problems.push([temp, unit.value === 'F' ? 'Temperature: enter a body temperature between 86 and 113 °F.' : 'Temperature: enter a body temperature between 30 and 45 °C.']);
          return null;
        }
        return Math.round(c * 10) / 10;
      },
      note: () => note.value.trim() || null,
    };
  }

  function reasonField() {
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

  function summary(p, e) {
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
}

/** The server's field messages in words: {doses: {0: {strength: [...]}}} → "medicine 1 strength: …". */
function fieldText(fields) {
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

export default { title: 'Today', render };
