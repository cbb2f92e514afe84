// History: a chart of the last 30 days and every entry with its state —
// sent, sent late, waiting to send, or not accepted (with the server's reason).
import { chart, legend } from '../chart.js';
import { Offline, get } from '../api.js';
import { addDays, localDate, showDate, showTime } from '../dates.js';
import { h, notice } from '../dom.js';

const DAYS = 30;

function render(root, ctx) {
  const studyId = ctx.user.study_id;
  const today = localDate(ctx.profile && ctx.profile.timezone);
  const from = addDays(today, -(DAYS - 1));
  const dates = Array.from({ length: DAYS }, (_, i) => addDays(from, i));
  const figure = h('figure', { class: 'card chart-card' });
  const list = h('ul', { class: 'entries' });
  const status = h('div');
  root.append(h('h1', {}, 'History'), status, figure, h('h2', {}, 'Your entries'), list);
  let fetched = false;
  let rows = { entries: [], pending: [] };
  const onResize = () => drawChart();
  window.addEventListener('resize', onResize);
  load();
  return { update: load, leave: () => window.removeEventListener('resize', onResize) };

  async function load() {
    const [entries, pending] = await Promise.all([ctx.outbox.cached(studyId), ctx.outbox.pending(studyId)]);
    rows = { entries, pending };
    draw();
    if (fetched || !ctx.online) return;
    fetched = true;
    try {
      const fresh = await get(`/entries?from=${from}&to=${today}`);
      await ctx.outbox.cacheEntries(studyId, fresh.entries);
      rows.entries = await ctx.outbox.cached(studyId);
      status.replaceChildren();
      draw();
    } catch (error) {
      if (error instanceof Offline) return;
      status.replaceChildren(notice('error', `Could not load your entries from the server: ${error.message}`));
    }
  }

  function draw() {
    if (!ctx.online) status.replaceChildren(notice('info', 'You are offline: this is what the phone holds.'));
    drawChart();
    const byDate = new Map(rows.entries.map((e) => [e.date, e]));
    const items = [];
    for (const r of rows.pending) items.push({ date: r.date, values: r.body, record: r, at: r.saved_at });
    for (const e of rows.entries) {
      if (!rows.pending.some((r) => r.date === e.date)) items.push({ date: e.date, values: e, entry: e, at: e.received_at });
    }
    items.sort((a, b) => (a.date < b.date ? 1 : -1));
    list.replaceChildren(...items.map(item));
    if (!items.length) list.append(h('li', { class: 'empty' }, 'No entries yet.'));

    function item({ date, values, record, entry }) {
      const doses = (values.doses || []).length;
      const state = record
        ? record.status === 'refused'
          ? h('span', { class: 'badge refused' }, 'Not accepted')
          : h('span', { class: 'badge waiting' }, 'Waiting to send')
        : h('span', { class: `badge ${entry.late ? 'late' : 'sent'}` }, entry.late ? 'Sent late' : 'Sent');
      const superseded = record && byDate.get(date);
      return h('li', { class: 'entry-row' },
        h('div', { class: 'entry-head' }, h('strong', {}, showDate(date)), state),
        h('p', {}, `Back ${values.back_pain} · Leg ${values.leg_pain} · `,
          doses ? `${doses} medicine${doses > 1 ? 's' : ''}` : 'no opioids',
          (values.symptoms || []).length ? ` · ${values.symptoms.length} symptom${values.symptoms.length > 1 ? 's' : ''}` : ''),
        entry ? h('p', { class: 'hint' }, `Received ${showTime(entry.received_at)}${entry.version > 1 ? ` · changed (version ${entry.version})` : ''}`) : null,
        record && record.status === 'waiting' ? h('p', { class: 'hint' }, `Saved on this phone at ${showTime(record.saved_at)}`) : null,
        record && record.status === 'waiting' && record.attempts
          ? h('p', { class: 'hint' }, 'The server had a problem with this entry. The phone tries again by itself; your later entries are sent meanwhile.')
          : null,
        record && record.status === 'refused' ? [
          h('p', { class: 'refusal' }, record.error.message),
          superseded ? h('p', { class: 'hint' }, 'The server keeps the entry it had for this day.') : null,
          h('p', { class: 'hint' }, `${record.reported ? 'Your study team has been told.' : 'The phone will tell your study team as soon as it reaches the server.'} Your other entries are sent as usual. If this day needs correcting, call your study team; then you can remove this copy from the phone.`),
          h('button', { type: 'button', class: 'btn link', onclick: () => remove(record) }, `Remove the ${showDate(date)} entry from this phone`),
        ] : null);
    }
  }

  async function remove(record) {
    if (!window.confirm('Remove this entry from the phone? The server did not accept it and it will not be sent.')) return;
    await ctx.outbox.remove(record.client_id);
    ctx.announce('Entry removed from this phone.');
    load();
  }

  function drawChart() {
    const byDate = new Map(rows.entries.map((e) => [e.date, e]));
    for (const r of rows.pending) byDate.set(r.date, { ...r.body, mme: byDate.has(r.date) ? byDate.get(r.date).mme : null });
    const pick = (k) => dates.map((d) => (byDate.has(d) ? byDate.get(d)[k] : null));
    const back = pick('back_pain');
    const leg = pick('leg_pain');
    const mme = pick('mme');
    const filled = back.filter((v) => v != null);
    const description = filled.length
      ? `${filled.length} of ${DAYS} days entered. Back pain from ${Math.min(...filled)} to ${Math.max(...filled)}; latest ${filled[filled.length - 1]}.`
      : 'No entries in the last 30 days yet.';
    const width = Math.min(Math.max(figure.clientWidth - 24, 280), 760);
    figure.replaceChildren(
      h('figcaption', {}, 'Last 30 days'),
      chart({
        dates, width, height: 220, title: 'Pain and opioid use, last 30 days', description,
        lines: [
          { label: 'Back pain', values: back, className: 'chart-line back' },
          { label: 'Leg pain', values: leg, className: 'chart-line leg' },
        ],
        bars: { label: 'Opioids (MME)', values: mme, className: 'chart-bars' },
      }),
      legend([
        { label: 'Back pain (0–10, left)', className: 'back' },
        { label: 'Leg pain (0–10, left)', className: 'leg' },
        { label: 'Opioids, MME per day (right)', className: 'bars' },
      ]),
    );
  }
}

export default { title: 'History', render };
