// Data change requests of a participant (SPEC §14): record what should change in a
// diary entry and why, then apply it (a data clarification, signed afterwards by an
// investigator) or decline it, each with a reason.
import { get, send } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import { localDate } from '../../../js/dates.js';
import { CHANGE_SOURCES, CHANGE_STATUSES, SYMPTOMS, day, dose, instant, label, num, symptom } from '../labels.js';
import { reasonForm, signForm, signatureState, stateOf } from '../signoff.js';
import { badge, busy, checkbox, entries, field, group, put, select, showError, table } from '../ui.js';

const FIELDS = { back_pain: 'Back pain', leg_pain: 'Leg pain', temperature_c: 'Temperature', note: 'Note', symptoms: 'Symptoms', doses: 'Opioid doses' };

function shown(name, value) {
  if (value == null || value === '') return 'none';
  if (name === 'temperature_c') return `${num(value)} °C`;
  if (name === 'symptoms') return value.map(symptom).join(', ') || 'none';
  if (name === 'doses') return value.map(dose).join('; ') || 'none';
  return String(value);
}

/** "Back pain → 3; Note → …" */
export function changesText(changes) {
  return Object.entries(changes || {}).map(([k, v]) => `${FIELDS[k] || k} → ${shown(k, v)}`).join('; ');
}

/**
 * The change-request card. page: {ctx, path, studyId, person(), loadEntries()}.
 */
export function changeRequests(target, page) {
  const { ctx, path, studyId } = page;
  const status = h('div');
  const area = h('div');
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading change requests…'));
  const close = () => area.replaceChildren();
  put(target, h('p', { class: 'hint' }, 'A change to a diary entry asked for by the participant or shown by a source document: recorded first, then applied or declined with a reason.'),
    ctx.can('change_requests.record') ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', onclick: () => open(recordForm()) }, 'Record a change request…')) : null,
    area, status, list);
  load();
  return { load };

  function open(form) {
    put(area, form);
    form.querySelector('input, select').focus();
  }

  async function load() {
    let requests;
    try {
      ({ change_requests: requests } = await get(`${path}/change-requests`));
    } catch (error) {
      put(list, showError(null, error, 'Could not load the change requests.'));
      return;
    }
    put(list, table({ text: `Change requests of ${studyId}`, hidden: true }, [
      { title: 'Diary date', cell: (r) => day(r.date) },
      { title: 'Change', className: 'wide', cell: (r) => changesText(r.changes) },
      { title: 'Why', className: 'wide', cell: (r) => [r.why, h('span', { class: 'hint block' }, label(CHANGE_SOURCES, r.source))] },
      { title: 'Requested', cell: (r) => [instant(r.requested_at), h('span', { class: 'hint block' }, r.requested_by)] },
      { title: 'Status', className: 'wide', cell: (r) => [badge(`cr-${r.status}`, label(CHANGE_STATUSES, r.status)),
        r.decided_at ? h('span', { class: 'hint block' }, `${instant(r.decided_at)} by ${r.decided_by || '—'}${r.decision_reason ? `: ${r.decision_reason}` : ''}`) : null,
        r.status === 'applied' && r.clarification_id ? signatureCell(r) : null] },
      { title: 'Action', bare: true, cell: (r) => actions(r) },
    ], requests.slice().reverse(), { empty: 'No change requests.' }));
  }

  function actions(r) {
    const what = `change request ${r.id} (entry of ${day(r.date)})`;
    if (r.status === 'open' && ctx.can('change_requests.apply')) {
      return [
        h('button', { type: 'button', class: 'btn small', 'aria-label': `Apply ${what}`, onclick: () => open(decision(r, 'apply')) }, 'Apply…'), ' ',
        h('button', { type: 'button', class: 'btn small', 'aria-label': `Decline ${what}`, onclick: () => open(decision(r, 'decline')) }, 'Decline…'),
      ];
    }
    if (r.status === 'applied' && r.clarification_id && ctx.can('signatures.sign')) {
      return h('button', { type: 'button', class: 'btn small', 'aria-label': `Sign ${what}`, onclick: () => open(signForm({
        recordType: 'clarification', recordId: r.clarification_id, title: `Sign the applied change request ${r.id}: entry of ${day(r.date)}`,
        onCancel: close, onSigned: () => load(),
      })) }, 'Sign…');
    }
    return '';
  }

  function signatureCell(r) {
    const cell = h('div', { class: 'block' }, h('span', { class: 'hint' }, 'Loading the signature…'));
    get(`/staff/signatures?record_type=clarification&record_id=${r.clarification_id}`)
      .then(({ signatures }) => put(cell, signatureState(stateOf(signatures), signatures)))
      .catch(() => put(cell, h('span', { class: 'hint' }, 'Signature state not available.')));
    return cell;
  }

  function decision(r, action) {
    const applying = action === 'apply';
    return reasonForm({
      title: `${applying ? 'Apply' : 'Decline'} change request ${r.id}: entry of ${day(r.date)}`,
      intro: `${changesText(r.changes)}. Asked because: ${r.why}`,
      hint: applying ? 'The entry is corrected as a data clarification with this reason, in the audit trail with your name.' : 'Why the change is not made; recorded with your name.',
      submitText: applying ? 'Apply the change' : 'Decline the change',
      onCancel: close,
      async onSubmit(reason) {
        await send('POST', `/staff/change-requests/${r.id}/${action}`, { reason });
        const message = applying ? `Change request ${r.id} applied to the entry of ${day(r.date)}.` : `Change request ${r.id} declined.`;
        close();
        put(status, notice('done', message));
        announce(message);
        load();
        if (applying) page.loadEntries();
      },
    });
  }

  function recordForm() {
    const person = page.person();
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Record the change request');
    const keep = (text) => [['', text], ...Array.from({ length: 11 }, (_, i) => [String(i), String(i)])];
    const symptoms = group('symptoms', 'New symptoms of the day',
      entries(SYMPTOMS).map(([code, text]) => checkbox(`sym_${code}`, text)), { className: 'field checks-grid span' });
    const changeSymptoms = checkbox('change_symptoms', 'Change the symptoms');
    const form = h('form', { class: 'form-grid change-request', novalidate: true, onsubmit, 'aria-label': 'Record a change request' },
      h('h3', { class: 'span' }, 'Record a change request'),
      field('Diary date', h('input', { type: 'date', name: 'date', required: true, max: localDate(person.timezone) })),
      field('Source', select('source', [['', 'Choose the source'], ...entries(CHANGE_SOURCES)], '')),
      h('p', { class: 'hint span' }, 'Which values should change: leave the others as they are.'),
      field('New back pain', select('back_pain', keep('Keep as entered'), '')),
      field('New leg pain', select('leg_pain', keep('Keep as entered'), '')),
      field('New temperature (°C)', h('input', { type: 'number', name: 'temperature_c', min: 30, max: 45, step: 0.1 }), { hint: 'Empty: keep as entered.' }),
      h('div', { class: 'span' }, field('New note', h('textarea', { name: 'note', rows: 2, maxlength: 2000 }), { hint: 'Empty: keep as entered.' })),
      h('div', { class: 'span' }, changeSymptoms), symptoms,
      h('div', { class: 'span' }, field('Why (required)', h('textarea', { name: 'why', rows: 2, maxlength: 1000, required: true }),
        { hint: 'E.g. “Participant called: the 9 was a typing error, it was 3.”' })),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: close }, 'Cancel'))));
    const sync = () => { symptoms.hidden = !form.elements.namedItem('change_symptoms').checked; };
    form.addEventListener('change', sync);
    sync();
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const val = (name) => form.elements.namedItem(name).value.trim();
      const changes = {};
      if (val('back_pain')) changes.back_pain = Number(val('back_pain'));
      if (val('leg_pain')) changes.leg_pain = Number(val('leg_pain'));
      if (val('temperature_c')) changes.temperature_c = Number(val('temperature_c'));
      if (val('note')) changes.note = val('note');
      if (form.elements.namedItem('change_symptoms').checked) {
        changes.symptoms = Object.keys(SYMPTOMS).filter((c) => form.elements.namedItem(`sym_${c}`).checked);
      }
      const body = { date: val('date') || undefined, source: val('source') || undefined, why: val('why') || undefined, changes };
      await busy(submit, async () => {
        try {
          const made = await send('POST', `${path}/change-requests`, body);
          const message = `Change request ${made.id} recorded for the entry of ${day(made.date)}.`;
          close();
          put(status, notice('done', message));
          announce(message);
          load();
        } catch (error) {
          // The API names a wrong value inside "changes": show it next to its control.
          if (error.fields && error.fields.changes && typeof error.fields.changes === 'object' && !Array.isArray(error.fields.changes)) {
            const { changes: nested, ...rest } = error.fields;
            error.fields = { ...rest, ...nested };
          }
          put(formStatus, showError(form, error, 'Could not record the change request.'));
        }
      });
    }
  }
}
