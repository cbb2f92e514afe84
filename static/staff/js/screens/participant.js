// One participant: profile, charts (pain and MME against baseline and the
// protocol's high-MME line, flags marked on the time axis), flags, adverse events, entries
// with their corrections, reachability; re-issue the activation code, add an
// injection (the placebo arm's crossover), void or correct a mistaken injection
// with a reason (investigators and admins), change baselines or status with a
// reason, record an adverse event no flag raised, correct an entry as a data
// clarification.
import { ApiError, get, send } from '../../../js/api.js';
import { chart, legend } from '../../../js/chart.js';
import { addDays, deviceTime, localDate } from '../../../js/dates.js';
import { announce, h, notice } from '../../../js/dom.js';
import * as drafts from '../drafts.js';
import {
  AE_SOURCES, CTCAE, DRUGS, FORMULARY, KINDS, PARTICIPANT_STATUSES, RELATED, SEVERITIES, STATUSES, SYMPTOMS, RED_FLAGS,
  age, dateRange, day, dose, flagSummary, instant, label, num, symptom, THRESHOLDS,
} from '../labels.js';
import { activationSheet } from '../sheet.js';
import { badge, busy, entries as pairs, facts, factorTable, field, put, select, showError, table } from '../ui.js';
import { radio } from './flag.js';

const RANGES = [['30', 'Last 30 days'], ['90', 'Last 90 days'], ['365', 'Last 365 days']];

function render(root, ctx, { id: studyId, params }) {
  const path = `/staff/participants/${encodeURIComponent(studyId)}`;
  const status = h('div');
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading the participant…'));
  put(root, h('p', { class: 'crumbs' }, h('a', { href: '#/participants' }, '← All participants')),
    h('h1', {}, studyId), status, body);
  let person = null;
  let flags = [];
  let rows = [];
  let range = params.get('days') || '30';
  const charts = h('div', { class: 'charts' });
  const profile = h('div');
  const tools = h('div', { class: 'tools' });
  const onResize = () => drawCharts();
  window.addEventListener('resize', onResize);
  load();
  return { leave: () => window.removeEventListener('resize', onResize) };

  async function load() {
    try {
      person = await get(path);
    } catch (error) {
      put(body, showError(null, error, 'Could not load the participant.'));
      return;
    }
    const flagList = h('div', {}, h('p', { class: 'loading' }, 'Loading flags…'));
    const aeList = h('div', {}, h('p', { class: 'loading' }, 'Loading adverse events…'));
    const entryList = h('div', {}, h('p', { class: 'loading' }, 'Loading entries…'));
    const reach = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
    showProfile();
    const rangePick = select('days', RANGES, range);
    rangePick.addEventListener('change', () => {
      range = rangePick.value;
      history.replaceState(null, '', `#/participants/${encodeURIComponent(studyId)}?days=${range}`);
      loadEntries(entryList);
    });
    put(body, 
      h('section', { class: 'card', 'aria-labelledby': 'p-profile' },
        h('h2', { id: 'p-profile' }, 'Profile'),
        profile,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn', onclick: (e) => reissue(e.currentTarget, tools) }, 'Re-issue activation code'),
          h('button', { type: 'button', class: 'btn', onclick: () => showInjectionForm(tools) }, 'Add injection'),
          h('button', { type: 'button', class: 'btn', onclick: () => showManageForm(tools) }, 'Change baselines or status'),
          h('button', { type: 'button', class: 'btn', onclick: () => showAeForm(tools, aeList) }, 'Record an adverse event'))),
      tools,
      h('section', { class: 'card', 'aria-labelledby': 'p-charts' },
        h('div', { class: 'title-row' }, h('h2', { id: 'p-charts' }, 'Pain and opioid use'), field('Period', rangePick, { className: 'field inline-field' })),
        charts),
      h('section', { class: 'card', 'aria-labelledby': 'p-flags' }, h('h2', { id: 'p-flags' }, 'Flags'), flagList),
      h('section', { class: 'card', 'aria-labelledby': 'p-aes' }, h('h2', { id: 'p-aes' }, 'Adverse events'), aeList),
      h('section', { class: 'card', 'aria-labelledby': 'p-entries' }, h('h2', { id: 'p-entries' }, 'Diary entries'), entryList),
      h('section', { class: 'card', 'aria-labelledby': 'p-reach' }, h('h2', { id: 'p-reach' }, 'Reachability'), reach),
    );
    loadFlags(flagList);
    loadAdverseEvents(aeList);
    loadEntries(entryList);
    loadReachability(reach);
  }

  /** The profile facts of `person`; shown again after each change to it. */
  function showProfile() {
    const today = localDate(person.timezone);
    const daysSince = (iso) => Math.round((Date.parse(today) - Date.parse(iso)) / 86400000);
    const studyDay = person.first_injection ? daysSince(person.first_injection) : null;
    const voided = person.voided_injections || [];
    put(profile, facts([
      ['Site', person.site],
      ['Status', label(PARTICIPANT_STATUSES, person.status)],
      ['Time zone', person.timezone],
      ['Study day', studyDay == null ? '—' : `${studyDay} (today there: ${day(today)})`],
      ['Injections', (person.injections || []).map(day).join(', ') || day(person.first_injection)],
      ['Baseline back pain', `${person.baseline_back_pain} / 10`],
      ['Baseline opioids', `${num(person.baseline_mme)} MME per day${(person.baseline_opioids || []).length ? ` (${person.baseline_opioids.map((c) => (DRUGS[c] ? DRUGS[c][0] : c)).join(', ')})` : ''}`],
      ['Activated', person.activated_at ? instant(person.activated_at) : 'Not yet'],
      ['Last seen', person.last_seen_at ? `${instant(person.last_seen_at)} (${age(person.last_seen_at)})` : '—'],
      person.pending_code_expires_at ? ['Activation code', `unused, expires ${instant(person.pending_code_expires_at)}`] : null,
      voided.length ? ['Voided injections', h('ul', { class: 'plain-list' }, voided.map((v) => h('li', {},
        `${day(v.date)}${v.corrected_to ? `, corrected to ${day(v.corrected_to)}` : ', voided'} · ${instant(v.voided_at)} · ${v.voided_by || 'command line'} · Reason: ${v.reason}`)))] : null,
    ], 'facts cols'), ctx.can('injections.correct') ? injectionTable(daysSince) : null);
  }

  /** Each injection with Correct and Void (the only one can be corrected, not voided). */
  function injectionTable(daysSince) {
    const list = person.injections || [];
    const first = list[0];
    return h('div', { class: 'injections' },
      h('h3', {}, 'Correct or void an injection'),
      table({ text: `Injections of ${studyId}`, hidden: true }, [
        { title: 'Injection', cell: (d) => day(d) },
        { title: 'Study day', cell: (d) => (d === first ? `Day 0 (${daysSince(d)} days ago)` : `Day ${Math.round((Date.parse(d) - Date.parse(first)) / 86400000)}`) },
        { title: 'Action', bare: true, cell: (d) => [
          h('button', { type: 'button', class: 'btn small', 'aria-label': `Correct the injection of ${day(d)}`, onclick: () => showCorrectInjectionForm(tools, d) }, 'Correct…'),
          list.length > 1 ? [' ', h('button', { type: 'button', class: 'btn small', 'aria-label': `Void the injection of ${day(d)}`, onclick: () => showVoidInjectionForm(tools, d) }, 'Void…')] : null,
        ] },
      ], list, { empty: 'No injections recorded.' }));
  }

  // --- data ---------------------------------------------------------------------

  function period() {
    const to = localDate(person.timezone);
    let from = addDays(to, -(Number(range) - 1));
    if (person.first_injection && from < person.first_injection) from = person.first_injection;
    return { from: from > to ? to : from, to };
  }

  async function loadFlags(target) {
    try {
      ({ flags } = await get(`/staff/flags?study_id=${encodeURIComponent(studyId)}`));
      put(target, table({ text: `Flags of ${studyId}`, hidden: true }, [
        { title: 'Flag', cell: (f) => h('a', { href: `#/flags/${f.id}` }, label(KINDS, f.kind)) },
        { title: 'Severity', cell: (f) => badge(`sev-${f.severity}`, label(SEVERITIES, f.severity)) },
        { title: 'Finding', className: 'wide', cell: (f) => flagSummary(f) },
        { title: 'Diary dates', cell: (f) => dateRange(f.first_date, f.last_date) },
        { title: 'Status', cell: (f) => [badge(`st-${f.status}`, label(STATUSES, f.status)), f.outcome ? h('span', { class: 'hint block' }, f.outcome === 'adverse_event' ? 'adverse event' : 'not an AE') : null] },
      ], flags, { empty: 'No flags.' }));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the flags.'));
    }
    drawCharts();
  }

  async function loadAdverseEvents(target) {
    try {
      const { adverse_events: events } = await get(`${path}/adverse-events`);
      put(target, table({ text: `Adverse events of ${studyId}`, hidden: true }, [
        { title: 'Term', className: 'wide', cell: (a) => a.term },
        { title: 'Onset', cell: (a) => day(a.onset_date) },
        { title: 'Grade', cell: (a) => label(CTCAE, a.ctcae_grade) },
        { title: 'Serious', cell: (a) => (a.serious ? badge('sev-urgent', 'Serious') : 'No') },
        { title: 'Relatedness', cell: (a) => label(RELATED, a.related) },
        { title: 'Source', cell: (a) => [label(AE_SOURCES, a.source), a.flag_id ? [' ', h('a', { href: `#/flags/${a.flag_id}` }, `(flag ${a.flag_id})`)] : null] },
        { title: 'Recorded', cell: (a) => [instant(a.recorded_at), h('span', { class: 'hint block' }, a.recorded_by)] },
      ], events, { empty: 'No adverse events recorded.' }));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the adverse events.'));
    }
  }

  async function loadEntries(target) {
    const { from, to } = period();
    try {
      ({ entries: rows } = await get(`${path}/entries?from=${from}&to=${to}`));
    } catch (error) {
      rows = [];
      put(target, showError(null, error, 'Could not load the diary entries.'));
      drawCharts();
      return;
    }
    drawCharts();
    const sorted = [...rows].sort((a, b) => (a.date < b.date ? 1 : -1));
    const syncedLate = rows.filter((e) => e.synced_late).length;
    put(target, 
      h('p', { class: 'hint' }, `${rows.length} entr${rows.length === 1 ? 'y' : 'ies'} from ${day(from)} to ${day(to)}, newest first`,
        syncedLate ? `; ${syncedLate} synced late (made in time on the phone, received after the entry window closed)` : '',
        '. Correcting an entry after its window is a documented data clarification: give the reason.'),
      table({ text: `Diary entries of ${studyId}`, hidden: true }, [
        { title: 'Date', cell: (e) => [day(e.date), timing(e)] },
        { title: 'Back', className: 'num', cell: (e) => String(e.back_pain) },
        { title: 'Leg', className: 'num', cell: (e) => String(e.leg_pain) },
        { title: 'MME', className: 'num', cell: (e) => [num(e.mme), (e.mme_unconverted || []).length ? h('span', { class: 'hint block' }, `+ ${e.mme_unconverted.map((d) => DRUGS[d] ? DRUGS[d][0] : d).join(', ')} not converted`) : null] },
        { title: 'Opioids', className: 'wide', cell: (e) => ((e.doses || []).length ? h('ul', { class: 'plain-list' }, e.doses.map((d) => h('li', {}, dose(d)))) : 'None') },
        { title: 'Symptoms', className: 'wide', cell: (e) => symptomsCell(e) },
        { title: 'Note', className: 'wide', cell: (e) => e.note || '' },
        { title: 'Version', className: 'wide', cell: (e) => corrections(e) },
        { title: 'Action', bare: true, cell: (e) => h('button', { type: 'button', class: 'btn small', 'aria-label': `Correct the entry of ${day(e.date)}`, onclick: (ev) => clarify(e, ev.currentTarget) }, 'Correct…') },
      ], sorted, { empty: 'No entries in this period.' }));
  }

  async function loadReachability(target) {
    try {
      const r = await get(`${path}/reachability`);
      put(target, facts([
        ['Reminders', r.notifications_enabled ? `on, at ${r.reminder_time || 'the study default'}` : 'off'],
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
      ], r.subscriptions) : '');
    } catch (error) {
      put(target, showError(null, error, 'Could not load the reachability.'));
    }
  }

  // --- charts -----------------------------------------------------------------------

  function drawCharts() {
    if (!person) return;
    const { from, to } = period();
    const dates = [];
    for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
    const byDate = new Map(rows.map((e) => [e.date, e]));
    const pick = (k) => dates.map((d) => (byDate.has(d) ? byDate.get(d)[k] : null));
    const markers = flags.map((f) => ({
      date: f.first_date < from && f.last_date >= from ? from : f.first_date,
      label: `${label(SEVERITIES, f.severity)} flag: ${label(KINDS, f.kind)} (${label(STATUSES, f.status).toLowerCase()})`,
      className: `chart-marker sev-${f.severity}`,
    }));
    const shown = markers.filter((m) => m.date >= from && m.date <= to);
    const width = Math.min(Math.max((charts.clientWidth || 640) - 8, 280), 1100);
    const back = pick('back_pain');
    const entered = back.filter((v) => v != null);
    const mme = pick('mme');
    const mmeDays = mme.filter((v) => v != null);
    const line = THRESHOLDS.mme_high; // the protocol's high-MME threshold, from the server
    const overLine = line == null ? 0 : mmeDays.filter((v) => v > line).length;
    // Days with an opioid that has no MME factor: their MME is incomplete, never 0.
    const incomplete = dates
      .filter((d) => byDate.has(d) && (byDate.get(d).mme_unconverted || []).length)
      .map((d) => ({
        date: d,
        label: `MME incomplete: ${byDate.get(d).mme_unconverted.map((c) => (DRUGS[c] ? DRUGS[c][0] : c)).join(', ')} not converted`,
        className: 'chart-marker incomplete',
      }));
    const incompleteText = incomplete.length ? ` ${incomplete.length} day(s) with an opioid that has no MME factor are marked.` : '';
    const flagText = shown.length ? ` ${shown.length} flag${shown.length === 1 ? '' : 's'} marked on the time axis.` : '';
    put(charts, 
      h('figure', { class: 'chart-card' },
        h('figcaption', {}, 'Back and leg pain (0–10) against the baseline'),
        chart({
          dates, width, height: 240, markers: shown,
          title: `Pain of ${studyId}, ${day(from)} to ${day(to)}`,
          description: entered.length
            ? `${entered.length} of ${dates.length} days entered. Back pain from ${Math.min(...entered)} to ${Math.max(...entered)}; baseline ${person.baseline_back_pain}.${flagText}`
            : `No entries in this period. Baseline back pain ${person.baseline_back_pain}.${flagText}`,
          lines: [
            { label: 'Back pain', values: back, className: 'chart-line back' },
            { label: 'Leg pain', values: pick('leg_pain'), className: 'chart-line leg' },
          ],
          refs: [{ axis: 'left', value: person.baseline_back_pain, label: `Baseline back pain ${person.baseline_back_pain}`, className: 'chart-ref baseline' }],
        }),
        legend([
          { label: 'Back pain', className: 'back' },
          { label: 'Leg pain', className: 'leg' },
          { label: 'Baseline back pain', className: 'baseline' },
          shown.length ? { label: 'Flag (first date)', className: 'marker' } : null,
        ].filter(Boolean))),
      h('figure', { class: 'chart-card' },
        h('figcaption', {}, `Daily opioid use (MME) against the baseline${line == null ? '' : ` and the ${num(line)} MME line`}`),
        chart({
          dates, width, height: 220, markers: [...shown, ...incomplete],
          title: `Daily MME of ${studyId}, ${day(from)} to ${day(to)}`,
          description: mmeDays.length
            ? `Daily MME from ${num(Math.min(...mmeDays))} to ${num(Math.max(...mmeDays))}; baseline ${num(person.baseline_mme)}${line == null ? '' : `; ${overLine} day(s) above ${num(line)} MME`}.${flagText}${incompleteText}`
            : `No opioid data in this period. Baseline ${num(person.baseline_mme)} MME.${flagText}${incompleteText}`,
          bars: { label: 'MME', values: mme, className: 'chart-bars' },
          refs: [
            line == null ? null : { axis: 'right', value: line, label: `${num(line)} MME`, className: 'chart-ref threshold', labelAt: 'end' },
            { axis: 'right', value: person.baseline_mme, label: `Baseline ${num(person.baseline_mme)} MME`, className: 'chart-ref baseline' },
          ].filter(Boolean),
        }),
        legend([
          { label: 'MME per day', className: 'bars' },
          line == null ? null : { label: `${num(line)} MME per day`, className: 'ref' },
          { label: 'Baseline MME', className: 'baseline' },
          shown.length ? { label: 'Flag (first date)', className: 'marker' } : null,
          incomplete.length ? { label: 'MME incomplete (opioid without a factor)', className: 'incomplete' } : null,
        ].filter(Boolean))),
      h('details', { class: 'mme-sources' },
        h('summary', {}, 'How the daily MME is calculated, and where each factor comes from'),
        h('p', {}, 'Daily MME is the sum over the day’s doses of strength × units taken × the drug’s conversion factor (a fentanyl patch counts for each day worn). A drug with no factor is never counted as 0: the day shows it as not converted.'),
        factorTable(FORMULARY)),
    );
  }

  // --- actions ------------------------------------------------------------------------

  async function reissue(button, tools) {
    if (!window.confirm(`Issue a new activation code for ${studyId}? The old code stops working and the participant is signed out of the app until they use the new one.`)) return;
    await busy(button, async () => {
      try {
        const issued = await send('POST', `${path}/activation-code`);
        put(tools, notice('done', `New activation code for ${studyId}. The previous code no longer works.`), activationSheet(issued));
        announce(`New activation code issued for ${studyId}: ${issued.activation_code}.`);
        tools.querySelector('h2').tabIndex = -1;
        tools.querySelector('h2').focus();
      } catch (error) {
        put(status, showError(null, error, 'Could not issue a code.'));
      }
    });
  }

  /** After a change to the participant: show the API's answer and say what was saved. */
  function changed(tools, updated, message) {
    person = updated;
    showProfile();
    drawCharts();
    const done = notice('done', message);
    done.tabIndex = -1;
    put(tools, done);
    announce(message);
    done.focus();
  }

  function showInjectionForm(tools) {
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
    const key = `ae.${studyId}`;
    const allowed = ctx.can('adverse_events.record');
    const formStatus = h('div');
    const submit = h('button', { type: 'submit', class: 'btn primary', disabled: !allowed }, 'Record the adverse event');
    const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'ae-h' },
      h('h2', { id: 'ae-h', class: 'span' }, 'Record an adverse event'),
      allowed ? null : h('p', { class: 'notice info span' }, 'Only investigators can record adverse events.'),
      field('Source', select('source', [['', 'Choose the source'], ['interview', 'Participant interview'], ['clinical_exam', 'Clinical exam'], ['diary', 'Diary review']], '')),
      field('Term', h('input', { type: 'text', name: 'term', maxlength: 200, required: true, autocomplete: 'off' })),
      field('Onset date', h('input', { type: 'date', name: 'onset_date', required: true, max: localDate(person.timezone) })),
      field('CTCAE grade', select('ctcae_grade', [['', 'Choose a grade'], ...pairs(CTCAE)], '')),
      h('fieldset', { class: 'field radios' }, h('legend', {}, 'Serious adverse event?'), radio('serious', 'false', 'No'), radio('serious', 'true', 'Yes')),
      field('Relatedness to the study treatment', select('related', [['', 'Choose relatedness'], ...pairs(RELATED)], '')),
      h('div', { class: 'span' }, field('Note', h('textarea', { name: 'note', rows: 3, maxlength: 2000 }))),
      h('div', { class: 'span' }, formStatus, h('div', { class: 'actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => { drafts.drop(key); tools.replaceChildren(); } }, 'Cancel'))));
    put(tools, form);
    if (drafts.keep(form, key)) put(formStatus, notice('info', 'Your unsaved adverse event was restored.'));
    form.querySelector('select, input').focus();

    async function onsubmit(event) {
      event.preventDefault();
      const v = drafts.readForm(form);
      const body = {
        source: v.source || undefined,
        term: v.term.trim() || undefined,
        onset_date: v.onset_date || undefined,
        ctcae_grade: v.ctcae_grade ? Number(v.ctcae_grade) : undefined,
        serious: v.serious ? v.serious === 'true' : undefined,
        related: v.related || undefined,
        note: v.note.trim() || null,
      };
      await busy(submit, async () => {
        try {
          await send('POST', `${path}/adverse-events`, body);
          drafts.drop(key);
          put(tools, notice('done', 'Adverse event recorded.'));
          announce('Adverse event recorded.');
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

/** When the entry was made and received, in words (not colour alone). */
function timing(e) {
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

export default { title: 'Participant', render };
