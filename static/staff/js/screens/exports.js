// Exports for the statisticians (SPEC §10): plain download links, scoped by the
// server to the staff member's sites; every download is audited. The MME
// conversion factors behind the MME columns are listed with their sources.
import { h } from '../../../js/dom.js';
import { FORMULARY } from '../labels.js';
import { factorTable, put } from '../ui.js';

const FILES = [
  ['entries.csv', 'Diary entries', 'One row per entry, with the daily MME; late: made after its day ended; synced_late: received after the entry window closed.'],
  ['doses.csv', 'Opioid doses', 'One row per dose: drug, strength, units and the MME factor used.'],
  ['flags.csv', 'Flags', 'Every flag with its status, dates and resolution.'],
  ['adverse_events.csv', 'Adverse events', 'Confirmed adverse events: term, dates, CTCAE grade, seriousness criteria, relatedness, expectedness, outcome, signature state and the report to the sponsor.'],
  ['signatures.csv', 'Signatures', 'Every investigator signature as printed: signer, UTC time, meaning, the record and its hash, and whether a later change invalidated it.'],
  ['adherence.csv', 'Adherence', 'Expected and entered diary dates per participant (closed dates only), entered on time and synced late counted apart.'],
  ['questionnaires.csv', 'Questionnaires', 'One row per answered or missed questionnaire: due date, window, when it was answered and its scores.'],
  ['questionnaire_items.csv', 'Questionnaire answers', 'One row per answer: item, answer code, its text and its score.'],
  ['questionnaire_responses.json', 'Questionnaire responses (FHIR)', 'Each answered questionnaire as an HL7 FHIR R4 QuestionnaireResponse, in one Bundle.'],
  ['sdtm.zip', 'SDTM package', 'QS (pain scores and questionnaire answers and scores, with SUPPQS: entered late, synced late), CM (opioid doses, with SUPPCM: MME) and AE domains as CSV, with a data dictionary.'],
];

function render(root, ctx) {
  const scope = ctx.user.role === 'admin' ? 'all sites' : `your site${ctx.sites.length === 1 ? '' : 's'} (${ctx.sites.map((s) => s.code).join(', ') || 'none'})`;
  put(root, 
    h('h1', {}, 'Exports'),
    h('p', { class: 'lead' }, `Files hold the data of ${scope}. Each download is recorded in the audit trail.`),
    h('ul', { class: 'exports' }, FILES.map(([name, title, text]) => h('li', { class: 'card export' },
      h('h2', {}, title),
      h('p', {}, text),
      h('a', { class: 'btn', href: `/api/v1/staff/exports/${name}`, download: true }, `Download ${name}`)))),
    h('section', { class: 'card', 'aria-labelledby': 'x-factors' },
      h('h2', { id: 'x-factors' }, 'MME conversion factors'),
      h('p', {}, 'The MME columns multiply each dose by the factor of its drug in the study protocol. Each factor names its source; a drug without a factor is reported as not converted, never as 0.'),
      factorTable(FORMULARY)),
  );
}

export default { title: 'Exports', render };
