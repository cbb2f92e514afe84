// Words for the codes the API uses (Appendix A), and formatting of dates,
// instants and numbers for staff.
import { showDate } from '../../js/dates.js';

export const KINDS = {
  red_flag_symptom: 'Red-flag symptom',
  pain_flare: 'Pain flare',
  opioid_threshold: 'Opioid use above threshold',
  opioid_increase: 'Opioid increase',
  opioid_unconvertible: 'Opioid without MME factor',
  missed_entries: 'Missed entries',
  questionnaire_missed: 'Missed questionnaire',
  questionnaire_answer: 'Questionnaire answer',
};
export const SEVERITIES = { urgent: 'Urgent', high: 'High', low: 'Low' };
export const STATUSES = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };
/** A participant's place in the study (not a flag's status). */
export const PARTICIPANT_STATUSES = { active: 'Active', withdrawn: 'Withdrawn', completed: 'Completed' };
export const OUTCOMES = {
  not_ae: 'Not an adverse event',
  adverse_event: 'Adverse event',
  auto_resolved: 'Resolved by the data (no missed date left)',
};
/** How the study team tried to reach a participant, and what came of it. */
export const CONTACT_METHODS = {
  phone: 'Phone call',
  sms: 'Text message (SMS)',
  email: 'E-mail',
  in_person: 'In person',
  other: 'Other',
};
export const CONTACT_OUTCOMES = {
  reached: 'Reached (spoke or replied)',
  left_message: 'Left a message',
  no_answer: 'No answer',
  wrong_contact: 'Wrong or unusable number or address',
  other: 'Other',
};
/** Staff roles, as a sentence names who may do something: "Coordinators and investigators". */
const ROLE_PLURALS = { coordinator: 'coordinators', investigator: 'investigators', admin: 'admins' };
export function roleList(roles) {
  const names = (roles || []).map((r) => ROLE_PLURALS[r] || `${r}s`);
  const text = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0] || '';
  return text.charAt(0).toUpperCase() + text.slice(1);
}
/** A resolved flag's outcome in words; none on a resolved flag: closed with a reason. */
export function outcomeText(flag) {
  if (flag.outcome) return label(OUTCOMES, flag.outcome);
  return flag.status === 'resolved' ? 'Closed with a reason (no clinical outcome)' : '—';
}
export const RELATED = {
  not_related: 'Not related',
  unlikely: 'Unlikely',
  possible: 'Possible',
  probable: 'Probable',
  definite: 'Definite',
};
export const AE_SOURCES = {
  participant_report: 'Participant report',
  site_visit: 'Site visit',
  interview: 'Participant interview',
  clinical_exam: 'Clinical exam',
  diary: 'Diary review',
  flag: 'Flag',
};
/** The sources staff may choose for an adverse event no flag raised. */
export const MANUAL_AE_SOURCES = ['participant_report', 'site_visit', 'interview', 'clinical_exam', 'diary'];
export const SERIOUSNESS = {
  death: 'Resulted in death',
  life_threatening: 'Life-threatening',
  hospitalisation: 'Hospitalisation (new or prolonged)',
  disability: 'Persistent or significant disability',
  congenital_anomaly: 'Congenital anomaly or birth defect',
  other_important: 'Other important medical event',
};
export const EXPECTEDNESS = { expected: 'Expected', unexpected: 'Unexpected' };
export const ACTIONS_TAKEN = {
  not_applicable: 'Not applicable',
  none: 'None',
  treatment_given: 'Treatment given',
  hospitalised: 'Hospitalised',
  withdrawn_from_study: 'Withdrawn from the study',
  unknown: 'Unknown',
};
export const AE_OUTCOMES = {
  recovered: 'Recovered',
  recovering: 'Recovering',
  not_recovered: 'Not recovered',
  recovered_with_sequelae: 'Recovered with sequelae',
  fatal: 'Fatal',
  unknown: 'Unknown',
};
/** What a signature means (21 CFR 11.50). */
export const MEANINGS = { reviewed: 'Reviewed', approved: 'Approved', author: 'Author' };
export const SIGNATURE_STATES = {
  unsigned: 'Not signed', signed: 'Signed', invalidated: 'Signature invalidated',
  partial: 'Signed up to an earlier date only',
};
export const RECORD_TYPES = { adverse_event: 'Adverse event', participant: 'Casebook', clarification: 'Change request' };
export const CHANGE_SOURCES = {
  participant_call: 'Participant phone call',
  participant_visit: 'Participant visit',
  participant_message: 'Participant message',
  source_document: 'Source document',
};
export const CHANGE_STATUSES = { open: 'Open', applied: 'Applied', declined: 'Declined' };
/** The audit actions that can invalidate a signature, in words. */
export const CHANGE_ACTIONS = {
  'adverse_event.correct': 'a correction of the adverse event',
  'entry.create': 'a new diary entry',
  'entry.correct': 'a correction of an entry',
  'questionnaire.respond': 'a questionnaire answer',
  'questionnaire.clarify': 'a questionnaire clarification',
  'questionnaire.correct': 'a questionnaire correction',
  'change_request.apply': 'an applied change request',
  'participant.update': 'a change to the participant',
  'participant.unlock': 'unlocking the casebook',
};
export const CTCAE = {
  1: 'Grade 1 – mild',
  2: 'Grade 2 – moderate',
  3: 'Grade 3 – severe',
  4: 'Grade 4 – life-threatening',
  5: 'Grade 5 – death',
};
// The protocol's words (GET /staff/protocol, from study.toml), filled by useProtocol
// at sign-in: the console keeps no copy of the checklist or the formulary.
export const SYMPTOMS = {};
export const RED_FLAGS = new Set();
export const DRUGS = {};

/** The formulary as the server states it: each drug's MME factor and where the
 * factor comes from (study.toml factor_source). Empty until /staff/protocol answers. */
export const FORMULARY = [];

/** The protocol's flag thresholds (mme_high, fever_c, …), as the server sent them. */
export const THRESHOLDS = {};

/** Take the words and thresholds of the study protocol (GET /staff/protocol), so that
 * a changed checklist, formulary or threshold in study.toml shows as it is. */
export function useProtocol(protocol) {
  if (!protocol) return;
  for (const key of Object.keys(THRESHOLDS)) delete THRESHOLDS[key];
  Object.assign(THRESHOLDS, protocol.thresholds || {});
  FORMULARY.splice(0, FORMULARY.length, ...(protocol.formulary || []));
  for (const key of Object.keys(SYMPTOMS)) delete SYMPTOMS[key];
  RED_FLAGS.clear();
  for (const s of protocol.symptoms || []) {
    SYMPTOMS[s.code] = s.label;
    if (s.red_flag) RED_FLAGS.add(s.code);
  }
  for (const key of Object.keys(DRUGS)) delete DRUGS[key];
  for (const d of protocol.formulary || []) DRUGS[d.code] = [d.label, d.unit];
}

export const label = (table, code) => (code == null ? '—' : table[code] || code);
export const symptom = (code) => SYMPTOMS[code] || code;
export const drug = (code) => (DRUGS[code] ? DRUGS[code][0] : code);

export function dose(d) {
  const unit = d.unit || (DRUGS[d.drug] ? DRUGS[d.drug][1] : '');
  const count = d.drug === 'fentanyl_patch' ? `${num(d.units)} patch${d.units === 1 ? '' : 'es'}` : `× ${num(d.units)}`;
  return `${drug(d.drug)} ${num(d.strength)} ${unit} ${count}`;
}

const days = (n) => (n == null ? 'days unknown' : plural(n, 'day'));

/** One line that says what a flag found. */
export function flagSummary(flag) {
  const d = flag.detail || {};
  switch (flag.kind) {
    case 'red_flag_symptom': {
      const parts = (d.symptoms || []).map(symptom);
      if (d.temperature_c != null) parts.push(`temperature ${num(d.temperature_c)} °C`);
      return parts.join('; ') || 'Red-flag symptom';
    }
    case 'pain_flare':
      return `Back pain up to ${d.max_back_pain ?? '?'} (baseline ${d.baseline_back_pain ?? '?'}), ${days(d.days)}`;
    case 'opioid_threshold':
      return `Up to ${num(d.max_mme)} MME per day`;
    case 'opioid_increase':
      return `Mean up to ${num(d.max_mean_mme)} MME per day (baseline ${num(d.baseline_mme)})`;
    case 'opioid_unconvertible':
      return `${(d.drugs || []).map(drug).join(', ') || 'An opioid'} taken, not in the baseline and with no MME factor: the day's MME is incomplete, ${days(d.days)}`;
    case 'missed_entries':
      return d.count == null ? 'Diary dates without an entry' : `${plural(d.count, 'diary date')} without an entry`;
    case 'questionnaire_missed':
      return `${d.title || d.instrument || 'A questionnaire'}: not answered in its window`;
    case 'questionnaire_answer':
      return `${d.title || d.instrument || 'A questionnaire'}: ${d.text || d.rule}${d.value == null ? '' : ` (${d.score || d.item}: ${d.value})`}`;
    default:
      return '';
  }
}

export function num(v, digits = 1) {
  if (v == null || Number.isNaN(Number(v))) return '—';
  const f = 10 ** digits;
  return String(Math.round(Number(v) * f) / f);
}

/** "1 diary date", "3 diary dates": a count with the word that fits it. */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${Number(n) === 1 ? one : many}`;
}

export const pct = (v) => (v == null ? '—' : `${Math.round(Number(v) * 100)} %`);

export const day = (iso) => (iso ? showDate(iso, { day: 'numeric', month: 'short', year: 'numeric' }) : '—');

export function dateRange(first, last) {
  return !last || first === last ? day(first) : `${day(first)} – ${day(last)}`;
}

/** An instant in the staff member's own zone: "3 Mar 2026, 14:05". */
export function instant(text) {
  if (!text) return '—';
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return String(text);
  return d.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** "45 min ago", "3 h ago", "2 days ago". */
export function age(text, now = Date.now()) {
  const t = new Date(text).getTime();
  if (Number.isNaN(t)) return '';
  const minutes = Math.max(0, Math.round((now - t) / 60000));
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

/** "in 35 min", "in 2 h", or "now" for an instant still to come (else as age()). */
export function until(text, now = Date.now()) {
  const t = new Date(text).getTime();
  if (Number.isNaN(t)) return '';
  const minutes = Math.round((t - now) / 60000);
  if (minutes < 0) return age(text, now);
  if (minutes < 1) return 'now';
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.round(minutes / 60)} h`;
}

/** An instant in UTC, as signatures are stated: "3 Dec 2026, 14:05 UTC". */
export function utc(text) {
  if (!text) return '—';
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return String(text);
  return `${d.toLocaleString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })} UTC`;
}

/** "18 h 20 min", "45 min", "2 days 3 h" for a number of seconds. */
export function duration(seconds) {
  const minutes = Math.max(0, Math.floor(Math.abs(seconds) / 60));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days) return `${days} day${days === 1 ? '' : 's'} ${hours} h`;
  if (hours) return `${hours} h ${mins} min`;
  return `${mins} min`;
}
