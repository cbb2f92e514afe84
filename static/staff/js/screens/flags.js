// The flag inbox, in the server's working order (what needs action first: urgent
// open, urgent acknowledged, high open, …; oldest first), with each flag's
// escalation. Flags the server merges into one item (`merged_with`: simultaneous
// opioid findings) are one row, acknowledged together; what a row offers is what
// the server says the signed-in role may do (`actions`).
// Filters live in the URL (#/flags?status=&severity=&kind=&site=) so a
// filtered view can be bookmarked and survives a reload.
import { get, send } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import {
  KINDS, SEVERITIES, STATUSES, age, dateRange, flagSummary, instant, label, until,
} from '../labels.js';
import { badge, busy, entries, field, itemQuery, put, query, select, showError, table } from '../ui.js';

const UNRESOLVED = 'unresolved';
const PAGE = 50;

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
  const more = h('div', { class: 'actions' });
  let shown = [];
  put(root, h('h1', {}, 'Flags'), form,
    studyId ? h('p', { class: 'notice info' }, `Only the flags of ${studyId}. `, h('a', { href: '#/flags' }, 'Show every participant’s flags')) : null,
    status, count, list, more);
  load();

  function onchange() {
    const values = Object.fromEntries(new FormData(form));
    const q = query({ ...values, status: values.status === UNRESOLVED ? '' : values.status, study_id: studyId });
    history.replaceState(null, '', `#/flags${q}`);
    Object.assign(filters, values);
    load();
  }

  /** The first page (PAGE flags), or with `append` the next one after those shown. */
  async function load({ keepStatus = false, append = false } = {}) {
    const api = { ...filters, study_id: studyId, limit: PAGE, offset: append ? shown.length : 0 };
    if (api.status === 'all') api.status = '';
    try {
      const page = await get(`/staff/flags${query(api)}`);
      if (!keepStatus) status.replaceChildren();
      const firstNew = page.flags[0];
      shown = append ? [...shown, ...page.flags] : page.flags;
      draw(shown);
      const left = page.total - shown.length;
      put(more, left > 0 ? h('button', { type: 'button', class: 'btn', onclick: (e) => busy(e.currentTarget, async () => {
        await load({ keepStatus: true, append: true });
      }) }, `Show ${Math.min(left, PAGE)} more flag${Math.min(left, PAGE) === 1 ? '' : 's'}`) : null);
      if (append && firstNew) {
        const link = list.querySelector(`a[href="#/flags/${firstNew.id}"]`);
        if (link) link.focus();
      }
    } catch (error) {
      put(status, showError(null, error, 'Could not load the flags.'));
      list.replaceChildren();
    }
  }

  function draw(rows) {
    const items = inboxItems(rows);
    const open = items.filter((item) => item.some((f) => f.status === 'open'));
    const urgent = open.filter((item) => item[0].severity === 'urgent').length;
    const merged = items.filter((item) => item.length > 1).length;
    count.textContent = `${items.length} item${items.length === 1 ? '' : 's'} shown; ${open.length} open${urgent ? `, ${urgent} of them urgent` : ''}.`
      + (merged ? ` ${merged} item${merged === 1 ? ' merges' : 's merge'} simultaneous opioid flags.` : '');
    put(list, table({ text: 'Flags, what needs action first: by severity, unacknowledged before acknowledged, then by age', hidden: true }, [
      { title: 'Severity', cell: (item) => badge(`sev-${item[0].severity}`, label(SEVERITIES, item[0].severity)) },
      { title: 'Participant', cell: (item) => h('a', { href: `#/participants/${encodeURIComponent(item[0].study_id)}` }, item[0].study_id) },
      { title: 'Flag', className: 'wide', cell: (item) => [
        item.length > 1 ? h('span', { class: 'merged-note' }, `${item.length} findings, one item`) : null,
        item.map((f) => h('span', { class: 'finding' },
          h('a', { href: `#/flags/${f.id}`, class: 'flag-link' }, label(KINDS, f.kind)),
          h('span', { class: 'flag-summary' }, flagSummary(f)))),
      ] },
      { title: 'Diary dates', cell: (item) => dateRange(first(item, 'first_date'), last(item, 'last_date')) },
      { title: 'Opened', className: 'nowrap', cell: (item) => h('span', { title: instant(first(item, 'opened_at')) }, age(first(item, 'opened_at'))) },
      { title: 'Site', className: 'nowrap', cell: (item) => item[0].site },
      { title: 'Status', cell: (item) => [badge(`st-${itemStatus(item)}`, label(STATUSES, itemStatus(item))), escalation(item)] },
      { title: 'Action', bare: true, cell: (item) => action(item) },
    ], items.map((item) => Object.assign(item, { rowClass: `flag-row ${itemStatus(item)} sev-${item[0].severity}${item.length > 1 ? ' merged' : ''}` })),
    { empty: 'No flags match these filters.' }));
  }

  function action(item) {
    const [f] = item;
    const kinds = item.map((g) => label(KINDS, g.kind).toLowerCase()).join(' and ');
    if (item.some((g) => g.actions.includes('acknowledge'))) {
      return h('button', {
        type: 'button',
        class: 'btn small',
        'aria-label': `Acknowledge ${kinds} flag${item.length > 1 ? 's' : ''} of ${f.study_id}`,
        onclick: (event) => busy(event.currentTarget, async () => {
          try {
            await send('POST', `/staff/flags/${f.id}/acknowledge${itemQuery(item)}`);
            const text = `${item.map((g) => label(KINDS, g.kind)).join(' and ')} flag${item.length > 1 ? 's' : ''} of ${f.study_id} acknowledged.`;
            announce(text);
            put(status, notice('done', text));
            await load({ keepStatus: true });
          } catch (error) {
            put(status, showError(null, error, 'Could not acknowledge the flag.'));
            // Another flag joined the item since it was listed: list it as it is now.
            if (error && error.code === 'item_changed') await load({ keepStatus: true });
          }
        }),
      }, 'Acknowledge');
    }
    const verb = f.actions.includes('resolve') ? 'Resolve…' : f.actions.includes('close') ? 'Close…' : 'View';
    return h('a', { href: `#/flags/${f.id}`, class: 'btn small' }, verb, h('span', { class: 'visually-hidden' }, ` ${kinds} flag of ${f.study_id}`));
  }
}

/** The rows grouped into inbox items, in the server's order: a flag and the flags the
 * server merged with it (`merged_with`) that this list holds. */
export function inboxItems(rows) {
  const byId = new Map(rows.map((f) => [f.id, f]));
  const placed = new Set();
  const items = [];
  for (const f of rows) {
    if (placed.has(f.id)) continue;
    const item = [f, ...(f.merged_with || []).map((id) => byId.get(id)).filter((g) => g && !placed.has(g.id))];
    for (const g of item) placed.add(g.id);
    items.push(item);
  }
  return items;
}

const first = (item, key) => item.map((f) => f[key]).sort()[0];
const last = (item, key) => item.map((f) => f[key]).sort().at(-1);

/** The item's status: open while any of its flags is. */
function itemStatus(item) {
  if (item.some((f) => f.status === 'open')) return 'open';
  return item.some((f) => f.status === 'acknowledged') ? 'acknowledged' : 'resolved';
}

/** Escalated when and to whom; or, while nobody acknowledged it, when it escalates. */
function escalation(item) {
  const e = item.map((f) => f.escalation).find((x) => x && (x.escalated_at || x.escalates_at));
  if (!e) return null;
  if (e.escalated_at) {
    const to = e.escalated_to.map((s) => s.email).join(', ') || 'nobody (no investigator or admin)';
    return h('span', { class: 'escalation escalated' }, h('span', { title: instant(e.escalated_at) }, `Escalated ${age(e.escalated_at)}`), ` to ${to}`);
  }
  const due = new Date(e.escalates_at).getTime() <= Date.now();
  return h('span', { class: 'escalation pending', title: instant(e.escalates_at) },
    due ? 'Escalation due unless acknowledged' : `Escalates ${until(e.escalates_at)} unless acknowledged`);
}

export default { title: 'Flags', render };
