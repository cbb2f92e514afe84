// The adverse event record (SPEC §14): its fields in a form (record, resolve a flag
// as one, correct one with a reason), and each event as a card with its signature
// state, its 24-hour SAE clock and the Correct, Sign and Reported-to-sponsor actions.
import { get, send } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import {
  ACTIONS_TAKEN, AE_OUTCOMES, AE_SOURCES, CTCAE, EXPECTEDNESS, MANUAL_AE_SOURCES, RELATED, SERIOUSNESS,
  day, instant, label,
} from '../labels.js';
import { saeClock, signForm, signatureState, sponsorForm } from '../signoff.js';
import { busy, checkbox, entries, facts, field, group, put, radio, select, showError } from '../ui.js';

/**
 * The controls of an adverse event. `ae`: the event being corrected (its values are
 * filled in); `source`: ask for the source; `termOptional`: the flag's finding stands in.
 * Returns the elements; call wireSerious(form) once they are in a form.
 */
export function aeFields({ ae = null, source = false, termOptional = false, maxDate } = {}) {
  const v = ae || {};
  const criteria = new Set(v.seriousness_criteria || []);
  const choose = (text, table) => [['', text], ...entries(table)];
  const seriousRadio = (value, text) => {
    const r = radio('serious', value, text);
    if (ae && String(ae.serious) === value) r.querySelector('input').checked = true;
    return r;
  };
  return [
    source ? field('Source', select('source', [['', 'Choose the source'], ...MANUAL_AE_SOURCES.map((c) => [c, AE_SOURCES[c]])], '')) : null,
    field(termOptional ? 'Adverse event term (optional)' : 'Term', h('input', { type: 'text', name: 'term', maxlength: 200, required: !termOptional, autocomplete: 'off', value: v.term || '' }),
      termOptional ? { hint: 'Leave empty to use the flag’s finding as the term.' } : {}),
    field(termOptional ? 'Onset date (optional)' : 'Onset date', h('input', { type: 'date', name: 'onset_date', required: !termOptional, max: maxDate, value: v.onset_date || '' }),
      termOptional ? { hint: 'Leave empty to use the flag’s first date.' } : {}),
    field('End date (optional)', h('input', { type: 'date', name: 'end_date', max: maxDate, value: v.end_date || '' }),
      { hint: 'Leave empty while the event is ongoing.' }),
    field('CTCAE grade', select('ctcae_grade', choose('Choose a grade', CTCAE), v.ctcae_grade ?? '')),
    group('serious', 'Serious adverse event?', [seriousRadio('false', 'No'), seriousRadio('true', 'Yes')]),
    group('seriousness_criteria', 'Seriousness criteria (one or more)',
      entries(SERIOUSNESS).map(([code, text]) => checkbox(`criterion_${code}`, text, { checked: criteria.has(code) })),
      { className: 'field checks-grid span criteria', hint: 'A serious event starts the 24-hour clock for reporting to the sponsor.' }),
    field('Relatedness to the study treatment', select('related', choose('Choose relatedness', RELATED), v.related ?? '')),
    field('Expectedness', select('expected', choose('Not assessed yet', EXPECTEDNESS), v.expected ?? ''),
      { hint: 'Against the reference safety information.' }),
    field('Action taken', select('action_taken', choose('Not recorded yet', ACTIONS_TAKEN), v.action_taken ?? '')),
    field('Outcome of the event', select('ae_outcome', choose('Not recorded yet', AE_OUTCOMES), v.ae_outcome ?? '')),
  ];
}

/** Show the seriousness criteria only while "serious" is Yes. */
export function wireSerious(form) {
  const box = form.querySelector('fieldset[data-field="seriousness_criteria"]');
  const sync = () => {
    const yes = form.querySelector('input[name="serious"][value="true"]');
    box.hidden = !(yes && yes.checked);
  };
  form.addEventListener('change', sync);
  sync();
  return sync;
}

/** The adverse event values of a form, as the API takes them (empty choices left out). */
export function readAe(form) {
  const val = (name) => {
    const el = form.elements.namedItem(name);
    return el && typeof el.value === 'string' ? el.value.trim() : '';
  };
  const serious = form.querySelector('input[name="serious"]:checked');
  const out = {};
  for (const name of ['source', 'term', 'onset_date', 'related']) if (val(name)) out[name] = val(name);
  if (val('end_date')) out.end_date = val('end_date');
  if (val('ctcae_grade')) out.ctcae_grade = Number(val('ctcae_grade'));
  if (serious) out.serious = serious.value === 'true';
  out.seriousness_criteria = out.serious
    ? Object.keys(SERIOUSNESS).filter((c) => form.elements.namedItem(`criterion_${c}`).checked) : [];
  for (const name of ['expected', 'action_taken', 'ae_outcome']) out[name] = val(name) || null;
  return out;
}

/** What a correction changes: the fields whose value differs from the event's. */
export function changedFields(ae, values) {
  const out = {};
  const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  for (const [k, v] of Object.entries(values)) {
    if (k === 'source') continue;
    if (k === 'seriousness_criteria' ? !same([...(ae[k] || [])].sort(), [...v].sort()) : !same(ae[k], v)) out[k] = v;
  }
  if (!('end_date' in values) && ae.end_date) out.end_date = null;
  return out;
}

/** The facts of one adverse event. */
export function aeFacts(ae) {
  return facts([
    ['Term', ae.term],
    ['Onset', day(ae.onset_date)],
    ['End', ae.end_date ? day(ae.end_date) : 'Ongoing'],
    ['CTCAE grade', label(CTCAE, ae.ctcae_grade)],
    ['Serious', ae.serious ? `Yes: ${(ae.seriousness_criteria || []).map((c) => label(SERIOUSNESS, c)).join(', ') || 'criteria not given'}` : 'No'],
    ['Relatedness', label(RELATED, ae.related)],
    ['Expectedness', ae.expected ? label(EXPECTEDNESS, ae.expected) : 'Not assessed yet'],
    ['Action taken', ae.action_taken ? label(ACTIONS_TAKEN, ae.action_taken) : 'Not recorded yet'],
    ['Outcome', ae.ae_outcome ? label(AE_OUTCOMES, ae.ae_outcome) : 'Not recorded yet'],
    ['Source', [label(AE_SOURCES, ae.source), ae.flag_id ? [' ', h('a', { href: `#/flags/${ae.flag_id}` }, `(flag ${ae.flag_id})`)] : null]],
    ae.note ? ['Note', ae.note] : null,
    ['Recorded', `${instant(ae.recorded_at)} by ${ae.recorded_by}`],
    ae.updated_at && ae.updated_at !== ae.recorded_at ? ['Corrected', `${instant(ae.updated_at)} by ${ae.updated_by || '—'} (version ${ae.version})`] : null,
  ], 'facts cols');
}

/**
 * One adverse event as a card: facts, signature state, SAE clock, and its actions.
 * onChanged(updated) is called with the API's answer after a correction, a report
 * or a signature, to show the event again.
 */
export function aeCard(ae, { ctx, onChanged, headingLevel = 'h3', maxDate }) {
  const area = h('div', { class: 'ae-actions-area' });
  const name = `${ae.term}, onset ${day(ae.onset_date)}`;
  const running = ae.sae_clock && ae.sae_clock.status === 'running';
  const open = (form) => {
    put(area, form);
    const first = form.querySelector('input:not([type="hidden"]), select, textarea');
    if (first) first.focus();
  };
  const close = () => area.replaceChildren();
  const buttons = [
    ctx.can('adverse_events.correct') ? h('button', { type: 'button', class: 'btn small', 'aria-label': `Correct the adverse event ${name}`, onclick: () => open(correctForm(ae, { maxDate, onCancel: close, onDone: onChanged })) }, 'Correct…') : null,
    ctx.can('signatures.sign') && ae.signature_status !== 'signed' ? h('button', { type: 'button', class: 'btn small', 'aria-label': `Sign the adverse event ${name}`, onclick: () => open(signForm({
      recordType: 'adverse_event', recordId: ae.id, title: `Sign the adverse event: ${ae.term}`,
      onCancel: close, onSigned: (_sig, done) => reload(done),
    })) }, 'Sign…') : null,
    running && ctx.can('adverse_events.report') ? h('button', { type: 'button', class: 'btn small', 'aria-label': `Reported to sponsor: ${name}`, onclick: () => open(sponsorForm(ae, { onCancel: close, onDone: (updated) => onChanged(updated, notice('done', `Reported to sponsor, reference ${updated.sae_clock ? updated.sae_clock.reference : ''}.`)) })) }, 'Reported to sponsor…') : null,
  ].filter(Boolean);
  return h('article', { class: `ae-card${ae.serious ? ' serious' : ''}`, 'aria-label': `Adverse event: ${name}` },
    h(headingLevel, { class: 'ae-title' }, ae.term, ae.serious ? [' ', h('span', { class: 'badge sev-urgent' }, 'Serious')] : null),
    saeClock(ae.sae_clock),
    aeFacts(ae),
    h('div', { class: 'ae-signoff' }, h('strong', {}, 'Sign-off: '), signatureState(ae.signature_status, ae.signatures)),
    buttons.length ? h('div', { class: 'actions' }, buttons) : null,
    area);

  async function reload(done) {
    try {
      onChanged(await get(`/staff/adverse-events/${ae.id}`), done);
    } catch {
      // the signature stands; the list shows it at the next load
    }
  }
}

/** Correct an adverse event: its fields as recorded, what changed, and the reason. */
export function correctForm(ae, { maxDate, onCancel, onDone }) {
  const formStatus = h('div');
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Save the correction');
  const form = h('form', { class: 'form-grid ae-correct', novalidate: true, onsubmit, 'aria-label': `Correct the adverse event ${ae.term}` },
    h('h4', { class: 'span' }, `Correct the adverse event: ${ae.term}`),
    ae.signature_status === 'signed' ? h('p', { class: 'notice info span' }, 'This event is signed: saving a correction invalidates the signature, and the event waits to be signed again.') : null,
    aeFields({ ae, maxDate }),
    h('div', { class: 'span' }, field('Note', h('textarea', { name: 'note', rows: 2, maxlength: 2000, value: ae.note || '' }))),
    h('div', { class: 'span' }, field('Reason for the correction (required)', h('input', { type: 'text', name: 'reason', required: true, minlength: 3, maxlength: 500, autocomplete: 'off' }),
      { hint: 'E.g. “Discharge letter received: outcome recovered.” Recorded in the audit trail with your name.' })),
    h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel'))));
  wireSerious(form);
  return form;

  async function onsubmit(event) {
    event.preventDefault();
    const values = readAe(form);
    const note = form.elements.namedItem('note').value.trim() || null;
    const body = changedFields(ae, values);
    if ((ae.note || null) !== note) body.note = note;
    body.reason = form.elements.namedItem('reason').value.trim();
    await busy(submit, async () => {
      try {
        const updated = await send('PATCH', `/staff/adverse-events/${ae.id}`, body);
        const message = updated.signature_status === 'invalidated'
          ? `The adverse event ${updated.term} was corrected; its signature is invalidated.`
          : `The adverse event ${updated.term} was corrected.`;
        announce(message);
        onDone(updated, notice('done', message));
      } catch (error) {
        put(formStatus, showError(form, error, 'Could not correct the adverse event.'));
      }
    });
  }
}
