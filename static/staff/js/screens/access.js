// The access log (admins, SPEC §15): who signed in, and who read which participant's
// record or which export, from which address. Filter, page back in time, download
// the same rows as CSV.
import { get } from '../../../js/api.js';
import { h } from '../../../js/dom.js';
import { field, put, query, select, showError, table } from '../ui.js';

const date = (at) => new Date(at).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const time = (at) => new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const PAGE = 100;
const FIELDS = ['event', 'participant', 'since', 'until'];
const EVENTS = [
  ['participant_read', "Read a participant's record"],
  ['export_read', 'Downloaded an export'],
  ['access_log_read', 'Read the access log'],
  ['sign_in', 'Signed in'],
  ['sign_in_failed', 'Sign-in failed'],
  ['second_factor_failed', 'Second factor failed'],
  ['recovery_code_used', 'Used a recovery code'],
  ['sign_out', 'Signed out'],
  ['password_reset_requested', 'Asked for a password reset'],
];
const EVENT_WORDS = Object.fromEntries(EVENTS);

function render(root, ctx, { params }) {
  const input = (name, attrs = {}) => h('input', { name, value: params.get(name) || '', autocomplete: 'off', ...attrs });
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the access log', onsubmit },
    field('Event', select('event', [['', 'Any event'], ...EVENTS], params.get('event') || '')),
    field('Participant (study ID)', input('participant', { type: 'text', spellcheck: 'false', placeholder: 'LBP-014' })),
    field('From', input('since', { type: 'date' })),
    field('To', input('until', { type: 'date' })),
    h('div', { class: 'field filter-action' }, h('button', { type: 'submit', class: 'btn' }, 'Show')));
  const download = h('a', { class: 'btn', download: true }, 'Download CSV');
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading the access log…'));
  const more = h('div', { class: 'actions' });
  put(root, h('h1', {}, 'Access log'),
    h('p', { class: 'lead' }, "Sign-ins, and every staff read of a participant's record or of an export, newest first. Dates are the study's days; times are shown in your browser's time zone."),
    form, h('div', { class: 'actions' }, download), list, more);
  let rows = [];
  load();

  function filters() {
    const values = Object.fromEntries(new FormData(form));
    return Object.fromEntries(FIELDS.map((k) => [k, (values[k] || '').trim()]));
  }

  function onsubmit(event) {
    event.preventDefault();
    history.replaceState(null, '', `#/access${query(filters())}`);
    rows = [];
    load();
  }

  async function load(beforeId) {
    const chosen = filters();
    download.href = `/api/v1/staff/access-log.csv${query(chosen)}`;
    let body;
    try {
      body = await get(`/staff/access-log${query({ ...chosen, before_id: beforeId, limit: PAGE })}`);
    } catch (error) {
      put(list, showError(form, error, 'Could not load the access log.'));
      more.replaceChildren();
      return;
    }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
    rows = beforeId ? [...rows, ...body.rows] : body.rows;
    put(list, table({ text: 'Access log, newest first', hidden: true }, [
      { title: 'When', cell: (r) => [date(r.at), h('span', { class: 'hint block' }, time(r.at))] },
      { title: 'Who', cell: (r) => who(r) },
      { title: 'Event', cell: (r) => EVENT_WORDS[r.event] || r.event },
      { title: 'Participant', cell: (r) => (r.participant ? h('a', { href: `#/participants/${encodeURIComponent(r.participant)}` }, r.participant) : '—') },
      { title: 'Site', cell: (r) => r.site || '—' },
      { title: 'What was read', className: 'wide', cell: (r) => (r.object ? h('code', {}, r.object.replace(/^\/api\/v1\/staff\//, '')) : '—') },
      { title: 'Client address', cell: (r) => r.client || '—' },
    ], rows, { empty: 'No access matches these filters.' }));
    more.replaceChildren();
    if (body.next_before_id) {
      const last = body.next_before_id;
      more.append(h('button', { type: 'button', class: 'btn', onclick: () => load(last) }, 'Older'));
    }
  }
}

function who(r) {
  if (r.staff_name) return [r.staff_name, h('span', { class: 'hint block' }, r.staff_email)];
  if (r.staff_email) return r.staff_email;
  return r.account ? [r.account, h('span', { class: 'hint block' }, 'as typed')] : '—';
}

export default { title: 'Access log', render };
