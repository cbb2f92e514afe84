// Exports for the statisticians (SPEC §10): plain download links, scoped by the
// server to the staff member's sites, narrowed to one site and to diary dates
// (#/exports?site=&from=&to=); every download is audited. The MME conversion
// factors behind the MME columns are listed with their sources.
import { h } from '../../../js/dom.js';
import { FORMULARY, dateRange, day } from '../labels.js';
import { factorTable, field, put, query, select } from '../ui.js';

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

// What a date range keeps of each file (the server's rule, diary/exports/queries.py).
const DATED = {
  'entries.csv': 'Only the entries dated in the range.',
  'doses.csv': 'Only the doses of entries dated in the range.',
  'flags.csv': 'Only the flags whose dates overlap the range.',
  'adverse_events.csv': 'Only the adverse events with their onset in the range.',
  'signatures.csv': 'Only the signatures signed in the range.',
  'adherence.csv': 'Expected and entered dates within the range (the last-7 columns stay the latest seven).',
  'questionnaires.csv': 'Only the questionnaires due in the range.',
  'questionnaire_items.csv': 'Only the answers of questionnaires due in the range.',
  'questionnaire_responses.json': 'Only the responses to questionnaires due in the range.',
  'sdtm.zip': 'Every participant in DM; only the QS, CM and AE records dated in the range.',
};

function render(root, ctx, { params }) {
  const scope = ctx.user.role === 'admin' ? 'all sites' : `your site${ctx.sites.length === 1 ? '' : 's'} (${ctx.sites.map((s) => s.code).join(', ') || 'none'})`;
  const dateInput = (name) => h('input', { type: 'date', name, value: params.get(name) || '' });
  const form = h('form', { class: 'filters', 'aria-label': 'Which data to export', novalidate: true, onsubmit: (e) => e.preventDefault(), oninput: update, onchange: update },
    field('Site', select('site', [['', ctx.user.role === 'admin' ? 'All sites' : 'All my sites'], ...ctx.sites.map((s) => [s.code, s.name && s.name !== s.code ? `${s.code} – ${s.name}` : s.code])], params.get('site') || '')),
    field('Diary dates from', dateInput('from')),
    field('Diary dates to', dateInput('to')));
  const chosen = h('p', { class: 'notice info', role: 'status' });
  const links = new Map();
  const notes = new Map();
  put(root, 
    h('h1', {}, 'Exports'),
    h('p', { class: 'lead' }, `Files hold the data of ${scope}. Each download is recorded in the audit trail.`),
    h('section', { class: 'card', 'aria-labelledby': 'x-choose' },
      h('h2', { id: 'x-choose' }, 'Choose the data'),
      h('p', { class: 'hint' }, 'Leave the dates empty for the whole diary. Dates are diary dates; either one alone leaves the range open on the other side.'),
      form, chosen),
    h('ul', { class: 'exports' }, FILES.map(([name, title, text]) => {
      const link = h('a', { class: 'btn', download: true }, `Download ${name}`);
      const note = h('p', { class: 'hint' });
      links.set(name, link);
      notes.set(name, note);
      return h('li', { class: 'card export' }, h('h2', {}, title), h('p', {}, text), note, link);
    })),
    h('section', { class: 'card', 'aria-labelledby': 'x-factors' },
      h('h2', { id: 'x-factors' }, 'MME conversion factors'),
      h('p', {}, 'The MME columns multiply each dose by the factor of its drug in the study protocol. Each factor names its source; a drug without a factor is reported as not converted, never as 0.'),
      factorTable(FORMULARY)),
  );
  update();

  /** Every link asks for the site and dates chosen; the address keeps them. */
  function update() {
    const values = Object.fromEntries(new FormData(form));
    const wanted = { site: values.site, from: values.from, to: values.to };
    const backwards = values.from && values.to && values.to < values.from;
    const dated = (values.from || values.to) && !backwards;
    for (const [name, link] of links) {
      link.href = `/api/v1/staff/exports/${name}${query(backwards ? { site: values.site } : wanted)}`;
      notes.get(name).textContent = dated ? DATED[name] : '';
    }
    const site = values.site ? `site ${values.site}` : scope;
    const dates = !dated ? 'the whole diary'
      : values.from && values.to ? `diary dates ${dateRange(values.from, values.to)}`
        : values.from ? `diary dates from ${day(values.from)}` : `diary dates up to ${day(values.to)}`;
    chosen.className = backwards ? 'notice error' : 'notice info';
    chosen.textContent = backwards
      ? `"Diary dates to" (${day(values.to)}) is before "from" (${day(values.from)}): the files hold the whole diary until the dates are put right.`
      : `The files hold ${site}, ${dates}.`;
    history.replaceState(null, '', `#/exports${query(wanted)}`);
  }
}

export default { title: 'Exports', render };
