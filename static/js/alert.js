// Red-flag advice: a modal alertdialog that cannot be missed, with the study
// team and a one-tap emergency call. Several alerts are shown one after another.
// Also what the phone says when the study team has closed the diary.
import { add, clear, h, notice } from './dom.js';

const queue = [];

export function showAlerts(alerts) {
  queue.push(...alerts);
  const dialog = document.getElementById('alert');
  if (!dialog.open) next();
}

function next() {
  const dialog = document.getElementById('alert');
  const alert = queue.shift();
  if (!alert) return;
  document.getElementById('alert-title').textContent = alert.title;
  const body = clear(document.getElementById('alert-body'));
  add(body, [
    h('p', { class: 'alert-message' }, alert.message),
    alert.symptoms && alert.symptoms.length
      ? [h('p', {}, 'You reported:'), h('ul', {}, alert.symptoms.map((s) => h('li', {}, s)))]
      : null,
    studyTeam(alert),
    alert.emergency_number
      ? h('a', { class: 'btn danger', href: `tel:${alert.emergency_number}` },
        `Emergency: call ${alert.emergency_number}`)
      : null,
  ]);
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  document.getElementById('alert-close').focus();
}

/**
 * A phone number as the site wrote it ("+1 (312) 555-0100 ext. 12") as a tel: URI
 * ("tel:+13125550100;ext=12"): digits and a leading +, nothing a dialer would trip on.
 * Null when no digits are left.
 */
function telHref(phone) {
  const [, number, ext] = /^(.*?)(?:\s*(?:ext\.?|x|#)\s*(\d+))?\s*$/i.exec(String(phone));
  const digits = number.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  if (!/\d/.test(digits)) return null;
  return `tel:${digits}${ext ? ';ext=' + ext : ''}`;
}

/**
 * Whom to call: the participant's own site by a large tap-to-call link when the server
 * sent its number (alerts and protocols from before it did have none), else the
 * protocol's words for the study team.
 */
function studyTeam(alert) {
  const href = alert.site_phone ? telHref(alert.site_phone) : null;
  if (!href) return h('p', {}, 'Study team: ', h('strong', {}, alert.study_team_contact));
  return h('p', {}, 'Call your study team: ',
    h('a', { class: 'btn', href, 'aria-label': `Call your study team: ${alert.site_phone}` },
      alert.site_phone));
}

export function initAlerts() {
  const dialog = document.getElementById('alert');
  document.getElementById('alert-close').addEventListener('click', () => {
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
    next();
  });
  // Escape must not dismiss the advice by accident: only the button does.
  dialog.addEventListener('cancel', (event) => event.preventDefault());
}

/**
 * The red-flag symptoms of an entry, in words, by the rule the server sent with the
 * protocol (its red-flag codes and fever threshold): the phone keeps no copy of it.
 * A protocol cached before the rule was served falls back to the ticked red flags.
 */
export function redFlagLabels(protocol, symptoms, temperatureC) {
  const rule = protocol.red_flag;
  const red = rule ? new Set(rule.codes)
    : new Set(protocol.symptoms.filter((s) => s.red_flag).map((s) => s.code));
  const codes = new Set(symptoms.filter((c) => red.has(c)));
  if (rule && temperatureC != null && temperatureC >= rule.fever_c) codes.add(rule.fever_code);
  const label = (code) => (protocol.symptoms.find((s) => s.code === code) || { label: code }).label;
  return [...codes].sort().map(label);
}

/** Advice built on the phone when the entry could not reach the server yet. */
export function localAlert(protocol, labels) {
  const rule = protocol.red_flag || {};
  return {
    kind: 'red_flag',
    title: rule.title || 'Contact your study team now',
    message: `${rule.advice || 'You reported a symptom your study team must know about today. Call your study team now.'}`
      + ' Your diary is saved on this phone and will be sent when you are online: do not wait for that.',
    symptoms: labels,
    study_team_contact: protocol.study_team_contact,
    // A protocol cached before the server sent the site's phone has none: the words above.
    site_phone: protocol.site_phone || null,
    emergency_number: protocol.emergency_number,
  };
}

/** The red flags a saved day reports, kept in view (not as the full alarm again). */
export function redFlagReminder(protocol, labels) {
  return h('div', { class: 'notice error' }, h('strong', {}, `You reported: ${labels.join('; ')}. `),
    'Your study team must know about it today. Call them if you have not yet.',
    studyTeam({ site_phone: protocol.site_phone, study_team_contact: protocol.study_team_contact }));
}

/** The study team closed the diary (a lock or a freeze): nothing can be entered. */
export function closedNotice(protocol) {
  return notice('info', h('strong', {}, 'Your diary is closed. '),
    'The study team has closed your diary, so there is nothing to enter. ',
    'Anything still waiting on this phone stays here. Questions? Contact ',
    h('strong', {}, protocol.study_team_contact), '.');
}
