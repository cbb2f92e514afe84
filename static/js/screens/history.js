// History: a chart of the last 30 days of the diary and every entry with its state —
// sent, sent late, waiting to send, or not accepted (with the server's reason). An
// entry opens to show what it says, read-only, with a way to change it while the
// server's window for it is open.
import { chart, legend } from '../chart.js';
import { Offline, get } from '../api.js';
import { addDays, localDate, showDate, showTime } from '../dates.js';
import { entrySummary } from '../fields.js';
import { h, notice } from '../dom.js';

const DAYS = 30;

function render(root, ctx) {
  const studyId = ctx.user.study_id;
  const tz = ctx.profile && ctx.profile.timezone;
  const today = localDate(tz);
  const first = ctx.profile && ctx.profile.window && ctx.profile.window.first_date;
  // The chart begins with the diary: no day before it is named as if it could be missing.
  const from = first && first > addDays(today, -(DAYS - 1)) ? first : addDays(today, -(DAYS - 1));
  const dates = [];
  for (let d = from; d <= today; d = addDays(d, 1)) dates.push(d);
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
      const symptoms = (values.symptoms || []).length;
      const superseded = record && byDate.get(date);
      // Until the server's window for the day closes (a day not sent yet: today only).
      const held = entry || superseded;
      const editable = !(ctx.profile && ctx.profile.diary_closed) && Boolean(ctx.protocol) &&
        (date === today || date === addDays(today, -1)) && (!record || record.status === 'waiting') &&
        (held ? Date.now() < Date.parse(held.editable_until) : date === today);
      const state = record
        ? record.status === 'refused'
          ? h('span', { class: 'badge refused' }, 'Not accepted')
          : h('span', { class: 'badge waiting' }, 'Waiting to send')
        : h('span', { class: `badge ${entry.late ? 'late' : 'sent'}` }, entry.late ? 'Sent late' : 'Sent');
      // What still waits on the phone, or was refused, stays open: it may need the participant.
      return h('li', {}, h('details', { class: 'entry-row', open: Boolean(record) },
        h('summary', {},
          h('span', { class: 'entry-head' }, h('strong', {}, showDate(date)), state),
          h('span', { class: 'entry-line' }, `Back ${values.back_pain} · Leg ${values.leg_pain} · `,
            doses ? `${doses} medicine${doses > 1 ? 's' : ''}` : 'no opioids',
            symptoms ? ` · ${symptoms} symptom${symptoms > 1 ? 's' : ''}` : '')),
        ctx.protocol ? entrySummary(ctx.protocol, values) : null,
        entry ? h('p', { class: 'hint' }, `Sent ${showTime(entry.received_at, tz)}` + (entry.version > 1 ? ' · changed since, last at ' + showTime(entry.updated_at, tz) : '')) : null,
        record && record.status === 'waiting' ? h('p', { class: 'hint' }, `Saved on this phone at ${showTime(record.saved_at, tz)}`) : null,
        record && record.status === 'waiting' && record.attempts
          ? h('p', { class: 'hint' }, 'The server had a problem with this entry. The phone tries again by itself; your later entries are sent meanwhile.')
          : null,
        record && record.status === 'refused' ? [
          h('p', { class: 'refusal' }, record.error.message),
          superseded ? h('p', { class: 'hint' }, 'The server keeps the entry it had for this day.') : null,
          h('p', { class: 'hint' }, `${record.reported ? 'Your study team has been told.' : 'The phone will tell your study team as soon as it reaches the server.'} Your other entries are sent as usual. If this day needs correcting, call your study team; then you can remove this copy from the phone.`),
          h('button', { type: 'button', class: 'btn link', onclick: () => remove(record) }, `Remove the ${showDate(date)} entry from this phone`),
        ] : null,
        editable ? h('a', { class: 'btn', href: '#/today?' + (date === today ? '' : 'date=' + date + '&') + 'edit=1' }, `Change the ${showDate(date)} entry`)
          : record ? null : h('p', { class: 'hint' }, 'This day can no longer be changed here. If something is wrong, call your study team.')));
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
    const first = dates.length === 1 ? 'first day' : `first ${dates.length} days`;
    const span = dates.length === DAYS ? 'last 30 days' : `${first} of your diary`;
    const description = filled.length
      ? `${filled.length} of ${dates.length} days entered. Back pain from ${Math.min(...filled)} to ${Math.max(...filled)}; latest ${filled[filled.length - 1]}.`
      : `No entries in the ${span} yet.`;
    // No opioid in these days: no MME bars and no MME axis counting nothing.
    const opioids = dates.some((d) => byDate.has(d) && (byDate.get(d).doses || []).length);
    const width = Math.min(Math.max(figure.clientWidth - 24, 280), 760);
    figure.replaceChildren(...[
      h('figcaption', {}, span[0].toUpperCase() + span.slice(1)),
      chart({
        dates, width, height: 220, title: `Pain and opioid use, ${span}`, description,
        lines: [
          { label: 'Back pain', values: back, className: 'chart-line back' },
          { label: 'Leg pain', values: leg, className: 'chart-line leg' },
        ],
        bars: opioids ? { label: 'Opioids (MME)', values: mme, className: 'chart-bars' } : null,
      }),
      legend([
        { label: 'Back pain (0–10, left)', className: 'back' },
        { label: 'Leg pain (0–10, left)', className: 'leg' },
        opioids ? { label: 'Opioids, MME per day (right)', className: 'bars' } : null,
      ].filter(Boolean)),
      opioids ? null : h('p', { class: 'hint' }, 'No opioid medicines in these days.'),
    ].filter(Boolean));
  }
}

export default { title: 'History', render };
