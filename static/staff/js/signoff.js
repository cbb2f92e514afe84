// Sign-off pieces shared by the screens (SPEC §14): a record's signature state,
// the form that signs it with the password again, the 24-hour SAE clock with its
// countdown, and the small reason-only forms of locks, freezes and decisions.
import { ApiError, send } from '../../js/api.js';
import { announce, h, notice, uid } from '../../js/dom.js';
import { CHANGE_ACTIONS, MEANINGS, SIGNATURE_STATES, day, duration, label, utc } from './labels.js';
import { busy, entries, field, group, put, radio, showError } from './ui.js';

/** One signature in words: "Signed by Ann Lee on 3 Dec 2026, 14:05 UTC — Reviewed",
 * or what invalidated it. */
export function signatureLine(sig) {
  const what = `${sig.signer_name} on ${utc(sig.signed_at)} — ${label(MEANINGS, sig.meaning)}${sig.up_to ? `, up to ${day(sig.up_to)}` : ''}`;
  if (sig.status !== 'invalidated') return h('span', { class: 'sig valid' }, `Signed by ${what}`);
  const by = sig.invalidated_by || {};
  const cause = by.action ? CHANGE_ACTIONS[by.action] || by.action : 'a change to the record';
  return h('span', { class: 'sig invalidated' },
    `Signature of ${sig.signer_name} (${label(MEANINGS, sig.meaning)}, ${utc(sig.signed_at)}) invalidated by ${cause}`,
    ` on ${utc(by.at || sig.invalidated_at)}${by.actor ? ` by ${by.actor}` : ''}${by.reason ? ` (${by.reason})` : ''}`);
}

/** The state badge and every signature of a record, newest first. */
export function signatureState(state, signatures) {
  const list = [...(signatures || [])].reverse();
  const kind = state === 'signed' ? 'sg-signed' : state === 'invalidated' ? 'sg-invalidated' : 'sg-unsigned';
  return h('div', { class: 'signatures' },
    h('span', { class: `badge ${kind}` }, label(SIGNATURE_STATES, state || 'unsigned')),
    list.length ? h('ul', { class: 'plain-list sig-list' }, list.map((s) => h('li', {}, signatureLine(s)))) : null);
}

/** The state of a list of signatures: signed while one is valid. */
export function stateOf(signatures) {
  if ((signatures || []).some((s) => s.status === 'valid')) return 'signed';
  return (signatures || []).length ? 'invalidated' : 'unsigned';
}

/**
 * The form that signs a record: what the signature means, the password, and for a
 * casebook the last date it covers. Shows the manifestation the server printed.
 * recordType/recordId as the API names them; upTo: {max} for a casebook.
 */
export function signForm({ recordType, recordId, title, upTo, onSigned, onCancel }) {
  const headingId = uid('sign-h');
  const formStatus = h('div');
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  // Asked for once the server says the signer has two-step sign-in (otp_required).
  const otp = h('input', { type: 'text', name: 'otp', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 20 });
  const otpField = field('Code from your authenticator app', otp, { hint: 'Six digits, or a recovery code.' });
  otpField.hidden = true;
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign');
  const form = h('form', { class: 'sign-form', novalidate: true, onsubmit, 'aria-labelledby': headingId },
    h('h3', { id: headingId }, title),
    h('p', { class: 'hint' }, 'Your electronic signature binds this record as it is now, with your name, the time and its meaning. A later change to the record invalidates it.'),
    group('meaning', 'Meaning of the signature', entries(MEANINGS).map(([v, t]) => radio('meaning', v, t))),
    upTo ? field('Sign the casebook up to', h('input', { type: 'date', name: 'up_to', value: upTo.max, max: upTo.max, required: true }),
      { hint: 'The diary dates up to and including this date.' }) : null,
    field('Your password', password, { hint: 'The password you sign in with.' }),
    otpField,
    formStatus,
    h('div', { class: 'actions' }, submit,
      onCancel ? h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel') : null));
  return form;

  async function onsubmit(event) {
    event.preventDefault();
    const meaning = form.querySelector('input[name="meaning"]:checked');
    const body = { record_type: recordType, record_id: String(recordId), password: password.value };
    if (meaning) body.meaning = meaning.value;
    const date = form.elements.namedItem('up_to');
    if (date && date.value) body.up_to = date.value;
    if (!otpField.hidden && otp.value.trim()) body.otp = otp.value.trim();
    await busy(submit, async () => {
      try {
        const sig = await send('POST', '/staff/signatures', body);
        const done = notice('done', h('p', {}, h('strong', {}, 'Signed.')), h('p', { class: 'manifestation' }, sig.manifestation));
        done.tabIndex = -1;
        form.replaceWith(done);
        done.focus();
        announce(`Signed: ${sig.manifestation}`);
        if (onSigned) onSigned(sig, done);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'otp_required') {
          otpField.hidden = false;
          put(formStatus, notice('info', error.message));
          otp.focus();
          return;
        }
        otp.value = '';
        if (!(error instanceof ApiError && error.code === 'wrong_otp')) password.value = '';
        put(formStatus, showError(form, error, 'Could not sign the record.'));
        (otpField.hidden || !password.value ? password : otp).focus();
      }
    });
  }
}

/** A form that asks only for a reason: lock, unlock, freeze, apply, decline. */
export function reasonForm({ title, fieldLabel = 'Reason (required)', hint, submitText, intro, onSubmit, onCancel, name = 'reason', maxlength = 500 }) {
  const headingId = uid('reason-h');
  const formStatus = h('div');
  const submit = h('button', { type: 'submit', class: 'btn primary' }, submitText);
  const input = h('input', { type: 'text', name, required: true, minlength: name === 'reason' ? 3 : 1, maxlength, autocomplete: 'off' });
  const form = h('form', { class: 'reason-form', novalidate: true, onsubmit, 'aria-labelledby': headingId },
    h('h3', { id: headingId }, title),
    intro ? h('p', { class: 'hint' }, intro) : null,
    field(fieldLabel, input, { hint }),
    formStatus,
    h('div', { class: 'actions' }, submit,
      onCancel ? h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel') : null));
  return form;

  async function onsubmit(event) {
    event.preventDefault();
    await busy(submit, async () => {
      try {
        await onSubmit(input.value.trim());
      } catch (error) {
        put(formStatus, showError(form, error));
        input.focus();
      }
    });
  }
}

// --- the 24-hour clock of a serious event ----------------------------------------

/** When the clock is due, on this device's clock: the server's seconds_left from now,
 * so that a device whose clock is off still counts the server's time. */
function dueHere(clock) {
  if (clock.seconds_left != null) return Date.now() + clock.seconds_left * 1000;
  return new Date(clock.due_at).getTime();
}

function countdownText(due, now = Date.now()) {
  const left = Math.round((due - now) / 1000);
  return left > 0 ? `${duration(left)} left` : `overdue by ${duration(-left)}`;
}

/** The SAE clock in words, counting down while it runs. */
export function saeClock(clock) {
  if (!clock) return null;
  if (clock.status === 'reported') {
    return h('p', { class: 'sae-clock reported' }, h('span', { class: 'badge sae-reported' }, 'Reported'), ' ',
      `Reported to sponsor on ${utc(clock.reported_at)}${clock.reported_by ? ` by ${clock.reported_by}` : ''}, ref ${clock.reference || '—'}`);
  }
  if (clock.status === 'stopped') {
    return h('p', { class: 'sae-clock stopped' }, `24-hour clock stopped on ${utc(clock.stopped_at)}${clock.stop_reason ? ` (${clock.stop_reason})` : ''}`);
  }
  const due = dueHere(clock);
  const text = countdownText(due);
  return h('p', { class: `sae-clock running${text.startsWith('overdue') ? ' overdue' : ''}` },
    h('span', { class: 'badge sae-running' }, 'Report to sponsor'), ' ',
    h('strong', { class: 'countdown', 'data-due': String(due) }, text),
    ` — due ${utc(clock.due_at)} (24 hours from ${utc(clock.started_at)})`);
}

/** Bring every countdown on the page up to date (the console calls it each 30 s). */
export function refreshCountdowns(root = document) {
  for (const el of root.querySelectorAll('.countdown[data-due]')) {
    const text = countdownText(Number(el.dataset.due));
    el.textContent = text;
    const box = el.closest('.sae-clock');
    if (box) box.classList.toggle('overdue', text.startsWith('overdue'));
  }
}

/** "Reported to sponsor": the sponsor's case reference stops the clock. */
export function sponsorForm(ae, { onDone, onCancel }) {
  return reasonForm({
    title: `Reported to sponsor: ${ae.term}`,
    name: 'reference',
    maxlength: 100,
    fieldLabel: 'Sponsor case reference (required)',
    hint: 'The reference the sponsor or the safety database gave the report.',
    submitText: 'Save: reported to sponsor',
    onCancel,
    async onSubmit(reference) {
      const updated = await send('POST', `/staff/adverse-events/${ae.id}/sponsor-report`, { reference });
      announce(`Reported to sponsor, reference ${reference}.`);
      onDone(updated);
    },
  });
}
