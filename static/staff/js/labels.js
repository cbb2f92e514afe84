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
export const RELATED = {
  not_related: 'Not related',
  unlikely: 'Unlikely',
  possible: 'Possible',
  probable: 'Probable',
  definite: 'Definite',
};
export const AE_SOURCES = { interview: 'Participant interview', clinical_exam: 'Clinical exam', diary: 'Diary review', flag: 'Flag' };
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
      return `Back pain up to ${d.max_back_pain ?? '?'} (baseline ${d.baseline_back_pain ?? '?'}), ${d.days ?? '?'} day(s)`;
    case 'opioid_threshold':
      return `Up to ${num(d.max_mme)} MME per day`;
    case 'opioid_increase':
      return `Mean up to ${num(d.max_mean_mme)} MME per day (baseline ${num(d.baseline_mme)})`;
    case 'opioid_unconvertible':
      return `${(d.drugs || []).map(drug).join(', ') || 'An opioid'} taken, not in the baseline and with no MME factor: the day's MME is incomplete, ${d.days ?? '?'} day(s)`;
    case 'missed_entries':
      return `${d.count ?? '?'} diary date(s) without an entry`;
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
