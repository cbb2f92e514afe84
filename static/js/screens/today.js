// Today: the day's entry in under a minute — pain, opioid doses, symptoms,
// optional temperature and note — on one short page: the scales are one row each,
// "None of these" folds the checklist away and the extras are folded until wanted.
// Saved to the phone first, then sent.
import { closedNotice, localAlert, redFlagLabels, redFlagReminder } from '../alert.js';
import { Offline, get } from '../api.js';
import { addDays, deviceTime, showDate, showTime, zoned } from '../dates.js';
import { h, notice, uuid } from '../dom.js';
import { dosesSection } from '../doses.js';
import { loadQuestionnaires } from './questionnaires.js';
import { entrySummary as summary, extrasSection, fieldText, painScale, reasonField, symptomsSection } from '../fields.js';

function render(root, ctx, params) {
  const view = { dirty: false, update: () => { if (!view.dirty) load(); }, questionnairesChanged: () => showAsked() };
  const tz = ctx.profile && ctx.profile.timezone;
  const now = zoned(tz);
  const today = now.date;
  // The entry window is the protocol's (cached from the server): until the phone has it,
  // only today can be entered.
  const closes = ctx.protocol && ctx.protocol.window_closes_next_day_at;
  const yesterday = addDays(today, -1);
  const yesterdayOpen = Boolean(closes) && now.time < closes &&
    !(ctx.profile && ctx.profile.window && yesterday < ctx.profile.window.first_date);
  const date = params.get('date') === yesterday && yesterdayOpen ? yesterday : today;
  const isToday = date === today;
  const dayWord = isToday ? 'today' : 'yesterday';
  const studyId = ctx.user.study_id;
  let entry = null;
  let pending = null;
  let editing = null; // the values the form starts from, when open
  let fetched = false;
  let previous = false; // the day before has an entry (sent or waiting)
  let wantEdit = params.get('edit') === '1'; // opened from History to change the day

  const title = h('h1', {}, isToday ? 'Today' : 'Yesterday');
  const sub = h('p', { class: 'lead' }, showDate(date, { weekday: 'short', day: 'numeric', month: 'short' }),
    ctx.profile && isToday ? ` · study day ${ctx.profile.day}` : '');
  const body = h('div', { class: 'today' }, h('p', {}, 'Loading…'));
  const asked = h('div'); // an open questionnaire, if any: after the day's diary
  root.append(h('div', { class: 'day-head' }, title, sub), body, asked);
  load();
  return view;

  async function load() {
    showAsked();
    await read();
    if (!view.dirty) draw(offerYesterday());
    if (fetched || !ctx.online) return;
    fetched = true;
    try {
      const state = () => `${entry && entry.version}|${previous}`;
      const before = state();
      const fresh = await get(`/entries?from=${addDays(date, -1)}&to=${date}`);
      await ctx.outbox.cacheEntries(studyId, fresh.entries);
      await read();
      if (!view.dirty && state() !== before) draw(offerYesterday());
    } catch (error) {
      if (!(error instanceof Offline)) throw error;
    }
  }

  async function showAsked() {
    if (ctx.profile && ctx.profile.diary_closed) return asked.replaceChildren();
    const open = (await loadQuestionnaires(ctx)).filter((q) => q.now === 'open');
    asked.replaceChildren(...open.slice(0, 2).map((q) => notice('info', `Your study asks you to answer: ${q.title}. `,
      h('a', { href: `#/questionnaire?id=${q.id}` }, 'Answer it now'))));
  }

  async function read() {
    const [cached, waiting] = await Promise.all([ctx.outbox.cached(studyId), ctx.outbox.pending(studyId)]);
    entry = cached.find((e) => e.date === date) || null;
    pending = waiting.find((r) => r.date === date) || null;
    previous = cached.some((e) => e.date === addDays(date, -1)) || waiting.some((r) => r.date === addDays(date, -1));
  }

  function offerYesterday() {
    return isToday && yesterdayOpen && !previous;
  }

  function draw(offerYesterday) {
    const p = ctx.protocol;
    body.replaceChildren();
    if (!p) {
      body.append(ctx.loadError
        ? notice('error', `The diary questions could not be loaded: ${ctx.loadError}`)
        : ctx.online ? h('p', {}, 'Loading the diary questions…')
          : notice('info', 'Connect to the internet once to load the diary questions.'));
      return;
    }
    if (ctx.profile && ctx.profile.diary_closed) {
      body.append(closedNotice(p));
      if (entry) body.append(summary(p, entry));
      return;
    }
    if (offerYesterday) {
      body.append(h('p', { class: 'notice info' }, `Yesterday's diary is missing. You can still fill it in until ${closes}. `,
        h('a', { href: `#/today?date=${yesterday}` }, "Fill in yesterday's diary")));
    }
    if (wantEdit && (entry || (pending && pending.status === 'waiting'))) {
      editing = pending ? pending.body : entry;
      wantEdit = false;
    }
    if (editing) {
      body.append(form(p, editing));
      return;
    }
    const shown = pending ? pending.body : entry;
    const labels = shown ? redFlagLabels(p, shown.symptoms || [], shown.temperature_c) : [];
    const reminder = labels.length ? redFlagReminder(p, labels) : null;
    if (pending && pending.status === 'refused') {
      body.append(notice('error', h('strong', {}, 'This entry was not accepted. '), pending.error.message, fieldText(pending.error.fields)),
        summary(p, pending.body),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn primary', onclick: () => edit(pending.body) }, 'Edit and send again'),
          h('button', { type: 'button', class: 'btn', onclick: discard }, 'Remove from this phone')));
    } else if (pending) {
      body.append(notice('waiting', h('strong', {}, 'Saved on this phone — waiting to send. '),
        'It is sent automatically when you are online.'), reminder || '', summary(p, pending.body),
      h('button', { type: 'button', class: 'btn', onclick: () => edit(pending.body) }, 'Change this entry'));
    } else if (entry) {
      body.append(notice('done', h('strong', {}, `✓ ${isToday ? "Today's" : "Yesterday's"} diary is done.`),
        ` Sent at ${showTime(entry.received_at, tz)}${entry.late ? ' (late)' : ''}. Thank you!`), reminder || '', summary(p, entry),
      h('button', { type: 'button', class: 'btn', onclick: () => edit(entry) }, `Change ${dayWord}'s entry`));
    } else {
      body.append(form(p, null));
    }
  }

  function edit(values) {
    editing = values;
    draw(false);
    const first = body.querySelector('input');
    if (first) first.focus();
  }

  async function discard() {
    if (!window.confirm('Remove this entry from the phone? It was not accepted by the server and will not be sent.')) return;
    await ctx.outbox.remove(pending.client_id);
    ctx.announce('Entry removed from this phone.');
    load();
  }

  function form(p, start) {
    const correcting = !!entry; // the server already holds an entry: a change needs a reason
    const errors = h('div', { class: 'errors', tabindex: '-1' });
    const back = painScale('back_pain', `Back pain ${dayWord}`, p.scales.back_pain, start && start.back_pain);
    const leg = painScale('leg_pain', `Leg pain ${dayWord}`, p.scales.leg_pain, start && start.leg_pain);
    const doses = dosesSection(p, start, {
      dayWord,
      offerSame: !entry,
      sameLabel: previous ? `Same as ${isToday ? 'yesterday' : 'the day before'}` : 'Same as last time',
      changed: () => { view.dirty = true; },
      announce: ctx.announce,
    });
    const extra = extrasSection(p, start);
    const symptoms = symptomsSection(p, start, dayWord, extra.open);
    const reason = correcting ? reasonField() : null;
    const el = h('form', { class: 'entry', novalidate: true, onsubmit: submit, oninput: () => { view.dirty = true; } },
      errors, back.el, leg.el, doses.el, symptoms.el, extra.el, reason && reason.el,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn primary wide' }, correcting || pending ? 'Save the change' : `Save ${dayWord}'s diary`),
        start ? h('button', { type: 'button', class: 'btn', onclick: cancel }, 'Cancel') : null));
    return el;

    function cancel() {
      editing = null;
      view.dirty = false;
      draw(false);
    }

    async function submit(event) {
      event.preventDefault();
      const problems = [];
      const value = {
        back_pain: back.value(problems),
        leg_pain: leg.value(problems),
        doses: doses.value(problems),
        symptoms: symptoms.value(problems),
        temperature_c: extra.temperature(problems),
        note: extra.note(),
      };
      if (reason) value.reason = reason.value(problems);
      if (problems.length) {
        errors.replaceChildren(notice('error', h('strong', {}, 'Please check: '),
          h('ul', {}, problems.map(([, text]) => h('li', {}, text)))));
        problems[0][0].focus();
        return;
      }
      errors.replaceChildren();
      value.client_id = uuid();
      value.device_time = deviceTime();
      if (!value.reason) delete value.reason;
      // The alarm shows once for a day's red flags: a change shows it again only when
      // it adds one (the server answers a change the same way).
      const labels = redFlagLabels(p, value.symptoms, value.temperature_c);
      const before = start ? redFlagLabels(p, start.symptoms || [], start.temperature_c) : [];
      const added = labels.filter((l) => !before.includes(l));
      await ctx.outbox.save(studyId, date, value);
      if (labels.length && !added.length) await ctx.outbox.markAdvised(value.client_id);
      view.dirty = false;
      editing = null;
      wantEdit = false;
      if (navigator.onLine) await ctx.sync();
      await load();
      if (pending && pending.status === 'waiting') {
        ctx.backgroundSync();
        ctx.announce('Saved on this phone. It will be sent when you are online.');
        if (added.length) {
          await ctx.outbox.markAdvised(value.client_id);
          ctx.showAlerts([localAlert(p, labels)]);
        }
      } else if (pending) {
        ctx.announce(`Not accepted: ${pending.error.message}`);
      } else {
        ctx.announce(`Saved. ${isToday ? "Today's" : "Yesterday's"} diary is done.`);
      }
      title.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }
}

export default { title: 'Today', render };
