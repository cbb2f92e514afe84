// One flag: what it found, its history, acknowledge, resolve (not an AE, or an
// adverse event with its full record), the event's sign-off and SAE clock, and the
// notifications sent about it. The resolution form is kept as a draft.
import { get, send } from '../../../js/api.js';
import { announce, h, notice, uid } from '../../../js/dom.js';
import * as drafts from '../drafts.js';
import { KINDS, OUTCOMES, SEVERITIES, STATUSES, age, dateRange, day, flagSummary, instant, label, symptom } from '../labels.js';
import { aeCard, aeFields as aeFieldControls, readAe, wireSerious } from '../participant/adverse.js';
import { saeClock } from '../signoff.js';
import { badge, busy, facts, field, put, radio, showError, table } from '../ui.js';

const ACTIONS = {
  'flag.open': 'Opened',
  'flag.update': 'Finding updated',
  'flag.reopen': 'Reopened: new finding after acknowledgement',
  'flag.acknowledge': 'Acknowledged',
  'flag.escalate': 'Escalated',
  'flag.resolve': 'Resolved',
  'flag.auto_resolve': 'Resolved by the data',
};
const PURPOSES = { flag_urgent: 'Urgent alert', escalation: 'Escalation', digest: 'Daily digest' };

function gainedText(codes) {
  return codes.map((c) => (/^\d{4}-\d{2}-\d{2}$/.test(c) ? day(c) : symptom(c))).join(', ');
}

function reopened(flag) {
  const added = (flag.detail && flag.detail.added_after_acknowledgement) || [];
  return `${instant(flag.reopened_at)}${added.length ? ` – gained after it was acknowledged: ${gainedText(added)}` : ''}`;
}

/** Which rule raised the flag, its version, when it runs and the thresholds it used. */
function ruleText(rule) {
  const when = rule.evaluated === 'on_submission' ? 'checked when an entry is saved' : 'checked when a diary date closes';
  return `${label(KINDS, rule.id)} rule, version ${rule.version} (${when})${rule.text ? `: ${rule.text}` : ''}`;
}

/** The flag's timeline, oldest first: what happened to it and every notice sent. */
function history(events) {
  if (!events.length) return h('p', { class: 'empty' }, 'No history recorded.');
  return h('ol', { class: 'timeline' }, events.map((e) => h('li', {},
    h('span', { class: 'when' }, instant(e.at)), ' ',
    e.type === 'audit'
      ? [h('strong', {}, ACTIONS[e.action] || e.action), e.actor ? ` by ${e.actor}` : '',
        e.after && e.after.gained && e.after.gained.length ? ` – gained ${gainedText(e.after.gained)}` : '']
      : [`${PURPOSES[e.purpose] || e.purpose} by ${e.action === 'email' ? 'e-mail' : 'web push'} to ${e.recipient || '—'}`,
        ` (${e.status})`])));
}

function render(root, ctx, { id }) {
  const status = h('div');
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading the flag…'));
  const heading = h('h1', {}, `Flag ${id}`);
  put(root, h('p', { class: 'crumbs' }, h('a', { href: '#/flags' }, '← All flags')), heading, status, body);
  load();

  async function load() {
    let flag;
    try {
      flag = await get(`/staff/flags/${encodeURIComponent(id)}`);
    } catch (error) {
      put(body, showError(null, error, 'Could not load the flag.'));
      return;
    }
    heading.textContent = `${label(KINDS, flag.kind)} – ${flag.study_id}`;
    document.title = `${heading.textContent} – Staff console – Pain Diary`;
    const notifications = h('div', {}, h('p', { class: 'loading' }, 'Loading notifications…'));
    put(body, 
      h('section', { class: 'card', 'aria-labelledby': 'flag-what' },
        h('h2', { id: 'flag-what' }, 'What was found'),
        h('p', { class: 'flag-finding' }, badge(`sev-${flag.severity}`, label(SEVERITIES, flag.severity)), ' ', flagSummary(flag)),
        facts([
          ['Participant', h('a', { href: `#/participants/${encodeURIComponent(flag.study_id)}` }, flag.study_id)],
          ['Site', flag.site],
          ['Diary dates', dateRange(flag.first_date, flag.last_date)],
          ['Status', badge(`st-${flag.status}`, label(STATUSES, flag.status))],
          ['Opened', `${instant(flag.opened_at)} (${age(flag.opened_at)})`],
          flag.updated_at !== flag.opened_at ? ['Last updated', instant(flag.updated_at)] : null,
          flag.acknowledged_at ? ['Acknowledged', `${instant(flag.acknowledged_at)} by ${flag.acknowledged_by || '—'}`] : null,
          flag.reopened_at ? ['Reopened', reopened(flag)] : null,
          flag.resolved_at ? ['Resolved', `${instant(flag.resolved_at)} by ${flag.resolved_by || (flag.outcome === 'auto_resolved' ? 'the diary' : '—')}`] : null,
          flag.outcome ? ['Outcome', label(OUTCOMES, flag.outcome)] : null,
          flag.resolution_note ? ['Note', flag.resolution_note] : null,
          flag.rule && flag.rule.id ? ['Raised by', ruleText(flag.rule)] : null,
        ]),
        flag.sae_clock && !flag.adverse_event ? saeClock(flag.sae_clock) : null,
        flag.adverse_event ? h('div', { class: 'ae-box' }, aeCard(flag.adverse_event, {
          ctx, maxDate: flag.last_date,
          onChanged: (_updated, message) => { put(status, message); load(); },
        })) : null,
        flag.status === 'open' ? acknowledgeButton(flag) : null),
      flag.status !== 'resolved' ? resolveForm(flag) : null,
      h('section', { class: 'card', 'aria-labelledby': 'flag-history' },
        h('h2', { id: 'flag-history' }, 'History'), history(flag.timeline || [])),
      h('section', { class: 'card', 'aria-labelledby': 'flag-notes' },
        h('h2', { id: 'flag-notes' }, 'Notifications sent for this flag'), notifications),
    );
    loadNotifications(flag, notifications);
  }

  function acknowledgeButton(flag) {
    return h('div', { class: 'actions' }, h('button', {
      type: 'button',
      class: 'btn primary',
      onclick: (event) => busy(event.currentTarget, async () => {
        try {
          await send('POST', `/staff/flags/${flag.id}/acknowledge`);
          put(status, notice('done', 'Flag acknowledged.'));
          announce('Flag acknowledged.');
          await load();
        } catch (error) {
          put(status, showError(null, error, 'Could not acknowledge the flag.'));
        }
      }),
    }, 'Acknowledge'));
  }

  function resolveForm(flag) {
    const allowed = ctx.can('flags.resolve');
    const why = uid('why');
    const aeFields = h('div', { class: 'ae-fields form-grid' }, aeFieldControls({ termOptional: true, maxDate: flag.last_date }));
    const outcome = h('fieldset', { class: 'field radios' }, h('legend', {}, 'Outcome'),
      radio('outcome', 'not_ae', 'Not an adverse event'), radio('outcome', 'adverse_event', 'Adverse event'));
    const noteRequired = flag.resolution_note_required;
    const note = h('textarea', { name: 'note', maxlength: 2000, rows: 4, required: noteRequired, 'aria-required': noteRequired ? 'true' : null });
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary', disabled: !allowed, 'aria-describedby': allowed ? null : why }, 'Resolve flag');
    const form = h('form', { class: 'card resolve', novalidate: true, onsubmit, 'aria-labelledby': 'resolve-h' },
      h('h2', { id: 'resolve-h' }, 'Resolve'),
      allowed ? null : h('p', { class: 'notice info', id: why }, 'Only investigators can resolve flags and confirm adverse events. You can acknowledge the flag and add what you know to the participant’s record.'),
      h('fieldset', { disabled: !allowed, class: 'plain' }, outcome, aeFields, field(noteRequired ? 'Note (required)' : 'Note', note, { hint: noteRequired ? 'Required for a red-flag or urgent flag: what was done, who was contacted, the clinical judgement.' : 'What was done, who was contacted, the clinical judgement.' })),
      formStatus,
      h('div', { class: 'actions' }, submit));
    const key = `resolve.${flag.id}`;
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved resolution was restored.'));
    const sync = () => { aeFields.hidden = form.elements.namedItem('outcome').value !== 'adverse_event'; };
    form.addEventListener('change', sync);
    sync();
    wireSerious(form);
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const values = drafts.readForm(form);
      if (!values.outcome) {
        put(formStatus, notice('error', 'Choose an outcome: not an adverse event, or adverse event.'));
        return;
      }
      const payload = { outcome: values.outcome, note: values.note.trim() || null };
      if (noteRequired && !payload.note) {
        put(formStatus, notice('error', 'Write the reason in the note: a red-flag or urgent flag is not closed without it.'));
        note.focus();
        return;
      }
      if (noteRequired && values.outcome === 'not_ae'
          && !window.confirm(`Resolve this ${flag.severity === 'urgent' ? 'urgent ' : ''}flag as NOT an adverse event? It leaves the inbox; the note stays in its history.`)) return;
      if (values.outcome === 'adverse_event') {
        const missing = [];
        if (!values.ctcae_grade) missing.push('the CTCAE grade');
        if (!values.serious) missing.push('whether it is serious');
        if (!values.related) missing.push('the relatedness');
        if (missing.length) {
          put(formStatus, notice('error', `An adverse event needs ${missing.join(', ')}.`));
          return;
        }
        Object.assign(payload, readAe(form));
      }
      await busy(submit, async () => {
        try {
          await send('POST', `/staff/flags/${flag.id}/resolve`, payload);
          drafts.drop(key);
          const text = values.outcome === 'adverse_event'
            ? `Flag resolved as an adverse event, grade ${payload.ctcae_grade}.`
            : 'Flag resolved: not an adverse event.';
          put(status, notice('done', text));
          announce(text);
          await load();
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not resolve the flag.'));
        }
      });
    }
  }

  async function loadNotifications(flag, target) {
    try {
      const { notifications } = await get(`/staff/flags/${flag.id}/notifications`);
      put(target, table({ text: 'Notifications sent for this flag', hidden: true }, [
        { title: 'To', cell: (n) => (n.recipient.kind === 'staff' ? `${n.recipient.email || 'staff'} (${n.recipient.role || 'staff'})` : n.recipient.study_id) },
        { title: 'Why', cell: (n) => n.purpose.replaceAll('_', ' ') },
        { title: 'Channel', cell: (n) => (n.channel === 'email' ? 'E-mail' : n.channel === 'webpush' ? 'Web push' : n.channel) },
        { title: 'Status', cell: (n) => badge(`nt-${n.status}`, n.status) },
        { title: 'Sent', cell: (n) => (n.sent_at ? instant(n.sent_at) : n.next_attempt_at ? `next try ${instant(n.next_attempt_at)}` : '—') },
        { title: 'Tries', cell: (n) => [String(n.attempts), n.last_error ? h('span', { class: 'hint block' }, n.last_error) : null] },
      ], notifications, { empty: 'No notifications for this flag (non-urgent flags go into the daily digest).' }));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the notifications.'));
    }
  }
}

export default { title: 'Flag', render };
