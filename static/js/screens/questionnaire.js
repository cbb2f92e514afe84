// One questionnaire, one question at a time: large labelled controls, progress,
// Back and Next, the questionnaire's skip logic applied as answers change. The
// answers are saved on the phone first (the same outbox as the diary), then sent.
import { closedNotice } from '../alert.js';
import { deviceTime } from '../dates.js';
import { h, notice, uid, uuid } from '../dom.js';
import { answered, flatten, limits, optionCode, optionText, shown, toSend } from '../questions.js';
import { loadQuestionnaires, refreshQuestionnaires } from './questionnaires.js';

function render(root, ctx, params) {
  const id = Number(params.get('id'));
  const studyId = ctx.user.study_id;
  const title = h('h1', {}, 'Questionnaire');
  const body = h('div', {}, h('p', {}, 'Loading…'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/questionnaires' }, '← All questionnaires')), title, body);
  let q = null;
  let answers = {};
  let step = 0;
  let dirty = false;
  let waitingToSend = false; // answers sent offline: say so when they reach the server
  let loading = load();
  return {
    update: () => {
      if (waitingToSend) checkSent();
      // Drawn once: a redraw must never take away what the participant is choosing.
      else if (!dirty && !q) loading = loading.then(() => (q ? null : load()));
    },
  };

  async function checkSent() {
    const now = (await loadQuestionnaires(ctx)).find((x) => x.id === id);
    if (!now || now.now === 'waiting') return;
    waitingToSend = false;
    done(now.now === 'refused' ? now : null);
  }

  function done(refused) {
    if (refused) {
      body.replaceChildren(notice('error', h('strong', {}, 'Not accepted. '), refused.record.error.message, fieldsText(refused.record.error.fields)),
        h('button', { type: 'button', class: 'btn', onclick: () => { step = 0; draw(); } }, 'Check my answers'));
      ctx.announce(`Not accepted: ${refused.record.error.message}`);
      return;
    }
    const message = waitingToSend ? 'Saved on this phone. It will be sent when you are online.' : 'Thank you: your answers were sent.';
    body.replaceChildren(notice(waitingToSend ? 'waiting' : 'done', h('strong', {}, message)),
      h('a', { class: 'btn', href: '#/questionnaires' }, 'Back to questionnaires'));
    ctx.announce(message);
  }

  async function load() {
    let list = await loadQuestionnaires(ctx);
    q = list.find((x) => x.id === id) || null;
    if ((!q || !q.questionnaire) && ctx.online) {
      try {
        await refreshQuestionnaires(ctx);
        list = await loadQuestionnaires(ctx);
        q = list.find((x) => x.id === id) || null;
      } catch {
        // drawn below from what the phone has
      }
    }
    if (!q || !q.questionnaire) {
      body.replaceChildren(notice('info', ctx.online ? 'This questionnaire could not be found.' : 'Connect to the internet once to load this questionnaire.'));
      return;
    }
    title.textContent = q.title;
    document.title = `${q.title} – Pain Diary`;
    answers = { ...((q.record && q.record.body.answers) || (q.response && q.response.answers) || {}) };
    if (ctx.profile && ctx.profile.diary_closed && ctx.protocol) {
      body.replaceChildren(closedNotice(ctx.protocol));
      return;
    }
    const changeable = q.now === 'completed' && q.response && Date.now() < Date.parse(q.window_closes);
    if (!changeable && q.now !== 'open' && q.now !== 'refused' && q.now !== 'waiting') {
      body.replaceChildren(notice('info', q.now === 'upcoming' ? 'This questionnaire is not open yet.'
        : q.now === 'completed' ? 'Thank you: this questionnaire was sent.' : 'The time to answer this questionnaire has ended.'));
      return;
    }
    draw();
  }

  /** The steps shown for the answers so far: display texts and questions, not groups. */
  function steps() {
    const visible = shown(q.questionnaire, answers);
    return flatten(q.questionnaire).filter(({ item }) => item.type !== 'group' && visible.has(item.linkId));
  }

  function draw(problem) {
    const list = steps();
    step = Math.min(step, list.length);
    if (step === list.length) {
      drawFinish(problem);
      return;
    }
    const { item, parent } = list[step];
    const control = field(item);
    const error = h('div', { class: 'errors' }, problem ? notice('error', problem) : null);
    const back = h('button', { type: 'button', class: 'btn', disabled: step === 0, onclick: () => { step -= 1; draw(); } }, 'Back');
    const next = h('button', { type: 'submit', class: 'btn primary' }, step === list.length - 1 ? 'Review' : 'Next');
    const form = h('form', {
      class: 'question', novalidate: true,
      onsubmit: (e) => { e.preventDefault(); forward(item, control); },
      onchange: () => { dirty = true; },
      oninput: () => { dirty = true; },
    },
      h('p', { class: 'progress' }, `Question ${step + 1} of ${list.length}`),
      parent ? h('p', { class: 'subhead' }, parent.text) : null,
      control.el, error,
      h('div', { class: 'actions' }, back, next));
    body.replaceChildren(form);
    const first = form.querySelector('input, textarea');
    if (first && problem) first.focus();
  }

  function forward(item, control) {
    const value = control.value();
    if (value && value.problem) {
      draw(value.problem);
      return;
    }
    if (answered(item)) {
      if (value == null) delete answers[item.linkId];
      else answers[item.linkId] = value;
      dirty = true;
      if (value == null && item.required) {
        draw('Please answer this question.');
        return;
      }
    }
    step += 1;
    draw();
    title.focus({ preventScroll: true });
  }

  function drawFinish(problem) {
    const correcting = Boolean(q.response);
    const reason = correcting ? h('input', { id: 'q-reason', type: 'text', maxlength: '500', required: true }) : null;
    const send = h('button', { type: 'submit', class: 'btn primary wide' }, correcting ? 'Send the change' : 'Send my answers');
    const count = Object.keys(toSend(q.questionnaire, answers)).length;
    body.replaceChildren(h('form', { class: 'question', novalidate: true, onsubmit: submit },
      h('h2', {}, 'Ready to send'),
      h('p', {}, `You answered ${count} question${count === 1 ? '' : 's'}. You can go back to change an answer.`),
      problem ? notice('error', problem) : null,
      reason ? h('div', { class: 'field reason' }, h('label', { for: 'q-reason' }, 'Why are you changing your answers?'), reason) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => { step -= 1; draw(); } }, 'Back'), send)));

    async function submit(event) {
      event.preventDefault();
      if (reason && reason.value.trim().length < 3) {
        drawFinish('Say briefly why you are changing your answers.');
        return;
      }
      const sent = { client_id: uuid(), answers: toSend(q.questionnaire, answers), device_time: deviceTime() };
      if (reason) sent.reason = reason.value.trim();
      await ctx.outbox.saveQuestionnaire(studyId, id, sent);
      dirty = false;
      if (navigator.onLine) await ctx.sync();
      const now = (await loadQuestionnaires(ctx)).find((x) => x.id === id);
      const state = now ? now.now : 'waiting';
      waitingToSend = state === 'waiting';
      if (waitingToSend) ctx.backgroundSync();
      done(state === 'refused' ? now : null);
      title.focus({ preventScroll: true });
    }
  }

  /** A labelled control for one item; value() gives its answer, null, or {problem}. */
  function field(item) {
    const fid = uid('q');
    const text = item.text || item.linkId;
    const current = answers[item.linkId];
    const hint = item.required ? null : h('p', { class: 'hint', id: `${fid}-hint` }, 'Optional: leave it empty to skip.');
    if (item.type === 'display') return { el: h('p', { class: 'display' }, text), value: () => null };
    if (item.type === 'choice' || item.type === 'boolean') {
      const options = item.type === 'boolean'
        ? [[true, 'Yes'], [false, 'No']]
        : (item.answerOption || []).map((o) => [optionCode(o), optionText(o)]);
      const inputs = options.map(([v]) => h('input', { type: 'radio', name: fid, value: String(v), checked: current === v }));
      // A numeric rating (0–10 and the like) as the diary's pain scale: a grid of numbers
      // with the end labels below, each option's full words kept for screen readers.
      const numeric = options.length >= 5 && options.every(([v]) => /^\d+$/.test(String(v)));
      const words = (label, v) => String(label).replace(new RegExp(`^${v}\\s*[—–-]\\s*`), '');
      const el = numeric
        ? h('fieldset', { class: 'scale', role: 'radiogroup', 'aria-labelledby': `${fid}-l`, 'aria-describedby': `${fid}-a` },
          h('legend', { id: `${fid}-l` }, text), hint,
          h('div', { class: 'scale-options' }, options.map(([v, label], i) => h('label', { class: 'scale-option' }, inputs[i],
            h('span', { 'aria-hidden': 'true' }, String(v)), h('span', { class: 'visually-hidden' }, String(label))))),
          h('p', { id: `${fid}-a`, class: 'anchors' },
            h('span', {}, `${options[0][0]} = ${words(options[0][1], options[0][0])}`),
            h('span', {}, `${options.at(-1)[0]} = ${words(options.at(-1)[1], options.at(-1)[0])}`)))
        : h('fieldset', { class: 'choices-list', role: 'radiogroup', 'aria-labelledby': `${fid}-l`, 'aria-describedby': hint ? `${fid}-hint` : null },
          h('legend', { id: `${fid}-l` }, text), hint,
          options.map(([, label], i) => h('label', { class: 'option' }, inputs[i], h('span', {}, label))));
      return {
        el,
        value() {
          const i = inputs.findIndex((x) => x.checked);
          return i < 0 ? null : options[i][0];
        },
      };
    }
    const { min, max } = limits(item);
    let input;
    if (item.type === 'text') {
      input = h('textarea', { id: fid, rows: '4', maxlength: String(item.maxLength || 2000), value: current || '' });
    } else if (item.type === 'date') {
      input = h('input', { id: fid, type: 'date', min, max, value: current || '' });
    } else if (item.type === 'string') {
      input = h('input', { id: fid, type: 'text', maxlength: String(item.maxLength || 2000), value: current || '' });
    } else {
      input = h('input', {
        id: fid, type: 'number', min, max, step: item.type === 'integer' ? '1' : 'any',
        inputmode: item.type === 'integer' ? 'numeric' : 'decimal', value: current == null ? '' : String(current),
      });
    }
    if (hint) input.setAttribute('aria-describedby', `${fid}-hint`);
    const range = min != null && max != null && item.type !== 'date' ? h('p', { class: 'hint' }, `From ${min} to ${max}.`) : null;
    return {
      el: h('div', { class: 'field' }, h('label', { for: fid, class: 'question-text' }, text), range, hint, input),
      value() {
        const raw = input.value.trim();
        if (raw === '') return null;
        if (item.type === 'string' || item.type === 'text' || item.type === 'date') return raw;
        const n = Number(raw);
        if (!Number.isFinite(n) || (item.type === 'integer' && !Number.isInteger(n))) {
          return { problem: item.type === 'integer' ? 'Enter a whole number.' : 'Enter a number.' };
        }
        if ((min != null && n < min) || (max != null && n > max)) return { problem: `Enter a number from ${min} to ${max}.` };
        return n;
      },
    };
  }
}

function fieldsText(fields) {
  const answers = (fields && fields.answers) || {};
  const parts = Object.entries(answers).map(([k, v]) => `${k}: ${[].concat(v).join(', ')}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

export default { title: 'Questionnaire', render };
