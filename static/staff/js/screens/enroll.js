// Enrollment: study ID, site, time zone, first injection date and baselines
// (pain, MME and the opioids taken at baseline).
// On success the activation code and a printable sheet with the QR code.
import { send } from '../../../js/api.js';
import { localDate } from '../../../js/dates.js';
import { announce, h, notice } from '../../../js/dom.js';
import * as drafts from '../drafts.js';
import { DRUGS } from '../labels.js';
import { activationSheet } from '../sheet.js';
import { busy, field, put, select, showError } from '../ui.js';
import { zoneChooser } from '../zones.js';

const DRAFT = 'enroll';

function render(root, ctx) {
  const sites = ctx.sites;
  const first = sites[0] || { code: '', timezone: 'America/Chicago' };
  // The server's zones, by country and city (it takes canonical names only).
  const zone = zoneChooser(first.timezone || 'America/Chicago', { hint: 'Where the participant lives; diary dates follow it.' });
  const site = select('site', sites.map((s) => [s.code, s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code]), first.code);
  site.addEventListener('change', async () => {
    const chosen = sites.find((s) => s.code === site.value);
    const fields = await zone.ready;
    if (fields && chosen && chosen.timezone) fields.set(chosen.timezone);
  });
  const status = h('div');
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Enroll and create the activation code');
  const form = h('form', { class: 'card form-grid', novalidate: true, onsubmit, 'aria-labelledby': 'enroll-h' },
    h('h2', { id: 'enroll-h', class: 'span' }, 'Participant'),
    field('Study ID', h('input', { type: 'text', name: 'study_id', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'LBP-014' }),
      { hint: 'No name, e-mail or phone number: the diary stores none.' }),
    field('Site', site),
    zone.el,
    field('First injection date (day 0)', h('input', { type: 'date', name: 'injection_date', required: true, value: localDate(first.timezone || undefined) })),
    field('Baseline back pain (0–10)', h('input', { type: 'number', name: 'baseline_back_pain', min: 0, max: 10, step: 1, required: true, inputmode: 'numeric' })),
    field('Baseline opioid use (MME per day)', h('input', { type: 'number', name: 'baseline_mme', min: 0, max: 50, step: 'any', required: true, inputmode: 'decimal' }),
      { hint: '0 to 50: more than 50 at baseline excludes the participant.' }),
    h('fieldset', { class: 'field span checks' },
      h('legend', {}, 'Opioids taken at baseline'),
      h('p', { class: 'hint' }, 'A later opioid with no MME factor (such as buprenorphine) that is not ticked here raises a flag for review.'),
      // The app's check style draws the box on the span (the input itself is hidden).
      ...Object.entries(DRUGS).map(([code, [name]]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'baseline_opioids', value: code }), h('span', {}, name)))),
    h('div', { class: 'span' }, status, h('div', { class: 'actions' }, submit)));
  const result = h('div');
  put(root, h('h1', {}, 'Enroll a participant'), form, result);
  if (!sites.length) put(status, notice('error', 'You have no site to enroll participants at.'));
  const draft = drafts.load(DRAFT);
  if (drafts.keep(form, DRAFT)) put(status, notice('info', 'Your unsaved enrollment was restored.'));
  // The zone's fields come with the server's list: a restored draft's zone is set then.
  zone.ready.then((fields) => {
    if (fields && draft && draft.timezone) fields.set(draft.timezone);
  });

  async function onsubmit(event) {
    event.preventDefault();
    const v = drafts.readForm(form);
    const body = {
      study_id: v.study_id.trim(),
      site: v.site,
      timezone: v.timezone,
      injection_date: v.injection_date,
      baseline_back_pain: v.baseline_back_pain === '' ? null : Number(v.baseline_back_pain),
      baseline_mme: v.baseline_mme === '' ? null : Number(v.baseline_mme),
      baseline_opioids: [...form.querySelectorAll('input[name="baseline_opioids"]:checked')].map((c) => c.value),
    };
    await busy(submit, async () => {
      try {
        const issued = await send('POST', '/staff/participants', body);
        drafts.drop(DRAFT);
        form.reset();
        status.replaceChildren();
        form.hidden = true;
        put(result, 
          notice('done', `${issued.study_id} is enrolled. Give the participant this sheet; the code is shown once.`),
          activationSheet(issued),
          h('div', { class: 'actions no-print' },
            h('a', { class: 'btn', href: `#/participants/${encodeURIComponent(issued.study_id)}` }, `Open ${issued.study_id}`),
            h('button', { type: 'button', class: 'btn', onclick: () => ctx.navigate('enroll') }, 'Enroll another participant')));
        announce(`${issued.study_id} enrolled. Activation code ${issued.activation_code}.`);
        result.querySelector('h2').tabIndex = -1;
        result.querySelector('h2').focus();
      } catch (error) {
        put(status, showError(form, error, 'Could not enroll the participant.'));
      }
    });
  }
}

export default { title: 'Enroll', render };
