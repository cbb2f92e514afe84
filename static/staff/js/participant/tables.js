// What a participant's page lists: flags, diary entries with their
// corrections (who, when, why, old and new values), and reachability.
import { h } from '../../../js/dom.js';
import {
  DRUGS, KINDS, RED_FLAGS, SEVERITIES, STATUSES, THRESHOLDS,
  dateRange, day, dose, flagSummary, instant, label, num, outcomeText, plural, symptom,
} from '../labels.js';
import { badge, facts, table } from '../ui.js';

/** The participant's flags, each linked to its screen. */
export function flagTable(studyId, flags) {
  return table({ text: `Flags of ${studyId}`, hidden: true }, [
  { title: 'Flag', cell: (f) => h('a', { href: `#/flags/${f.id}` }, label(KINDS, f.kind)) },
  { title: 'Severity', cell: (f) => badge(`sev-${f.severity}`, label(SEVERITIES, f.severity)) },
  { title: 'Finding', className: 'wide', cell: (f) => flagSummary(f) },
  { title: 'Diary dates', cell: (f) => dateRange(f.first_date, f.last_date) },
  { title: 'Status', cell: (f) => [badge(`st-${f.status}`, label(STATUSES, f.status)), f.status === 'resolved' ? h('span', { class: 'hint block' }, outcomeText(f)) : null] },
], flags, { empty: 'No flags.' });
}

/** What the entry list holds, naming only dates that have an entry: "All 21 entries,
 * newest first: 16 Nov 2026 – 6 Dec 2026", "Showing the 50 newest of 730 entries…". */
export function entrySummary(rows, total, { filtered = false, start = null } = {}) {
  if (!total || !rows.length) {
    return h('p', { class: 'hint' }, filtered ? 'No entries between these dates.'
      : `No entries yet.${start ? ` The diary starts on ${day(start)} (day 0).` : ''}`);
  }
  const dates = rows.map((e) => e.date).sort();
  const counted = plural(total, 'entry', 'entries');
  const what = rows.length >= total
    ? `${total === 1 ? 'One entry' : `All ${counted}`}${filtered ? ' between these dates' : ''}`
    : `Showing the ${rows.length} newest of ${counted}${filtered ? ' between these dates' : ''}`;
  const syncedLate = rows.filter((e) => e.synced_late).length;
  return h('p', { class: 'hint' }, `${what}${rows.length > 1 ? ', newest first' : ''}: ${dateRange(dates[0], dates[dates.length - 1])}`,
    syncedLate ? `; ${syncedLate} synced late (made in time on the phone, received after the entry window closed)` : '',
    '. Correcting an entry after its window is a documented data clarification: give the reason.');
}

/** Entries newest first, each with its versions and a Correct button. */
export function entryTable(studyId, rows, { onCorrect }) {
  const sorted = [...rows].sort((a, b) => (a.date < b.date ? 1 : -1));
  return [
    table({ text: `Diary entries of ${studyId}`, hidden: true }, [
      { title: 'Date', cell: (e) => [day(e.date), timing(e)] },
      { title: 'Back', className: 'num', cell: (e) => String(e.back_pain) },
      { title: 'Leg', className: 'num', cell: (e) => String(e.leg_pain) },
      { title: 'MME', className: 'num', cell: (e) => [num(e.mme), (e.mme_unconverted || []).length ? h('span', { class: 'hint block' }, `+ ${e.mme_unconverted.map((d) => DRUGS[d] ? DRUGS[d][0] : d).join(', ')} not converted`) : null] },
      { title: 'Opioids', className: 'wide', cell: (e) => ((e.doses || []).length ? h('ul', { class: 'plain-list' }, e.doses.map((d) => h('li', {}, dose(d)))) : 'None') },
      { title: 'Symptoms', className: 'wide', cell: (e) => symptomsCell(e) },
      { title: 'Note', className: 'wide', cell: (e) => e.note || '' },
      { title: 'Version', className: 'wide', cell: (e) => corrections(e) },
      { title: 'Action', bare: true, cell: (e) => h('button', { type: 'button', class: 'btn small', 'aria-label': `Correct the entry of ${day(e.date)}`, onclick: (ev) => onCorrect(e, ev.currentTarget) }, 'Correct…') },
    ], sorted, { empty: 'No entries in this period.' }),
  ];
}

const Q_STATUS = { upcoming: 'Upcoming', open: 'Open', completed: 'Completed', missed: 'Missed' };

/** The participant's questionnaires: window, status, scores, and each response's answers. */
export function questionnaireTable(studyId, list, { onClarify } = {}) {
  const shown = list.filter((q) => q.status !== 'upcoming');
  const upcoming = list.length - shown.length;
  return [
    table({ text: `Questionnaires of ${studyId}`, hidden: true }, [
      { title: 'Questionnaire', className: 'wide', cell: (q) => q.title },
      { title: 'Due', cell: (q) => day(q.due_date) },
      { title: 'Window', cell: (q) => `${instant(q.window_opens)} – ${instant(q.window_closes)}` },
      { title: 'Status', cell: (q) => [badge(`q-${q.status}`, Q_STATUS[q.status] || q.status),
        q.synced_late ? h('span', { class: 'hint block' }, 'received after the window closed') : null] },
      { title: 'Scores', cell: (q) => Object.entries(q.scores || {}).map(([k, v]) => h('span', { class: 'block' }, `${k}: ${v == null ? 'no score (items missing)' : num(v)}`)) },
      { title: 'Answers', className: 'wide', cell: (q) => (q.response ? h('details', {},
        h('summary', {}, `Answered ${instant(q.completed_at)} (version ${q.response.version})`),
        h('dl', { class: 'answers' }, q.response.items.map((a) => [
          h('dt', {}, a.text || a.link_id),
          h('dd', {}, a.display ? `${a.display} (${a.answer}${a.score == null ? '' : `, score ${num(a.score)}`})`
            : typeof a.answer === 'boolean' ? (a.answer ? 'Yes' : 'No') : show(a.answer)),
        ]))) : '') },
      onClarify ? { title: 'Action', bare: true, cell: (q) => h('button', {
        type: 'button', class: 'btn small', 'aria-label': `${q.response ? 'Correct' : 'Enter'} the answers of ${q.title}, due ${day(q.due_date)}`,
        onclick: () => onClarify(q),
      }, q.response ? 'Correct…' : 'Enter answers…') } : null,
    ].filter(Boolean), shown, { empty: 'No questionnaire due yet.' }),
    upcoming ? h('p', { class: 'hint' }, `${upcoming} more scheduled later.`) : null,
  ];
}

/** How the participant can be reached: reminders, push subscriptions, last contact. */
export function reachability(r) {
  return [facts([
  ['Reminders', r.reminders ? h('span', { class: r.reminders.will_arrive ? null : 'warn-text' }, r.reminders.text) : '—'],
  ['Push subscriptions', `${r.push_subscriptions} live`],
  ['Last seen', r.last_seen_at ? instant(r.last_seen_at) : '—'],
  ['Last entry', r.last_entry_date ? `${day(r.last_entry_date)} (received ${instant(r.last_entry_received_at)})` : '—'],
  ['Last reminder', instant(r.last_reminder_at)],
  ['Last push delivered', instant(r.last_push_delivered_at)],
], 'facts cols'), (r.subscriptions || []).length ? table({ text: 'Push subscriptions', hidden: false }, [
  { title: 'Service', cell: (s) => s.service },
  { title: 'Since', cell: (s) => instant(s.created_at) },
  { title: 'Last success', cell: (s) => instant(s.last_success_at) },
  { title: 'Ended', cell: (s) => (s.ended_at ? `${instant(s.ended_at)} (${s.end_reason || ''})` : 'live') },
], r.subscriptions) : '', syncProblems(r.sync_problems || [])];
}

/** What the participant's phone reported it could not send (the last 30 days). */
function syncProblems(list) {
  if (!list.length) return '';
  return h('section', { class: 'sync-problems' },
    h('h3', {}, `The phone could not send ${list.length === 1 ? 'one item' : `${list.length} items`}`),
    h('p', { class: 'hint' }, 'A refused item stays on the phone, shown to the participant with what to do; an item that met server errors is retried by the phone on its own. Contact the participant if it does not clear.'),
    table({ text: 'Sync problems reported by the phone', hidden: true }, [
      { title: 'Item', cell: (p) => (p.kind === 'entry' ? `Entry for ${day(p.date)}` : 'Questionnaire answers') },
      { title: 'What happened', className: 'wide', cell: (p) => (p.status >= 500
        ? `Server error (${p.status}); the phone keeps retrying`
        : `Refused by the server (${p.status}, ${p.code.replace(/_/g, ' ')}); kept on the phone`) },
      { title: 'First reported', cell: (p) => instant(p.first_reported_at) },
      { title: 'Last reported', cell: (p) => [instant(p.last_reported_at), p.reports > 1 ? h('span', { class: 'hint block' }, `${p.reports} reports`) : null] },
    ], list));
}

/** When the entry was made and received, in words (not colour alone). */
export function timing(e) {
  return [
    e.late ? h('span', { class: 'hint block' }, 'entered late (after its day ended)') : null,
    e.synced_late ? h('span', { class: 'block' }, badge('synced-late', 'Synced late'),
      h('span', { class: 'hint block' }, 'received after the entry window closed')) : null,
  ];
}

function symptomsCell(e) {
  const list = (e.symptoms || []).map((code) => h('li', { class: RED_FLAGS.has(code) ? 'red' : null }, symptom(code)));
  if (e.temperature_c != null) list.push(h('li', { class: THRESHOLDS.fever_c != null && e.temperature_c >= THRESHOLDS.fever_c ? 'red' : null }, `Temperature ${num(e.temperature_c)} °C`));
  return list.length ? h('ul', { class: 'plain-list' }, list) : 'None';
}

function corrections(e) {
  const list = e.corrections || [];
  const head = `v${e.version}${e.entered_by ? ` · by ${e.entered_by}` : ''}`;
  if (!list.length) return head;
  return h('details', { class: 'corrections' },
    h('summary', {}, `${head} · ${list.length} correction${list.length === 1 ? '' : 's'}`),
    h('ol', {}, list.map((c) => h('li', {},
      h('p', {}, h('strong', {}, c.action === 'entry.create' ? `Version ${c.version ?? 1}, entered` : `Version ${c.version ?? '?'}, corrected`),
        ` · ${instant(c.at)} · ${c.actor || '—'}${c.actor_type && c.actor_type !== 'participant' ? ` (${c.actor_type})` : ''}`),
      c.action === 'entry.create' ? null : h('p', {}, 'Reason: ', c.reason || '—'),
      changes(c.before, c.after)))));
}

function show(value) {
  if (value == null) return '—';
  if (Array.isArray(value)) return value.map((v) => (v && typeof v === 'object' && v.drug ? dose(v) : typeof v === 'string' ? symptom(v) : JSON.stringify(v))).join('; ') || 'none';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function changes(before = {}, after = {}) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])]
    .filter((k) => JSON.stringify((before || {})[k]) !== JSON.stringify((after || {})[k]));
  if (!keys.length) return null;
  return h('table', { class: 'changes' },
    h('caption', { class: 'visually-hidden' }, 'Changed values'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Old value'), h('th', { scope: 'col' }, 'New value'))),
    h('tbody', {}, keys.map((k) => h('tr', {}, h('th', { scope: 'row' }, k.replaceAll('_', ' ')),
      h('td', { class: 'old' }, show((before || {})[k])), h('td', {}, show((after || {})[k]))))));
}
