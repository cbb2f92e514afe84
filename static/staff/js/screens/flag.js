// One flag — or one inbox item, when the server merges simultaneous opioid flags
// (`merged_with`) — with what it found, its escalation, the participant's diary
// around it (the entries on its dates and a chart of the last 14 days), the log
// of contact attempts, its history and the notifications sent. What the screen
// offers (acknowledge, close with a reason, resolve with a clinical outcome, add a
// contact attempt) is what the server says the signed-in role may do (`actions`);
// what it cannot is not offered, only said in a line naming who can
// (`allowed_roles`). Half-written forms are kept as drafts.
import { get, send } from '../../../js/api.js';
import { chart, legend } from '../../../js/chart.js';
import { addDays, deviceTime } from '../../../js/dates.js';
import { announce, h, notice } from '../../../js/dom.js';
import * as drafts from '../drafts.js';
import {
  CONTACT_METHODS, CONTACT_OUTCOMES, DRUGS, KINDS, RED_FLAGS, SEVERITIES, STATUSES, THRESHOLDS,
  age, dateRange, day, dose, flagSummary, instant, label, num, outcomeText, roleList, symptom, until,
} from '../labels.js';
import { aeCard, aeFields as aeFieldControls, readAe, wireSerious } from '../participant/adverse.js';
import { saeClock } from '../signoff.js';
import { badge, busy, entries, facts, field, itemQuery, put, radio, select, showError, table } from '../ui.js';

const ACTIONS = {
  'flag.open': 'Opened',
  'flag.update': 'Finding updated',
  'flag.reopen': 'Reopened: new finding after acknowledgement',
  'flag.acknowledge': 'Acknowledged',
  'flag.escalate': 'Escalated',
  'flag.resolve': 'Resolved',
  'flag.close': 'Closed with a reason (no clinical outcome)',
  'flag.auto_resolve': 'Resolved by the data',
};
const PURPOSES = { flag_urgent: 'Urgent alert', escalation: 'Escalation', digest: 'Daily digest' };
const CONTEXT_DAYS = 14;

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

/** When the flag escalated and to whom; or, while nobody acknowledged it, when it will. */
function escalationText(e) {
  if (!e) return null;
  if (e.escalated_at) {
    const to = e.escalated_to.length
      ? e.escalated_to.map((s) => `${s.email} (${s.role})`).join(', ')
      : 'nobody: the site has no investigator and the study no admin';
    return `Escalated ${instant(e.escalated_at)} (${age(e.escalated_at)}) to ${to}`
      + (e.escalates_at ? `; reopened since: ${escalatesText(e.escalates_at).toLowerCase()}` : '');
  }
  if (e.escalates_at) return escalatesText(e.escalates_at);
  return 'Acknowledged before it escalated';
}

function escalatesText(at) {
  return new Date(at).getTime() <= Date.now()
    ? `Escalation due since ${instant(at)} unless acknowledged (sent at the escalation job's next run)`
    : `Escalates ${until(at)} (${instant(at)}) unless acknowledged`;
}

/** The flag's timeline, oldest first: what happened to it and every notice sent. */
function history(events) {
  if (!events.length) return h('p', { class: 'empty' }, 'No history recorded.');
  return h('ol', { class: 'timeline' }, events.map((e) => h('li', {},
    h('span', { class: 'when' }, instant(e.at)), ' ',
    e.type === 'audit'
      ? [h('strong', {}, ACTIONS[e.action] || e.action), e.actor ? ` by ${e.actor}` : '',
        e.after && e.after.gained && e.after.gained.length ? ` – gained ${gainedText(e.after.gained)}` : '',
        e.after && e.after.with_flags && e.after.with_flags.length ? `, together with flag ${e.after.with_flags.join(', ')}` : '',
        e.after && e.after.adverse_event_id ? ` (adverse event ${e.after.adverse_event_id}, recorded with that flag)` : '',
        e.after && e.after.note && e.action !== 'flag.auto_resolve' ? h('q', { class: 'said' }, e.after.note) : '']
      : [`${PURPOSES[e.purpose] || e.purpose} by ${e.action === 'email' ? 'e-mail' : 'web push'} to ${e.recipient || '—'}`,
        ` (${e.status})`])));
}

function render(root, ctx, { id }) {
  const status = h('div');
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading the flag…'));
  const heading = h('h1', {}, `Flag ${id}`);
  put(root, h('p', { class: 'crumbs' }, h('a', { href: '#/flags' }, '← All flags')), heading, status, body);
  let redraw = null;
  const onResize = () => redraw && redraw();
  window.addEventListener('resize', onResize);
  load();
  return { leave: () => window.removeEventListener('resize', onResize) };

  async function load() {
    let flag;
    let members;
    try {
      flag = await get(`/staff/flags/${encodeURIComponent(id)}`);
      members = [flag, ...await Promise.all((flag.merged_with || []).map((other) => get(`/staff/flags/${other}`)))];
    } catch (error) {
      put(body, showError(null, error, 'Could not load the flag.'));
      return;
    }
    const merged = members.length > 1;
    heading.textContent = `${members.map((f) => label(KINDS, f.kind)).join(' and ')} – ${flag.study_id}`;
    document.title = `${heading.textContent} – Staff console – Pain Diary`;
    const unresolved = members.some((f) => f.status !== 'resolved');
    const context = h('div', {}, h('p', { class: 'loading' }, 'Loading the diary…'));
    const notifications = h('div', {}, h('p', { class: 'loading' }, 'Loading notifications…'));
    put(body,
      merged ? h('p', { class: 'notice info' }, `One inbox item: ${members.length} flags of ${flag.study_id} on overlapping dates. Acknowledging or resolving it acts on all of them.`) : null,
      h('section', { class: 'card', 'aria-labelledby': 'flag-what' },
        h('h2', { id: 'flag-what' }, 'What was found'),
        members.map((f) => finding(f, merged)),
        unresolved ? actionsRow(members) : null),
      flag.actions.includes('close') ? closeForm(flag) : null,
      flag.actions.includes('resolve') ? resolveForm(flag, members) : null,
      h('section', { class: 'card', 'aria-labelledby': 'flag-diary' },
        h('h2', { id: 'flag-diary' }, 'The diary around it'), context),
      contactSection(flag, members),
      h('section', { class: 'card', 'aria-labelledby': 'flag-history' },
        h('h2', { id: 'flag-history' }, 'History'),
        merged ? members.map((f) => [h('h3', {}, `${label(KINDS, f.kind)} (flag ${f.id})`), history(f.timeline || [])]) : history(flag.timeline || [])),
      h('section', { class: 'card', 'aria-labelledby': 'flag-notes' },
        h('h2', { id: 'flag-notes' }, 'Notifications sent for this flag'), notifications),
    );
    loadContext(members, context);
    loadNotifications(members, notifications);
  }

  function finding(flag, merged) {
    return h('div', { class: merged ? 'finding-part' : null },
      merged ? h('h3', {}, `${label(KINDS, flag.kind)} (flag ${flag.id})`) : null,
      h('p', { class: 'flag-finding' }, badge(`sev-${flag.severity}`, label(SEVERITIES, flag.severity)), ' ', flagSummary(flag)),
      facts([
        ['Participant', h('a', { href: `#/participants/${encodeURIComponent(flag.study_id)}` }, flag.study_id)],
        ['Site', flag.site],
        ['Diary dates', dateRange(flag.first_date, flag.last_date)],
        ['Status', badge(`st-${flag.status}`, label(STATUSES, flag.status))],
        ['Opened', `${instant(flag.opened_at)} (${age(flag.opened_at)})`],
        flag.updated_at !== flag.opened_at ? ['Last updated', instant(flag.updated_at)] : null,
        flag.escalation ? ['Escalation', escalationText(flag.escalation)] : null,
        flag.acknowledged_at ? ['Acknowledged', `${instant(flag.acknowledged_at)} by ${flag.acknowledged_by || '—'}`] : null,
        flag.reopened_at ? ['Reopened', reopened(flag)] : null,
        flag.resolved_at ? ['Resolved', `${instant(flag.resolved_at)} by ${flag.resolved_by || (flag.outcome === 'auto_resolved' ? 'the diary' : '—')}`] : null,
        flag.status === 'resolved' ? ['Outcome', outcomeText(flag)] : null,
        flag.resolution_note ? ['Note', flag.resolution_note] : null,
        flag.rule && flag.rule.id ? ['Raised by', ruleText(flag.rule)] : null,
      ]),
      flag.sae_clock && !flag.adverse_event ? saeClock(flag.sae_clock) : null,
      flag.adverse_event ? h('div', { class: 'ae-box' }, aeCard(flag.adverse_event, {
        ctx, maxDate: flag.last_date,
        onChanged: (_updated, message) => { put(status, message); load(); },
      })) : null);
  }

  /** Acknowledge (when this role may and something is open), and who can do the rest. */
  function actionsRow(members) {
    const [flag] = members;
    const merged = members.length > 1;
    const canAck = members.some((f) => f.actions.includes('acknowledge'));
    const lines = [];
    if (!flag.actions.includes('resolve') && !flag.actions.includes('close')) {
      lines.push(flag.allowed_roles.close.length
        ? `${roleList(flag.allowed_roles.close)} close this flag with a reason; ${roleList(flag.allowed_roles.resolve).toLowerCase()} can record a clinical outcome.`
        : `${roleList(flag.allowed_roles.resolve)} record the outcome of this clinical flag (adverse event or not).`);
    }
    if (!flag.actions.includes('contact')) lines.push(`${roleList(flag.allowed_roles.contact)} add contact attempts.`);
    return h('div', { class: 'flag-actions' },
      canAck ? h('div', { class: 'actions' }, h('button', {
        type: 'button',
        class: 'btn primary',
        onclick: (event) => busy(event.currentTarget, async () => {
          try {
            await send('POST', `/staff/flags/${flag.id}/acknowledge${itemQuery(members)}`);
            const text = merged ? `The ${members.length} flags acknowledged.` : 'Flag acknowledged.';
            put(status, notice('done', text));
            announce(text);
            await load();
          } catch (error) {
            put(status, showError(null, error, 'Could not acknowledge the flag.'));
            // Another flag joined the item since it was shown: show the item as it is now.
            if (error && error.code === 'item_changed') await load();
          }
        }),
      }, merged ? `Acknowledge both flags` : 'Acknowledge')) : null,
      lines.map((text) => h('p', { class: 'who-can' }, text)));
  }

  function closeForm(flag) {
    const reason = h('textarea', { name: 'reason', maxlength: 2000, rows: 3, required: true, 'aria-required': 'true' });
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Close flag');
    const form = h('form', { class: 'card close-flag', novalidate: true, onsubmit, 'aria-labelledby': 'close-h' },
      h('h2', { id: 'close-h' }, 'Close'),
      field('Reason (required)', reason, { hint: 'What was done, e.g. “Participant contacted, will resume.” The flag closes without a clinical outcome; the reason stays in its history.' }),
      formStatus,
      h('div', { class: 'actions' }, submit));
    const key = `close.${flag.id}`;
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved reason was restored.'));
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        put(formStatus, notice('error', 'Write the reason: the flag is not closed without it.'));
        reason.focus();
        return;
      }
      await busy(submit, async () => {
        try {
          await send('POST', `/staff/flags/${flag.id}/close`, { reason: text });
          drafts.drop(key);
          put(status, notice('done', 'Flag closed.'));
          announce('Flag closed.');
          await load();
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not close the flag.'));
        }
      });
    }
  }

  function resolveForm(flag, members) {
    const merged = members.length > 1;
    const aeFields = h('div', { class: 'ae-fields form-grid' }, aeFieldControls({ termOptional: true, maxDate: members.map((f) => f.last_date).sort().at(-1) }));
    const outcome = h('fieldset', { class: 'field radios' }, h('legend', {}, 'Outcome'),
      radio('outcome', 'not_ae', 'Not an adverse event'), radio('outcome', 'adverse_event', 'Adverse event'));
    const noteRequired = members.some((f) => f.resolution_note_required);
    const note = h('textarea', { name: 'note', maxlength: 2000, rows: 4, required: noteRequired, 'aria-required': noteRequired ? 'true' : null });
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary' }, merged ? 'Resolve both flags' : 'Resolve flag');
    const form = h('form', { class: 'card resolve', novalidate: true, onsubmit, 'aria-labelledby': 'resolve-h' },
      h('h2', { id: 'resolve-h' }, 'Resolve'),
      merged ? h('p', { class: 'hint' }, 'The outcome and note apply to every flag of this item; an adverse event is recorded once, naming both findings.') : null,
      outcome, aeFields,
      field(noteRequired ? 'Note (required)' : 'Note', note, { hint: noteRequired ? 'Required for a red-flag or urgent flag: what was done, who was contacted, the clinical judgement.' : 'What was done, who was contacted, the clinical judgement.' }),
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
      const urgent = members.some((f) => f.severity === 'urgent');
      if (noteRequired && values.outcome === 'not_ae'
          && !window.confirm(`Resolve this ${urgent ? 'urgent ' : ''}${merged ? 'item' : 'flag'} as NOT an adverse event? It leaves the inbox; the note stays in its history.`)) return;
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
          await send('POST', `/staff/flags/${flag.id}/resolve${itemQuery(members)}`, payload);
          drafts.drop(key);
          const what = merged ? `${members.length} flags resolved` : 'Flag resolved';
          const text = values.outcome === 'adverse_event'
            ? `${what} as an adverse event, grade ${payload.ctcae_grade}.`
            : `${what}: not an adverse event.`;
          put(status, notice('done', text));
          announce(text);
          await load();
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not resolve the flag.'));
        }
      });
    }
  }

  // --- the diary around the flag ------------------------------------------------------

  async function loadContext(members, target) {
    const [flag] = members;
    const firstDate = members.map((f) => f.first_date).sort()[0];
    const lastDate = members.map((f) => f.last_date).sort().at(-1);
    const path = `/staff/participants/${encodeURIComponent(flag.study_id)}`;
    let person;
    let rows;
    let from = addDays(lastDate, -(CONTEXT_DAYS - 1));
    try {
      person = await get(path);
      // Not before day 0: the diary has no earlier dates.
      if (person.first_injection && from < person.first_injection && person.first_injection <= lastDate) from = person.first_injection;
      ({ entries: rows } = await get(`${path}/entries?from=${from}&to=${lastDate}`));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the diary.'));
      return;
    }
    const onDates = rows.filter((e) => e.date >= firstDate && e.date <= lastDate).sort((a, b) => (a.date < b.date ? 1 : -1));
    const before = rows.filter((e) => e.date < firstDate).sort((a, b) => (a.date < b.date ? 1 : -1))[0];
    const single = firstDate === lastDate;
    const chartBox = h('div', { class: 'context-chart' });
    let intro;
    let shown = onDates;
    if (onDates.length) {
      intro = single ? `The entry of ${day(firstDate)}:` : `Entries on the flag’s dates (${dateRange(firstDate, lastDate)}), newest first:`;
    } else if (before) {
      intro = `No entry on the flag’s date${single ? '' : 's'} (${dateRange(firstDate, lastDate)}). The last entry before ${single ? 'it' : 'them'}:`;
      shown = [before];
    } else {
      intro = `No entry on the flag’s date${single ? '' : 's'} (${dateRange(firstDate, lastDate)}), nor in the ${CONTEXT_DAYS} days before.`;
      shown = [];
    }
    put(target,
      h('p', {}, intro),
      shown.length ? entryTable(flag.study_id, shown) : null,
      h('h3', {}, `The diary from ${day(from)} to ${day(lastDate)}`),
      chartBox,
      h('p', {}, h('a', { href: `#/participants/${encodeURIComponent(flag.study_id)}` }, `All of ${flag.study_id}’s diary and charts`)));
    redraw = () => put(chartBox, ...contextChart({ flag, person, rows, from, to: lastDate, firstDate, width: chartWidth(chartBox) }));
    redraw();
  }

  function chartWidth(box) {
    return Math.min(Math.max((box.clientWidth || 640) - 8, 260), 900);
  }

  // --- contact attempts ------------------------------------------------------------

  function contactSection(flag, members) {
    const attempts = [...new Map(members.flatMap((f) => f.contact_attempts || []).map((a) => [a.id, a])).values()]
      .sort((a, b) => b.attempted_at.localeCompare(a.attempted_at) || b.id - a.id);
    return h('section', { class: 'card', 'aria-labelledby': 'flag-contacts' },
      h('h2', { id: 'flag-contacts' }, 'Contact attempts'),
      table({ text: `Attempts to reach ${flag.study_id} about this flag, latest first`, hidden: true }, [
        { title: 'When', cell: (a) => instant(a.attempted_at) },
        { title: 'How', cell: (a) => label(CONTACT_METHODS, a.method) },
        { title: 'Outcome', cell: (a) => label(CONTACT_OUTCOMES, a.outcome) },
        { title: 'Details', className: 'wide', cell: (a) => a.note || '' },
        { title: 'By', cell: (a) => a.recorded_by },
      ], attempts, { empty: 'No contact attempts recorded yet.' }),
      flag.actions.includes('contact') ? contactForm(flag) : null);
  }

  function contactForm(flag) {
    const now = deviceTime().slice(0, 16);
    const when = h('input', { type: 'datetime-local', name: 'attempted_at', value: now, max: now, required: true });
    const how = select('method', [['', 'Choose…'], ...entries(CONTACT_METHODS)], '');
    const outcome = select('outcome', [['', 'Choose…'], ...entries(CONTACT_OUTCOMES)], '');
    const note = h('textarea', { name: 'note', maxlength: 2000, rows: 2 });
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn' }, 'Add to the log');
    const form = h('form', { class: 'contact-form form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'contact-h' },
      h('h3', { id: 'contact-h', class: 'span' }, 'Record a contact attempt'),
      field('When', when, { hint: 'Your own time zone.' }),
      field('How', how),
      field('Outcome', outcome),
      h('div', { class: 'span' }, field('Details', note, { hint: 'What was said or agreed (optional).' })),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit)));
    const key = `contact.${flag.id}`;
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved contact attempt was restored.'));
    return form;

    async function onsubmit(event) {
      event.preventDefault();
      const missing = [];
      if (!when.value) missing.push('when');
      if (!how.value) missing.push('how');
      if (!outcome.value) missing.push('the outcome');
      if (missing.length) {
        put(formStatus, notice('error', `Say ${missing.join(', ')}.`));
        return;
      }
      const at = new Date(when.value);
      const body = {
        attempted_at: Number.isNaN(at.getTime()) ? when.value : deviceTime(at),
        method: how.value,
        outcome: outcome.value,
        note: note.value.trim() || null,
      };
      await busy(submit, async () => {
        try {
          await send('POST', `/staff/flags/${flag.id}/contacts`, body);
          drafts.drop(key);
          const text = `Contact attempt added: ${label(CONTACT_METHODS, body.method).toLowerCase()}, ${label(CONTACT_OUTCOMES, body.outcome).toLowerCase()}.`;
          put(status, notice('done', text));
          announce(text);
          await load();
        } catch (error) {
          put(formStatus, showError(form, error, 'Could not add the contact attempt.'));
        }
      });
    }
  }

  async function loadNotifications(members, target) {
    try {
      const lists = await Promise.all(members.map((f) => get(`/staff/flags/${f.id}/notifications`)));
      const rows = lists.flatMap((l) => l.notifications);
      put(target, table({ text: 'Notifications sent for this flag', hidden: true }, [
        { title: 'To', cell: (n) => (n.recipient.kind === 'staff' ? `${n.recipient.email || 'staff'} (${n.recipient.role || 'staff'})` : n.recipient.study_id) },
        { title: 'Why', cell: (n) => n.purpose.replaceAll('_', ' ') },
        { title: 'Channel', cell: (n) => (n.channel === 'email' ? 'E-mail' : n.channel === 'webpush' ? 'Web push' : n.channel) },
        { title: 'Status', cell: (n) => badge(`nt-${n.status}`, n.status) },
        { title: 'Sent', cell: (n) => (n.sent_at ? instant(n.sent_at) : n.next_attempt_at ? `next try ${instant(n.next_attempt_at)}` : '—') },
        { title: 'Tries', cell: (n) => [String(n.attempts), n.last_error ? h('span', { class: 'hint block' }, n.last_error) : null] },
      ], rows, { empty: 'No notifications for this flag (non-urgent flags go into the daily digest).' }));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the notifications.'));
    }
  }
}

/** The entries shown with a flag: scores, opioids, MME, symptoms, temperature, note. */
function entryTable(studyId, rows) {
  const fever = THRESHOLDS.fever_c;
  return table({ text: `Diary entries of ${studyId} shown with the flag`, hidden: true }, [
    { title: 'Date', cell: (e) => day(e.date) },
    { title: 'Back pain', className: 'num', cell: (e) => String(e.back_pain) },
    { title: 'Leg pain', className: 'num', cell: (e) => String(e.leg_pain) },
    { title: 'Opioids', className: 'wide', cell: (e) => ((e.doses || []).length ? h('ul', { class: 'plain-list' }, e.doses.map((d) => h('li', {}, dose(d)))) : 'None') },
    { title: 'MME', className: 'num', cell: (e) => [num(e.mme), (e.mme_unconverted || []).length ? h('span', { class: 'hint block' }, `+ ${e.mme_unconverted.map((d) => (DRUGS[d] ? DRUGS[d][0] : d)).join(', ')} not converted`) : null] },
    { title: 'Symptoms', className: 'wide', cell: (e) => ((e.symptoms || []).length ? h('ul', { class: 'plain-list' }, e.symptoms.map((c) => h('li', { class: RED_FLAGS.has(c) ? 'red' : null }, symptom(c)))) : 'None') },
    { title: 'Temperature', className: 'num', cell: (e) => (e.temperature_c == null ? '—' : h('span', { class: fever != null && e.temperature_c >= fever ? 'warn-text' : null }, `${num(e.temperature_c)} °C`)) },
    { title: 'Note', className: 'wide', cell: (e) => e.note || '' },
  ], rows, { className: 'flag-entries' });
}

/** Pain and MME of the 14 days up to the flag's last date, the flag's start marked. */
function contextChart({ flag, person, rows, from, to, firstDate, width }) {
  const dates = [];
  for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
  const byDate = new Map(rows.map((e) => [e.date, e]));
  const pick = (k) => dates.map((d) => (byDate.has(d) ? byDate.get(d)[k] : null));
  const entered = pick('back_pain').filter((v) => v != null);
  const mme = pick('mme').filter((v) => v != null);
  // No opioid in these days: no MME axis (an empty 0/5/10 scale says nothing), a line.
  const opioids = mme.some((v) => v > 0) || rows.some((e) => (e.mme_unconverted || []).length);
  const line = opioids ? THRESHOLDS.mme_high : null;
  const start = firstDate < from ? from : firstDate;
  return [
    chart({
      dates, width, height: 200,
      title: `Pain and MME of ${flag.study_id}, ${day(from)} to ${day(to)}`,
      description: `${entered.length} of ${dates.length} days entered.`
        + (entered.length ? ` Back pain from ${Math.min(...entered)} to ${Math.max(...entered)} (baseline ${person.baseline_back_pain}).` : '')
        + (opioids ? ` Daily MME from ${num(Math.min(...mme))} to ${num(Math.max(...mme))} (baseline ${num(person.baseline_mme)}).` : ' No opioids in these days.')
        + ` The flag starts on ${day(firstDate)}.`,
      lines: [
        { label: 'Back pain', values: pick('back_pain'), className: 'chart-line back' },
        { label: 'Leg pain', values: pick('leg_pain'), className: 'chart-line leg' },
      ],
      bars: opioids ? { label: 'MME', values: pick('mme'), className: 'chart-bars' } : null,
      refs: [
        { axis: 'left', value: person.baseline_back_pain, label: `Baseline pain ${person.baseline_back_pain}`, className: 'chart-ref baseline' },
        line == null ? null : { axis: 'right', value: line, label: `${num(line)} MME`, className: 'chart-ref threshold', labelAt: 'end' },
      ].filter(Boolean),
      markers: [{ date: start, label: 'Flag starts', className: `chart-marker sev-${flag.severity}` }],
    }),
    legend([
      { label: 'Back pain (0–10)', className: 'back' },
      { label: 'Leg pain (0–10)', className: 'leg' },
      opioids ? { label: 'MME per day (right axis)', className: 'bars' } : null,
      { label: 'Baseline back pain', className: 'baseline' },
      line == null ? null : { label: `${num(line)} MME per day`, className: 'ref' },
      { label: 'Flag starts', className: 'marker' },
    ].filter(Boolean)),
    opioids ? null : h('p', { class: 'hint no-opioids' }, `No opioids in these ${dates.length} days${entered.length ? '' : ' (no entries)'}: no MME to chart.`),
  ].filter(Boolean);
}

export default { title: 'Flag', render };
