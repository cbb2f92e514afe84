// The audit trail (admins): browse by object type (the server's list), object, actor
// and dates, page back in time, read each change as "field: old → new", and see the
// result of the hash-chain check.
import { get } from '../../../js/api.js';
import { announce, h, notice } from '../../../js/dom.js';
import { plural } from '../labels.js';
import { field, pageControls, put, query, select, showError, table } from '../ui.js';
import { changeList } from '../values.js';

const date = (at) => new Date(at).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const time = (at) => new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const PAGE = 100;
const FIELDS = ['object_type', 'object_id', 'actor_type', 'actor_id', 'study_id', 'from', 'to'];

function render(root, ctx, { params }) {
  const input = (name, attrs = {}) => h('input', { type: 'text', name, value: params.get(name) || '', autocomplete: 'off', spellcheck: 'false', ...attrs });
  // The trail's own object types, in words, from the server (GET /staff/audit/object-types).
  const typeChoice = select('object_type', [['', 'Any type']], '');
  const typeWords = new Map();
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the audit trail', onsubmit, novalidate: true },
    field('Object type', typeChoice),
    field('Object ID', input('object_id')),
    field('Actor type', select('actor_type', [['', 'Any actor'], ['staff', 'Staff'], ['participant', 'Participant'], ['system', 'System'], ['cli', 'Command line']], params.get('actor_type') || '')),
    field('Actor ID', input('actor_id')),
    field('Study ID', input('study_id')),
    field('From date', input('from', { type: 'date' })),
    field('To date', input('to', { type: 'date' })),
    h('div', { class: 'field filter-action' }, h('button', { type: 'submit', class: 'btn' }, 'Show')));
  const chain = h('div');
  const jobs = h('div', {}, h('p', { class: 'loading' }, 'Loading the scheduled jobs…'));
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading the audit trail…'));
  const more = h('div', { class: 'actions' });
  put(root, h('h1', {}, 'Audit trail'), chain,
    h('section', { class: 'card', 'aria-labelledby': 'jobs-h' }, h('h2', { id: 'jobs-h' }, 'Scheduled jobs'), jobs),
    h('h2', {}, 'Changes, newest first'),
    h('p', { class: 'lead' }, "Every change to the study's data and accounts. From date and To date are the study's days; times are shown in your browser's time zone."),
    form, list, more);
  let rows = [];
  loadTypes().then(() => load());
  loadJobs();

  async function loadTypes() {
    const wanted = params.get('object_type') || '';
    let types = [];
    try {
      ({ object_types: types } = await get('/staff/audit/object-types'));
    } catch {
      // the filter offers "Any type" (and the one in the address) until the list answers
    }
    for (const t of types) typeWords.set(t.type, t.label);
    const options = [['', 'Any type'], ...types.map((t) => [t.type, t.label])];
    if (wanted && !typeWords.has(wanted)) options.push([wanted, wanted]);
    typeChoice.replaceChildren(...select('object_type', options, wanted).children);
    typeChoice.value = wanted;
  }

  /** The latest run of each job, and every participant a job had to carry on without. */
  async function loadJobs() {
    let status;
    try {
      status = await get('/staff/jobs');
    } catch (error) {
      put(jobs, showError(null, error, 'Could not load the scheduled jobs.'));
      return;
    }
    const when = (at) => (at ? `${date(at)} ${time(at)}` : '—');
    put(jobs,
      status.failures.length
        ? notice('error', `A job could not process ${plural(status.failures.length, 'participant')}. It carries on with everyone else and retries them on every run; correct their data (e.g. an injection date).`)
        : notice('done', 'No job is failing on any participant.'),
      status.failures.length ? table('Participants a job is failing on', [
        { title: 'Participant', cell: (f) => h('a', { href: `#/participants/${encodeURIComponent(f.study_id)}` }, f.study_id) },
        { title: 'Site', cell: (f) => f.site },
        { title: 'Job', cell: (f) => f.job_id.replaceAll('_', ' ') },
        { title: 'Failing since', cell: (f) => when(f.first_failed_at) },
        { title: 'Runs failed', className: 'num', cell: (f) => String(f.failures) },
        { title: 'Error', cell: (f) => f.error },
      ], status.failures) : null,
      table({ text: 'Latest run of each job', hidden: false }, [
        { title: 'Job', cell: (r) => r.job_id.replaceAll('_', ' ') },
        { title: 'As of', cell: (r) => when(r.as_of) },
        { title: 'Finished', cell: (r) => when(r.finished_at) },
        { title: 'Result', cell: (r) => (r.status === 'ok' ? 'OK' : r.status === 'error' ? `Error: ${r.error || ''}` : 'Running') },
      ], status.runs, { empty: 'No job has run yet.' }));
  }

  function onsubmit(event) {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    history.replaceState(null, '', `#/audit${query(values)}`);
    rows = [];
    load();
  }

  async function load(beforeId) {
    const values = Object.fromEntries(new FormData(form));
    const filters = Object.fromEntries(FIELDS.map((k) => [k, (values[k] || '').trim()]));
    let body;
    try {
      body = await get(`/staff/audit${query({ ...filters, before_id: beforeId, limit: PAGE })}`);
    } catch (error) {
      put(beforeId ? more : list, showError(form, error, 'Could not load the audit trail.'));
      if (!beforeId) more.replaceChildren();
      return false;
    }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
    if (!beforeId) showChain(body.chain); // older pages keep the first page's check
    rows = beforeId ? [...rows, ...body.rows] : body.rows;
    put(list, table({ text: 'Audit trail, newest first', hidden: true }, [
      { title: '#', className: 'num', cell: (r) => String(r.id) },
      { title: 'When', cell: (r) => [date(r.at), h('span', { class: 'hint block' }, time(r.at))] },
      { title: 'Actor', cell: (r) => [
        h('a', { href: `#/audit${query({ actor_type: r.actor_type, actor_id: r.actor_id })}`, title: 'Show only this actor' }, `${r.actor_type}${r.actor_id ? ` ${r.actor_id}` : ''}`),
        r.actor_label ? h('span', { class: 'hint block' }, r.actor_label) : null] },
      { title: 'Action', cell: (r) => h('code', {}, r.action) },
      { title: 'Object', cell: (r) => h('a', { href: `#/audit${query({ object_type: r.object_type, object_id: r.object_id })}`, title: 'Show only this object' },
        `${typeWords.get(r.object_type) || r.object_type}${r.object_id != null ? ` ${r.object_id}` : ''}`) },
      { title: 'Change', className: 'wide', cell: (r) => change(r) },
    ], rows, { empty: 'No audit rows match.' }));
    const next = body.next_before_id;
    put(more, pageControls({
      shown: rows.length, one: 'row', step: PAGE, list, label: `Show ${PAGE} older rows`,
      onMore: next ? () => load(next) : null,
    }));
    if (beforeId) announce(`Showing ${plural(rows.length, 'row')}.`);
    return true;
  }

  function showChain(c) {
    if (!c) {
      chain.replaceChildren();
      return;
    }
    put(chain, c.ok
      ? notice('done', `Hash chain intact: ${c.rows} rows checked.`)
      : notice('error', `Hash chain broken at row ${c.broken_id}: ${c.problem || 'the row does not match its hash'}. Report this to the study's data manager.`));
  }
}

/** The row's reason and its values in words: "Back pain: 4 → 7" for a change, the
 * values alone for a record made. */
function change(r) {
  return [
    r.reason ? h('p', {}, h('strong', {}, 'Reason: '), r.reason) : null,
    changeList(r.before, r.after),
  ];
}

export default { title: 'Audit', render };
