// The flag inbox, in the server's working order (open first, then by severity,
// then oldest first);
// filters live in the URL (#/flags?status=&severity=&kind=&site=) so a
// filtered view can be bookmarked and survives a reload.
import { get, send } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import {
  KINDS, SEVERITIES, STATUSES, age, dateRange, flagSummary, instant, label,
} from '../labels.js';
import { badge, busy, entries, field, put, query, select, showError, table } from '../ui.js';

const UNRESOLVED = 'unresolved';

function render(root, ctx, { params }) {
  const filters = {
    status: params.get('status') || UNRESOLVED,
    severity: params.get('severity') || '',
    kind: params.get('kind') || '',
    site: params.get('site') || '',
  };
  const studyId = params.get('study_id') || '';
  const form = h('form', { class: 'filters', 'aria-label': 'Filter flags', onchange, onsubmit: (e) => { e.preventDefault(); load(); } },
    field('Status', select('status', [[UNRESOLVED, 'Open or acknowledged'], ['open', 'Open'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['all', 'All']], filters.status)),
    field('Severity', select('severity', [['', 'Any severity'], ...entries(SEVERITIES)], filters.severity)),
    field('Kind', select('kind', [['', 'Any kind'], ...entries(KINDS)], filters.kind)),
    field('Site', select('site', [['', 'All my sites'], ...ctx.sites.map((s) => [s.code, s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code])], filters.site)),
    h('div', { class: 'field filter-action' }, h('button', { type: 'submit', class: 'btn' }, 'Refresh')));
  const status = h('div');
  const list = h('div', { class: 'flag-list' }, h('p', { class: 'loading' }, 'Loading flags…'));
  const count = h('p', { class: 'hint', id: 'flag-count' });
  put(root, h('h1', {}, 'Flags'), form,
    studyId ? h('p', { class: 'notice info' }, `Only the flags of ${studyId}. `, h('a', { href: '#/flags' }, 'Show every participant’s flags')) : null,
    status, count, list);
  load();

  function onchange() {
    const values = Object.fromEntries(new FormData(form));
    const q = query({ ...values, status: values.status === UNRESOLVED ? '' : values.status, study_id: studyId });
    history.replaceState(null, '', `#/flags${q}`);
    Object.assign(filters, values);
    load();
  }

  async function load({ keepStatus = false } = {}) {
    const api = { ...filters, study_id: studyId };
    if (api.status === 'all') api.status = '';
    try {
      const { flags } = await get(`/staff/flags${query(api)}`);
      if (!keepStatus) status.replaceChildren();
      draw(flags);
    } catch (error) {
      put(status, showError(null, error, 'Could not load the flags.'));
      list.replaceChildren();
    }
  }

  function draw(rows) {
    const open = rows.filter((f) => f.status === 'open').length;
    const urgent = rows.filter((f) => f.status === 'open' && f.severity === 'urgent').length;
    count.textContent = `${rows.length} flag${rows.length === 1 ? '' : 's'} shown; ${open} open${urgent ? `, ${urgent} of them urgent` : ''}.`;
    put(list, table({ text: 'Flags, open first, then by severity and age', hidden: true }, [
      { title: 'Severity', cell: (f) => badge(`sev-${f.severity}`, label(SEVERITIES, f.severity)) },
      { title: 'Participant', cell: (f) => h('a', { href: `#/participants/${encodeURIComponent(f.study_id)}` }, f.study_id) },
      { title: 'Flag', className: 'wide', cell: (f) => [
        h('a', { href: `#/flags/${f.id}`, class: 'flag-link' }, label(KINDS, f.kind)),
        h('span', { class: 'flag-summary' }, flagSummary(f)),
      ] },
      { title: 'Diary dates', cell: (f) => dateRange(f.first_date, f.last_date) },
      { title: 'Opened', className: 'nowrap', cell: (f) => h('span', { title: instant(f.opened_at) }, age(f.opened_at)) },
      { title: 'Site', className: 'nowrap', cell: (f) => f.site },
      { title: 'Status', className: 'nowrap', cell: (f) => badge(`st-${f.status}`, label(STATUSES, f.status)) },
      { title: 'Action', bare: true, cell: (f) => action(f) },
    ], rows.map((f) => ({ ...f, rowClass: `flag-row ${f.status} sev-${f.severity}` })), { empty: 'No flags match these filters.' }));
  }

  function action(f) {
    if (f.status !== 'open') return h('a', { href: `#/flags/${f.id}`, class: 'btn small' }, f.status === 'resolved' ? 'View' : 'Resolve…', h('span', { class: 'visually-hidden' }, ` flag ${f.id} of ${f.study_id}`));
    return h('button', {
      type: 'button',
      class: 'btn small',
      'aria-label': `Acknowledge ${label(KINDS, f.kind).toLowerCase()} flag of ${f.study_id}`,
      onclick: (event) => busy(event.currentTarget, async () => {
        try {
          await send('POST', `/staff/flags/${f.id}/acknowledge`);
          announce(`Flag of ${f.study_id} acknowledged.`);
          put(status, notice('done', `${label(KINDS, f.kind)} flag of ${f.study_id} acknowledged.`));
          await load({ keepStatus: true });
        } catch (error) {
          put(status, showError(null, error, 'Could not acknowledge the flag.'));
        }
      }),
    }, 'Acknowledge');
  }
}

export default { title: 'Flags', render };
