// One participant: profile, charts (pain and MME against baseline and the
// protocol's high-MME line, flags marked on the time axis), flags, adverse events, entries
// with their corrections, reachability; re-issue the activation code, add an
// injection (the placebo arm's crossover), void or correct a mistaken injection
// with a reason (investigators and admins), change baselines or status with a
// reason, record an adverse event no flag raised, correct an entry as a data
// clarification; lock and unlock, sign the casebook, the adverse events' sign-off
// and SAE clocks, and data change requests.
import { get, send } from '../../../js/api.js';
import { addDays, localDate } from '../../../js/dates.js';
import { announce, h, notice } from '../../../js/dom.js';
import { DRUGS, PARTICIPANT_STATUSES, age, day, instant, label, num, plural } from '../labels.js';
import { participantCharts } from '../participant/charts.js';
import { participantForms } from '../participant/forms.js';
import { aeCard } from '../participant/adverse.js';
import { casebookSection, lockBanner } from '../participant/casebook.js';
import { changeRequests } from '../participant/changes.js';
import { entrySummary, entryTable, flagTable, questionnaireTable, reachability } from '../participant/tables.js';
import { activationSheet } from '../sheet.js';
import { busy, facts, field, pageControls, put, query, select, showError, table } from '../ui.js';

const RANGES = [['30', 'Last 30 days'], ['90', 'Last 90 days'], ['365', 'Last 365 days']];
const ENTRY_PAGE = 50; // entries per page of the list (a 24-month diary has 730)

function render(root, ctx, { id: studyId, params }) {
  const path = `/staff/participants/${encodeURIComponent(studyId)}`;
  const status = h('div');
  const banner = h('div');
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading the participant…'));
  put(root, h('p', { class: 'crumbs' }, h('a', { href: '#/participants' }, '← All participants')),
    h('h1', {}, studyId), banner, status, body);
  let casebook = null;
  let entryList = null;
  let person = null;
  let flags = [];
  let rows = []; // the charts' period
  let entryRows = []; // the pages of the entry list loaded so far
  let entryFilters = null;
  let range = params.get('days') || '30';
  const charts = h('div', { class: 'charts' });
  const profile = h('div');
  const tools = h('div', { class: 'tools' });
  const forms = participantForms({
    ctx, path, status, studyId,
    person: () => person,
    changed, loadAdverseEvents, loadEntries, loadQuestionnaires,
  });
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
    entryList = h('div', {}, h('p', { class: 'loading' }, 'Loading entries…'));
    const signoff = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
    const requests = h('div');
    const reach = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
    const asked = h('div', {}, h('p', { class: 'loading' }, 'Loading questionnaires…'));
    showProfile();
    const rangePick = select('days', RANGES, range);
    rangePick.addEventListener('change', () => {
      range = rangePick.value;
      history.replaceState(null, '', `#/participants/${encodeURIComponent(studyId)}?days=${range}`);
      loadChartRows();
    });
    entryFilters = entryFilterForm();
    put(body, 
      h('section', { class: 'card', 'aria-labelledby': 'p-profile' },
        h('h2', { id: 'p-profile' }, 'Profile'),
        profile,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn', onclick: (e) => reissue(e.currentTarget, tools) }, 'Re-issue activation code'),
          h('button', { type: 'button', class: 'btn', onclick: () => forms.showInjectionForm(tools) }, 'Add injection'),
          h('button', { type: 'button', class: 'btn', onclick: () => forms.showManageForm(tools) }, 'Change baselines or status'),
          ctx.can('adverse_events.record') ? h('button', { type: 'button', class: 'btn', onclick: () => forms.showAeForm(tools, aeList) }, 'Record an adverse event') : null),
        ctx.can('adverse_events.record') ? null : h('p', { class: 'who-can' }, 'Investigators record adverse events.')),
      tools,
      h('section', { class: 'card', 'aria-labelledby': 'p-charts' },
        h('div', { class: 'title-row' }, h('h2', { id: 'p-charts' }, 'Pain and opioid use'), field('Period', rangePick, { className: 'field inline-field' })),
        charts),
      h('section', { class: 'card', 'aria-labelledby': 'p-flags' }, h('h2', { id: 'p-flags' }, 'Flags'), flagList),
      h('section', { class: 'card', 'aria-labelledby': 'p-aes' }, h('h2', { id: 'p-aes' }, 'Adverse events'), aeList),
      h('section', { class: 'card', 'aria-labelledby': 'p-signoff' }, h('h2', { id: 'p-signoff' }, 'Sign-off and lock'), signoff),
      h('section', { class: 'card', 'aria-labelledby': 'p-entries' }, h('h2', { id: 'p-entries' }, 'Diary entries'), entryFilters, entryList),
      h('section', { class: 'card', 'aria-labelledby': 'p-changes' }, h('h2', { id: 'p-changes' }, 'Change requests'), requests),
      h('section', { class: 'card', 'aria-labelledby': 'p-questionnaires' }, h('h2', { id: 'p-questionnaires' }, 'Questionnaires'), asked),
      h('section', { class: 'card', 'aria-labelledby': 'p-reach' }, h('h2', { id: 'p-reach' }, 'Reachability'), reach),
    );
    casebook = casebookSection(signoff, {
      ctx, path, studyId, person: () => person,
      changed: (updated, message) => changed(tools, updated, message),
    });
    changeRequests(requests, { ctx, path, studyId, person: () => person, loadEntries });
    loadFlags(flagList);
    loadAdverseEvents(aeList);
    loadEntries();
    loadReachability(reach);
    loadQuestionnaires(asked);
  }

  async function loadQuestionnaires(target) {
    try {
      const { questionnaires } = await get(`${path}/questionnaires`);
      put(target, questionnaireTable(studyId, questionnaires, {
        onClarify: ctx.can('entries.clarify') ? (q) => forms.showQuestionnaireForm(tools, q, target) : null,
      }));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the questionnaires.'));
    }
  }

  /** The profile facts of `person`; shown again after each change to it. */
  function showProfile() {
    const today = localDate(person.timezone);
    const daysSince = (iso) => Math.round((Date.parse(today) - Date.parse(iso)) / 86400000);
    const studyDay = person.first_injection ? daysSince(person.first_injection) : null;
    const voided = person.voided_injections || [];
    put(banner, lockBanner(person.lock));
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
          h('button', { type: 'button', class: 'btn small', 'aria-label': `Correct the injection of ${day(d)}`, onclick: () => forms.showCorrectInjectionForm(tools, d) }, 'Correct…'),
          list.length > 1 ? [' ', h('button', { type: 'button', class: 'btn small', 'aria-label': `Void the injection of ${day(d)}`, onclick: () => forms.showVoidInjectionForm(tools, d) }, 'Void…')] : null,
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
      put(target, flagTable(studyId, flags));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the flags.'));
    }
    drawCharts();
  }

  async function loadAdverseEvents(target, done = null) {
    try {
      const { adverse_events: events } = await get(`${path}/adverse-events`);
      const maxDate = localDate(person.timezone);
      const onChanged = (_updated, message) => loadAdverseEvents(target, message || null);
      put(target, done, events.length
        ? events.map((ae) => aeCard(ae, { ctx, onChanged, maxDate }))
        : h('p', { class: 'empty' }, 'No adverse events recorded.'));
      if (done) {
        done.tabIndex = -1;
        done.focus();
      }
    } catch (error) {
      put(target, showError(null, error, 'Could not load the adverse events.'));
    }
  }

  /** The charts' period and the entry list's first page, again (after a correction). */
  async function loadEntries() {
    await Promise.all([loadChartRows(), loadEntryPage()]);
  }

  /** Every entry of the charts' period (at most 365 days: one page of the API's). */
  async function loadChartRows() {
    const { from, to } = period();
    try {
      ({ entries: rows } = await get(`${path}/entries?from=${from}&to=${to}&limit=366`));
    } catch (error) {
      rows = [];
      put(charts, showError(null, error, 'Could not load the diary entries.'));
      return;
    }
    drawCharts();
  }

  /** From and To for the entry list: empty, the whole diary. */
  function entryFilterForm() {
    const today = localDate(person.timezone);
    const dateInput = (name) => h('input', { type: 'date', name, min: person.first_injection || null, max: today });
    const form = h('form', { class: 'filters', 'aria-label': 'Entries between two dates', novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      loadEntryPage();
    } },
    field('Entries from', dateInput('from')),
    field('Entries to', dateInput('to')),
    h('div', { class: 'field filter-action' }, h('button', { type: 'submit', class: 'btn' }, 'Show entries')));
    return form;
  }

  /** The newest page of the list, or with `before` the page of older entries after it. */
  async function loadEntryPage(before = null) {
    const values = Object.fromEntries(new FormData(entryFilters));
    const filtered = Boolean(values.from || values.to);
    let body;
    try {
      body = await get(`${path}/entries${query({ from: values.from, to: values.to, before, limit: ENTRY_PAGE })}`);
    } catch (error) {
      put(before ? status : entryList, showError(entryFilters, error, 'Could not load the diary entries.'));
      return false;
    }
    for (const el of entryFilters.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const p of entryFilters.querySelectorAll('.field-error')) p.hidden = true;
    entryRows = before ? [...entryRows, ...body.entries] : body.entries;
    const tableBox = h('div', {}, entryRows.length ? entryTable(studyId, entryRows, { onCorrect: forms.clarify }) : null);
    const next = body.next_before;
    put(entryList,
      entrySummary(entryRows, body.total, { filtered, start: person.first_injection }),
      tableBox,
      pageControls({
        shown: entryRows.length, total: body.total, one: 'entry', many: 'entries', step: ENTRY_PAGE, list: entryList,
        onMore: next ? () => loadEntryPage(next) : null,
      }));
    if (before) announce(`Showing ${entryRows.length} of ${plural(body.total, 'entry', 'entries')}.`);
    return true;
  }

  async function loadReachability(target) {
    try {
      const r = await get(`${path}/reachability`);
      put(target, ...reachability(r));
    } catch (error) {
      put(target, showError(null, error, 'Could not load the reachability.'));
    }
  }

  // --- charts -----------------------------------------------------------------------

  function drawCharts() {
    if (!person) return;
    const { from, to } = period();
    const width = Math.min(Math.max((charts.clientWidth || 640) - 8, 280), 1100);
    put(charts, ...participantCharts({ studyId, person, rows, flags, from, to, width }));
  }

  // --- actions ------------------------------------------------------------------------

  async function reissue(button, tools) {
    if (!window.confirm(`Issue a new activation code for ${studyId}? The old code stops working and the participant is signed out of the app until they use the new one.`)) return;
    await busy(button, async () => {
      try {
        const issued = await send('POST', `${path}/activation-code`);
        // The profile shows the new code's state and expiry (and the signed-out app) at once.
        person = await get(path);
        showProfile();
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
    if (casebook) casebook.draw();
    drawCharts();
    const done = notice('done', message);
    done.tabIndex = -1;
    put(tools, done);
    announce(message);
    done.focus();
  }
}

export default { title: 'Participant', render };
