// Participants of the staff member's sites, a page at a time by study ID: study day,
// last entry, adherence (last 7 days and overall, closed diary dates only, with the
// entries that were synced late counted apart), open flags; search by study ID, filter
// by site and by the first injection's date (#/participants?q=&site=&from=&to=); for
// admins, the study freeze.
import { get } from '../../../js/api.js';
import { announce, h } from '../../../js/dom.js';
import { age, day, instant, pct, plural } from '../labels.js';
import { freezeControl } from '../participant/casebook.js';
import { badge, field, pageControls, put, query, select, showError, table } from '../ui.js';

const PAGE = 50;
const FIELDS = ['q', 'site', 'from', 'to'];

function render(root, ctx, { params }) {
  const search = h('input', { type: 'search', name: 'q', value: params.get('q') || '', autocomplete: 'off', spellcheck: 'false', maxlength: 40 });
  const dateInput = (name) => h('input', { type: 'date', name, value: params.get(name) || '' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find participants', onsubmit, onchange: onsubmit, novalidate: true },
    field('Study ID (or part of it)', search),
    field('Site', select('site', [['', 'All my sites'], ...ctx.sites.map((s) => [s.code, s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code])], params.get('site') || '')),
    field('First injection from', dateInput('from')),
    field('First injection to', dateInput('to')),
    h('div', { class: 'field filter-action' }, h('button', { type: 'submit', class: 'btn' }, 'Search')));
  const status = h('div');
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading participants…'));
  const pager = h('div');
  const sites = h('div');
  put(root, 
    h('div', { class: 'title-row' }, h('h1', {}, 'Participants'), h('a', { href: '#/enroll', class: 'btn' }, 'Enroll a participant')),
    ctx.can('study.freeze') ? freezeControl(ctx) : null,
    form, status, list, pager, sites);
  // The adherence report is extra: the list has each participant's rates without it.
  const report = get('/staff/adherence').catch(() => null);
  let rows = [];
  load();
  loadAdherence();

  function filters() {
    const values = Object.fromEntries(new FormData(form));
    return Object.fromEntries(FIELDS.map((k) => [k, (values[k] || '').trim()]));
  }

  function onsubmit(event) {
    event.preventDefault();
    history.replaceState(null, '', `#/participants${query(filters())}`);
    load();
  }

  /** The first page, or with `after` the page after that study ID, added to the list. */
  async function load(after = null) {
    let page;
    let body;
    try {
      [page, body] = await Promise.all([
        get(`/staff/participants${query({ ...filters(), after, limit: PAGE })}`), report]);
    } catch (error) {
      put(status, showError(form, error, 'Could not load the participants.'));
      if (!after) {
        list.replaceChildren();
        pager.replaceChildren();
      }
      return false;
    }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
    rows = after ? [...rows, ...page.participants] : page.participants;
    const synced = new Map(((body && body.participants) || []).map((a) => [a.study_id, a]));
    status.replaceChildren();
    const { next_after: next, total } = page;
    put(list, table({ text: 'Participants', hidden: true }, [
      { title: 'Study ID', cell: (p) => h('a', { href: `#/participants/${encodeURIComponent(p.study_id)}` }, p.study_id) },
      { title: 'Site', cell: (p) => p.site },
      { title: 'Status', cell: (p) => [p.status, p.activated_at ? null : h('span', { class: 'hint block' }, 'not activated')] },
      { title: 'Study day', className: 'num', cell: (p) => (p.study_day == null ? '—' : String(p.study_day)) },
      { title: 'Last entry', cell: (p) => day(p.last_entry_date) },
      { title: 'Adherence 7 days', className: 'num', cell: (p) => adherence(p.adherence_7d) },
      { title: 'Adherence overall', className: 'num', cell: (p) => [adherence(p.adherence_overall), syncedLate(synced.get(p.study_id))] },
      { title: 'Questionnaires', className: 'num', cell: (p) => questionnaires(synced.get(p.study_id)) },
      { title: 'Open flags', className: 'num', cell: (p) => (p.open_flags ? h('a', { href: `#/flags?study_id=${encodeURIComponent(p.study_id)}`, class: 'open-flags', 'aria-label': `${plural(p.open_flags, 'open flag')} of ${p.study_id}` }, String(p.open_flags)) : '0') },
      { title: 'Last seen', cell: (p) => (p.last_seen_at ? h('span', { title: instant(p.last_seen_at) }, age(p.last_seen_at)) : '—') },
    ], rows, { empty: 'No participants match.' }));
    put(pager, pageControls({
      shown: rows.length, total, one: 'participant', step: PAGE, list,
      onMore: next ? () => load(next) : null,
    }));
    if (after) announce(`Showing ${rows.length} of ${plural(total, 'participant')}.`);
    return true;
  }

  async function loadAdherence() {
    const body = await report;
    const rows = (body && body.sites) || [];
    if (!rows.length) return;
    const split = rows.some((s) => s.entered_synced_late != null);
    put(sites, h('h2', {}, 'Adherence by site'), table({ text: 'Adherence by site (closed diary dates)', hidden: true }, [
      { title: 'Site', cell: (s) => s.site || s.code },
      { title: 'Expected dates', className: 'num', cell: (s) => String(s.expected ?? '—') },
      { title: 'Entered', className: 'num', cell: (s) => String(s.entered ?? '—') },
      split ? { title: 'On time', className: 'num', cell: (s) => String(s.entered_on_time ?? '—') } : null,
      split ? { title: 'Synced late', className: 'num', cell: (s) => String(s.entered_synced_late ?? '—') } : null,
      { title: 'Adherence', className: 'num', cell: (s) => adherence(s.rate) },
      { title: 'Questionnaires answered', className: 'num', cell: (s) => questionnaires(s) },
    ].filter(Boolean), rows),
    split ? h('p', { class: 'hint' }, 'Synced late: made on the phone inside the entry window, received after it closed (the phone was offline). Such entries count as entered.') : null);
  }
}

/** Questionnaires whose window closed: "2 of 3" answered, with the rate. */
function questionnaires(row) {
  const q = row && row.questionnaires;
  if (!q || !q.expected) return '—';
  return [adherence(q.rate), h('span', { class: 'hint block' }, `${q.entered} of ${q.expected}`)];
}

/** "2 synced late": entries made in time on the phone but received after the window. */
function syncedLate(row) {
  const n = row && row.entered_synced_late;
  return n ? h('span', { class: 'hint block' }, `${n} synced late`) : null;
}

function adherence(v) {
  if (v == null) return '—';
  const level = v >= 0.8 ? 'good' : v >= 0.5 ? 'fair' : 'poor';
  return badge(`ad-${level}`, pct(v));
}

export default { title: 'Participants', render };
