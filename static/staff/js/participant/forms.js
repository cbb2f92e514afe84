// The actions on a participant, each a form shown in the page's tools area: add,
// void or correct an injection, change baselines or status, record an adverse
// event, and correct an entry as a data clarification. Each change needs a reason
// and lands in the audit trail; a half-written form is kept as a draft.
import { ApiError, get, send } from '../../../js/api.js';
import { answered, flatten, limits, optionCode, optionText } from '../../../js/questions.js';
import { deviceTime, localDate } from '../../../js/dates.js';
import { announce, h, notice } from '../../../js/dom.js';
import * as drafts from '../drafts.js';
import { DRUGS, PARTICIPANT_STATUSES, RED_FLAGS, SYMPTOMS, day, label, num } from '../labels.js';
import { aeFields, readAe, wireSerious } from './adverse.js';
import { busy, entries as pairs, field, put, select, showError } from '../ui.js';

/**
 * The forms of one participant's page. `page` gives what they work on: studyId and
 * path, the tools and status elements, ctx (permissions), person() (the participant
 * as last loaded), changed(tools, updated, message) after a change to them, and
 * loadAdverseEvents(list) and loadEntries(list) to show what a form saved.
 */
export function participantForms(page) {
  const { path, status, studyId } = page;
  const changed = (...args) => page.changed(...args);
  const loadAdverseEvents = (list) => page.loadAdverseEvents(list);
  const loadEntries = (list) => page.loadEntries(list);
  const loadQuestionnaires = (list) => page.loadQuestionnaires(list);
  return {
    showInjectionForm, showVoidInjectionForm, showCorrectInjectionForm, showManageForm, showAeForm, clarify,
    showQuestionnaireForm,
  };

  /** Enter or correct a questionnaire's answers for the participant (a data
   * clarification): one control per question, the reason, then the server's check. */
  async function showQuestionnaireForm(tools, occurrence, list) {
    let detail;
    try {
      detail = await get(`${path}/questionnaires/${occurrence.id}`);
    } catch (error) {
      put(tools, showError(null, error, 'Could not load the questionnaire.'));
      return;
    }
    const given = (detail.response && detail.response.answers) || {};
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Save the answers');
    const items = flatten(detail.questionnaire);
    const controls = items.filter(({ item }) => answered(item)).map(({ item }) => [item, control(item, given[item.linkId])]);
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'qc-h' },
      h('h2', { id: 'qc-h', class: 'span' }, `${detail.response ? 'Correct' : 'Enter'} the answers: ${detail.title}, due ${day(detail.due_date)}`),
      h('p', { class: 'hint span' }, 'A data clarification: answers the questionnaire hides (skip logic) are not stored. The participant’s earlier answers stay in the audit trail.'),
      controls.map(([item, el]) => h('div', { class: 'span' }, field(item.text || item.linkId, el))),
      h('div', { class: 'span' }, field('Reason (required)', h('input', { type: 'text', name: 'reason', required: true, minlength: 3, maxlength: 500, autocomplete: 'off' }),
        { hint: 'E.g. “Answers given by phone on 12 March.” Recorded in the audit trail with your name.' })),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => tools.replaceChildren() }, 'Cancel'))));
    put(tools, form);
    form.querySelector('select, input, textarea').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const answers = {};
      for (const [item, el] of controls) {
        const raw = el.value.trim();
        if (raw === '') continue;
        if (item.type === 'boolean') answers[item.linkId] = raw === 'true';
        else if (item.type === 'integer' || item.type === 'decimal') answers[item.linkId] = Number(raw);
        else answers[item.linkId] = raw;
      }
      const body = { client_id: crypto.randomUUID(), answers, reason: form.elements.namedItem('reason').value.trim() };
      await busy(submit, async () => {
        try {
          await send('PUT', `${path}/questionnaires/${occurrence.id}/response`, body);
          put(tools, notice('done', `The answers of ${detail.title} were saved.`));
          announce(`The answers of ${detail.title} were saved.`);
          loadQuestionnaires(list);
        } catch (error) {
          if (error.fields && error.fields.answers) {
            const { answers: byItem, ...rest } = error.fields; // name each question's own field
            error.fields = { ...rest, ...byItem };
          }
          put(formStatus, showError(form, error, 'Could not save the answers.'));
        }
      });
    }
  }

  function control(item, value) {
    const name = item.linkId;
    if (item.type === 'choice') {
      return select(name, [['', '— no answer —'], ...(item.answerOption || []).map((o) => [optionCode(o), optionText(o)])], value ?? '');
    }
    if (item.type === 'boolean') return select(name, [['', '— no answer —'], ['true', 'Yes'], ['false', 'No']], value == null ? '' : String(value));
    if (item.type === 'text') return h('textarea', { name, rows: 3, maxlength: item.maxLength || 2000, value: value ?? '' });
    const { min, max } = limits(item);
    if (item.type === 'date') return h('input', { type: 'date', name, min, max, value: value ?? '' });
    if (item.type === 'string') return h('input', { type: 'text', name, maxlength: item.maxLength || 2000, value: value ?? '' });
    return h('input', { type: 'number', name, min, max, step: item.type === 'integer' ? 1 : 'any', value: value ?? '' });
  }

  function showInjectionForm(tools) {
    const person = page.person();
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add the injection');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'inj-h' },
      h('h2', { id: 'inj-h', class: 'span' }, 'Add an injection'),
      field('Injection date', h('input', { type: 'date', name: 'date', required: true, min: person.first_injection }),
        { hint: `E.g. the placebo arm’s crossover injection at month 6. Day 0 stays the first injection (${day(person.first_injection)}).` }),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => tools.replaceChildren() }, 'Cancel'))));
    put(tools, form);
    form.querySelector('input').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const date = form.elements.namedItem('date').value;
      await busy(submit, async () => {
        try {
          const updated = await send('POST', `${path}/injections`, { date: date || undefined });
          changed(tools, updated, `Injection of ${day(date)} added for ${studyId}.`);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not add the injection.'));
        }
      });
    }
  }

  /** A reason field the way the console asks for one everywhere. */
  function reasonField(text, hint) {
    return h('div', { class: 'span' }, field(text, h('input', { type: 'text', name: 'reason', required: true, minlength: 3, maxlength: 500, autocomplete: 'off' }), { hint }));
  }

  function showVoidInjectionForm(tools, date) {
    const person = page.person();
    const list = person.injections || [];
    const isFirst = date === list[0];
    const next = list.find((d) => d !== date);
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Void the injection');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'void-h' },
      h('h2', { id: 'void-h', class: 'span' }, `Void the injection of ${day(date)}`),
      h('p', { class: 'hint span' }, isFirst
        ? `This is day 0: after voiding it, study days count from the next injection (${day(next)}).`
        : 'For an injection recorded by mistake. It stays visible as voided, with your reason.'),
      reasonField('Reason for voiding (required)', 'E.g. “Recorded for the wrong participant.” Recorded in the audit trail with your name.'),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => tools.replaceChildren() }, 'Cancel'))));
    put(tools, form);
    form.querySelector('input').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const reason = form.elements.namedItem('reason').value.trim();
      if (isFirst && reason && !window.confirm(`Void day 0 (${day(date)}) of ${studyId}? Study days will count from ${day(next)}.`)) return;
      await busy(submit, async () => {
        try {
          const updated = await send('POST', `${path}/injections/${date}/void`, { reason });
          changed(tools, updated, `The injection of ${day(date)} was voided for ${studyId}.`);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not void the injection.'));
        }
      });
    }
  }

  function showCorrectInjectionForm(tools, date) {
    const person = page.person();
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Save the correct date');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'correct-inj-h' },
      h('h2', { id: 'correct-inj-h', class: 'span' }, `Correct the injection of ${day(date)}`),
      field('Correct injection date', h('input', { type: 'date', name: 'date', required: true, value: date, max: localDate(person.timezone) }),
        { hint: date === (person.injections || [])[0] ? 'This is day 0: study days will count from the corrected date.' : 'The injection moves to this date.' }),
      reasonField('Reason for the correction (required)', 'E.g. “The clinic log says 2 March.” Recorded in the audit trail with your name.'),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => tools.replaceChildren() }, 'Cancel'))));
    put(tools, form);
    form.querySelector('input').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = drafts.readForm(form);
      await busy(submit, async () => {
        try {
          const updated = await send('PATCH', `${path}/injections/${date}`, { date: v.date || undefined, reason: v.reason.trim() });
          changed(tools, updated, `The injection of ${day(date)} was corrected to ${day(v.date)} for ${studyId}.`);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not correct the injection.'));
        }
      });
    }
  }

  function showManageForm(tools) {
    const person = page.person();
    const key = `manage.${studyId}`;
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Save the changes');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'manage-h' },
      h('h2', { id: 'manage-h', class: 'span' }, 'Change baselines or status'),
      field('Baseline back pain (0–10)', select('baseline_back_pain', Array.from({ length: 11 }, (_, i) => [i, String(i)]), person.baseline_back_pain)),
      field('Baseline MME per day (0–50)', h('input', { type: 'number', name: 'baseline_mme', min: 0, max: 50, step: 'any', inputmode: 'decimal', required: true, value: String(person.baseline_mme) })),
      field('Status', select('status', pairs(PARTICIPANT_STATUSES), person.status),
        { hint: 'Withdrawing ends the participant’s session in the diary app.' }),
      h('div', { class: 'span' }, field('Reason for the change (required)', h('input', { type: 'text', name: 'reason', required: true, minlength: 3, maxlength: 500, autocomplete: 'off' }),
        { hint: 'E.g. “Baseline MME corrected from the screening notes.” Recorded in the audit trail with your name.' })),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => { drafts.drop(key); tools.replaceChildren(); } }, 'Cancel'))));
    put(tools, form);
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved change was restored.'));
    form.querySelector('select').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = drafts.readForm(form);
      const mme = v.baseline_mme.trim();
      if (mme === '' || !Number.isFinite(Number(mme))) {
        // Said the way the API says it, next to the field.
        put(formStatus, showError(form, new ApiError(422, { error: { message: 'Check the highlighted field.', fields: { baseline_mme: ['Enter a number from 0 to 50.'] } } })));
        form.elements.namedItem('baseline_mme').focus();
        return;
      }
      const body = {};
      const said = [];
      if (Number(v.baseline_back_pain) !== person.baseline_back_pain) {
        body.baseline_back_pain = Number(v.baseline_back_pain);
        said.push(`baseline back pain ${body.baseline_back_pain}`);
      }
      if (Number(mme) !== Number(person.baseline_mme)) {
        body.baseline_mme = Number(mme);
        said.push(`baseline ${num(body.baseline_mme)} MME per day`);
      }
      if (v.status !== person.status) {
        body.status = v.status;
        said.push(`status ${label(PARTICIPANT_STATUSES, v.status).toLowerCase()}`);
      }
      if (!said.length) {
        put(formStatus, notice('info', 'Nothing to save: the baselines and status are as they were.'));
        return;
      }
      if (v.reason.trim()) body.reason = v.reason.trim();
      if (body.status === 'withdrawn' && body.reason
        && !window.confirm(`Withdraw ${studyId} from the study? This ends the participant’s session in the diary app.`)) return;
      await busy(submit, async () => {
        try {
          const updated = await send('PATCH', path, body);
          drafts.drop(key);
          changed(tools, updated, `Saved for ${studyId}: ${said.join(', ')}.`);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not save the changes.'));
        }
      });
    }
  }

  function showAeForm(tools, aeList) {
    const person = page.person();
    const key = `ae.${studyId}`;
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Record the adverse event');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'ae-h' },
      h('h2', { id: 'ae-h', class: 'span' }, 'Record an adverse event'),
      aeFields({ source: true, maxDate: localDate(person.timezone) }),
      h('div', { class: 'span' }, field('Note', h('textarea', { name: 'note', rows: 3, maxlength: 2000 }))),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => { drafts.drop(key); tools.replaceChildren(); } }, 'Cancel'))));
    put(tools, form);
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved adverse event was restored.'));
    wireSerious(form);
    form.querySelector('select, input').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = drafts.readForm(form);
      const body = { ...readAe(form), note: v.note.trim() || null };
      await busy(submit, async () => {
        try {
          const recorded = await send('POST', `${path}/adverse-events`, body);
          drafts.drop(key);
          const said = recorded.sae_clock && recorded.sae_clock.status === 'running'
            ? 'Serious adverse event recorded: report it to the sponsor within 24 hours.' : 'Adverse event recorded.';
          put(tools, notice('done', said));
          announce(said);
          loadAdverseEvents(aeList);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not record the adverse event.'));
        }
      });
    }
  }

  function clarify(entry, button) {
    const row = button.closest('tr');
    const existing = row.nextElementSibling && row.nextElementSibling.classList.contains('clarify-row') ? row.nextElementSibling : null;
    if (existing) {
      existing.remove();
      return;
    }
    const key = `clarify.${studyId}.${entry.date}`;
    const formStatus = h('div');
    const doseRows = h('div', { class: 'dose-rows' });
    const addDose = (d = {}) => {
      const n = doseRows.children.length + 1;
      const remove = h('button', { type: 'button', class: 'btn small', onclick: () => { line.remove(); form.dispatchEvent(new Event('change')); } }, 'Remove', h('span', { class: 'visually-hidden' }, ` medicine ${n}`));
      const line = h('fieldset', { class: 'dose-line' }, h('legend', {}, `Medicine ${n}`),
        field('Drug', select(`drug_${n}`, Object.entries(DRUGS).map(([code, [name, unit]]) => [code, `${name} (${unit})`]), d.drug || 'oxycodone')),
        field('Strength', h('input', { type: 'number', name: `strength_${n}`, min: 0, step: 'any', value: d.strength ?? '', required: true })),
        field('Units taken', h('input', { type: 'number', name: `units_${n}`, min: 0, step: 'any', value: d.units ?? '', required: true })),
        remove);
      doseRows.append(line);
    };
    (entry.doses || []).forEach(addDose);
    const scale = (name, value) => select(name, Array.from({ length: 11 }, (_, i) => [i, String(i)]), value);
    const form = h('form', { class: 'clarify', novalidate: true, onsubmit, 'aria-label': `Correct the entry of ${day(entry.date)}` },
      h('h3', {}, `Correct the entry of ${day(entry.date)}`),
      h('div', { class: 'form-grid' },
        field('Back pain (0–10)', scale('back_pain', entry.back_pain)),
        field('Leg pain (0–10)', scale('leg_pain', entry.leg_pain)),
        field('Temperature (°C, optional)', h('input', { type: 'number', name: 'temperature_c', min: 30, max: 45, step: 0.1, value: entry.temperature_c ?? '' }))),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Opioid doses'), doseRows,
        h('button', { type: 'button', class: 'btn small', onclick: () => addDose() }, 'Add a medicine')),
      h('fieldset', { class: 'field symptoms' }, h('legend', {}, 'Symptoms'),
        Object.entries(SYMPTOMS).map(([code, text]) => {
          const id = `sym-${entry.date}-${code}`;
          return h('div', { class: 'checkbox' }, h('input', { type: 'checkbox', id, name: `sym_${code}`, checked: (entry.symptoms || []).includes(code) }),
            h('label', { for: id }, text, RED_FLAGS.has(code) ? ' (red flag)' : ''));
        })),
      field('Note', h('textarea', { name: 'note', rows: 2, maxlength: 2000, value: entry.note || '' })),
      field('Reason for the correction (required)', h('input', { type: 'text', name: 'reason', required: true, minlength: 3, maxlength: 500, autocomplete: 'off' }),
        { hint: 'E.g. “Participant confirmed by phone that the dose was 10 mg, not 100 mg.” Recorded in the audit trail with your name.' }),
      formStatus,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, 'Save the correction'),
        h('button', { type: 'button', class: 'btn', onclick: () => { drafts.drop(key); clarifyRow.remove(); } }, 'Cancel')));
    const saved = drafts.load(key);
    if (saved) {
      for (const k of Object.keys(saved)) {
        const m = k.match(/^drug_(\d+)$/);
        if (m && Number(m[1]) > doseRows.children.length) while (doseRows.children.length < Number(m[1])) addDose();
      }
    }
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved correction was restored.'));
    const clarifyRow = h('tr', { class: 'clarify-row' }, h('td', { colspan: 9 }, form));
    row.after(clarifyRow);
    form.querySelector('select').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = drafts.readForm(form);
      if (v.reason.trim().length < 3) {
        put(formStatus, notice('error', 'Give the reason for the correction (at least 3 characters).'));
        form.elements.namedItem('reason').focus();
        return;
      }
      const doses = [];
      for (let i = 1; i <= 50; i += 1) {
        if (!(`drug_${i}` in v)) continue;
        if (!form.elements.namedItem(`drug_${i}`)) continue;
        doses.push({ drug: v[`drug_${i}`], strength: Number(v[`strength_${i}`]), units: Number(v[`units_${i}`]) });
      }
      const body = {
        client_id: crypto.randomUUID(),
        back_pain: Number(v.back_pain),
        leg_pain: Number(v.leg_pain),
        doses,
        symptoms: Object.keys(SYMPTOMS).filter((code) => v[`sym_${code}`]),
        temperature_c: v.temperature_c === '' ? null : Number(v.temperature_c),
        note: v.note.trim() || null,
        device_time: deviceTime(),
        reason: v.reason.trim(),
      };
      const submit = form.querySelector('button[type="submit"]');
      await busy(submit, async () => {
        try {
          await send('PUT', `${path}/entries/${entry.date}`, body);
          drafts.drop(key);
          put(status, notice('done', `The entry of ${day(entry.date)} was corrected.`));
          announce(`The entry of ${day(entry.date)} was corrected.`);
          const list = clarifyRow.closest('section').querySelector('h2').nextElementSibling;
          loadEntries(list);
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not save the correction.'));
        }
      });
    }
  }
}
