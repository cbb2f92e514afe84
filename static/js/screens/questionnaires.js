// Questionnaires: what the study asks beside the daily diary — to answer now,
// coming up (with the date the window opens), sent, missed. Drawn from the copy
// the phone keeps, so it works without signal; refreshed from the server.
import { closedNotice } from '../alert.js';
import { Offline, get } from '../api.js';
import { showDate, zoned } from '../dates.js';
import { add, h, notice } from '../dom.js';

/** open | upcoming | completed | missed | closed by the phone's clock, or waiting /
 * refused while answers sit in the outbox. */
export function statusNow(q, record, now = Date.now()) {
  if (record) return record.status === 'refused' ? 'refused' : 'waiting';
  if (q.status === 'completed' || q.status === 'missed') return q.status;
  if (now < Date.parse(q.window_opens)) return 'upcoming';
  return now < Date.parse(q.window_closes) ? 'open' : 'closed';
}

/** The first and last local dates of a window (it closes at local midnight). */
const firstDay = (q, tz) => zoned(tz, new Date(q.window_opens)).date;
const lastDay = (q, tz) => zoned(tz, new Date(Date.parse(q.window_closes) - 1)).date;

/** Fetch the list and every questionnaire still to answer, and keep them on the phone. */
export async function refreshQuestionnaires(ctx) {
  const { questionnaires } = await get('/questionnaires');
  // The questions themselves for what is open or opens within a week (answerable
  // offline), and the answers already sent while their window is open (to change them).
  const now = Date.now();
  const soon = now + 7 * 86400000;
  const wanted = (q) => q.status === 'open'
    || (q.status === 'upcoming' && Date.parse(q.window_opens) < soon)
    || (q.status === 'completed' && now < Date.parse(q.window_closes));
  const details = await Promise.all(questionnaires.map((q) => (wanted(q) ? get(`/questionnaires/${q.id}`) : q)));
  await ctx.outbox.cacheQuestionnaires(ctx.user.study_id, details);
  return details;
}

export async function loadQuestionnaires(ctx) {
  const studyId = ctx.user.study_id;
  const [list, pending] = await Promise.all([ctx.outbox.questionnaires(studyId), ctx.outbox.pendingQuestionnaires(studyId)]);
  const waiting = new Map(pending.map((r) => [r.occurrence_id, r]));
  return list
    .map((q) => ({ ...q, now: statusNow(q, waiting.get(q.id)), record: waiting.get(q.id) || null }))
    .sort((a, b) => (a.due_date < b.due_date ? -1 : a.due_date > b.due_date ? 1 : a.id - b.id));
}

function render(root, ctx) {
  const tz = ctx.profile && ctx.profile.timezone;
  const body = h('div', {}, h('p', {}, 'Loading…'));
  root.append(h('h1', {}, 'Questionnaires'),
    h('p', { class: 'lead' }, 'Besides your daily diary, your study asks these questions from time to time.'), body);
  let fetched = false;
  load();
  return { update: load, questionnairesChanged: load };

  async function load() {
    draw(await loadQuestionnaires(ctx));
    if (fetched || !ctx.online) return;
    fetched = true;
    try {
      await refreshQuestionnaires(ctx);
      draw(await loadQuestionnaires(ctx));
    } catch (error) {
      if (!(error instanceof Offline)) body.prepend(notice('error', `Could not load your questionnaires: ${error.message}`));
    }
  }

  function draw(list) {
    const now = list.filter((q) => ['open', 'waiting', 'refused'].includes(q.now));
    const coming = list.filter((q) => q.now === 'upcoming').slice(0, 5);
    const done = list.filter((q) => q.now === 'completed').reverse();
    const changeable = (q) => q.questionnaire && Date.now() < Date.parse(q.window_closes);
    const missed = list.filter((q) => q.now === 'missed' || q.now === 'closed');
    const item = (q, extra) => h('li', { class: 'card questionnaire' }, h('h3', {}, q.title), extra);
    body.replaceChildren();
    if (ctx.profile && ctx.profile.diary_closed && ctx.protocol) {
      body.append(closedNotice(ctx.protocol));
      return;
    }
    add(body, [
      h('h2', {}, 'To answer now'),
      now.length ? h('ul', { class: 'plain' }, now.map((q) => item(q, [
        q.now === 'waiting' ? notice('waiting', h('strong', {}, 'Saved on this phone — waiting to send. '), 'It is sent automatically when you are online.') : null,
        q.now === 'refused' ? notice('error', h('strong', {}, 'Not accepted. '), q.record.error.message) : null,
        h('p', {}, `Please answer by ${showDate(lastDay(q, tz), { weekday: 'long', day: 'numeric', month: 'long' })}.`),
        h('a', { class: 'btn primary wide', href: `#/questionnaire?id=${q.id}` },
          q.now === 'open' ? `Answer: ${q.title}` : `Open: ${q.title}`),
      ]))) : h('p', {}, ctx.online || list.length ? 'Nothing to answer now. Thank you!' : 'Connect to the internet once to load your questionnaires.'),
      coming.length ? [h('h2', {}, 'Coming up'), h('ul', { class: 'plain' }, coming.map((q) => h('li', {},
        `${q.title}: from ${showDate(firstDay(q, tz), { weekday: 'short', day: 'numeric', month: 'short' })}`)))] : null,
      done.length ? [h('h2', {}, 'Sent'), h('ul', { class: 'plain' }, done.map((q) => h('li', {},
        `✓ ${q.title} (${showDate(q.due_date)})${q.synced_late ? ', sent late' : ''}`,
        changeable(q) ? [' · ', h('a', { href: `#/questionnaire?id=${q.id}` }, 'Change my answers')] : null)))] : null,
      missed.length ? [h('h2', {}, 'Missed'), h('ul', { class: 'plain' }, missed.map((q) => h('li', {},
        `${q.title} (${showDate(q.due_date)}): the time to answer it ended.`)))] : null,
    ]);
  }
}

export default { title: 'Questionnaires', render };
