// A participant's two charts: pain against the baseline, and daily MME against the
// baseline and the protocol's high-MME line, with flags and days whose MME is
// incomplete marked on the time axis; and where each MME factor comes from.
import { chart, legend } from '../../../js/chart.js';
import { addDays } from '../../../js/dates.js';
import { h } from '../../../js/dom.js';
import { DRUGS, FORMULARY, KINDS, SEVERITIES, STATUSES, THRESHOLDS, day, label, num, plural } from '../labels.js';
import { factorTable } from '../ui.js';

export function participantCharts({ studyId, person, rows, flags, from, to, width }) {
  const dates = [];
  for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
  const byDate = new Map(rows.map((e) => [e.date, e]));
  const pick = (k) => dates.map((d) => (byDate.has(d) ? byDate.get(d)[k] : null));
  const markers = flags.map((f) => ({
    date: f.first_date < from && f.last_date >= from ? from : f.first_date,
    label: `${label(SEVERITIES, f.severity)} flag: ${label(KINDS, f.kind)} (${label(STATUSES, f.status).toLowerCase()})`,
    className: `chart-marker sev-${f.severity}`,
  }));
  const shown = markers.filter((m) => m.date >= from && m.date <= to);
  const back = pick('back_pain');
  const entered = back.filter((v) => v != null);
  const mme = pick('mme');
  const mmeDays = mme.filter((v) => v != null);
  const line = THRESHOLDS.mme_high; // the protocol's high-MME threshold, from the server
  const overLine = line == null ? 0 : mmeDays.filter((v) => v > line).length;
  // Days with an opioid that has no MME factor: their MME is incomplete, never 0.
  const incomplete = dates
    .filter((d) => byDate.has(d) && (byDate.get(d).mme_unconverted || []).length)
    .map((d) => ({
      date: d,
      label: `MME incomplete: ${byDate.get(d).mme_unconverted.map((c) => (DRUGS[c] ? DRUGS[c][0] : c)).join(', ')} not converted`,
      className: 'chart-marker incomplete',
    }));
  const incompleteText = incomplete.length ? ` ${plural(incomplete.length, 'day')} with an opioid that has no MME factor ${incomplete.length === 1 ? 'is' : 'are'} marked.` : '';
  // Days whose entry reports an opioid (converted or not): with none, an MME chart would
  // show only an empty axis, so the period says so in words instead.
  const opioidDays = dates.filter((d) => byDate.has(d)
    && ((byDate.get(d).doses || []).length || byDate.get(d).mme > 0 || (byDate.get(d).mme_unconverted || []).length)).length;
  const flagText = shown.length ? ` ${shown.length} flag${shown.length === 1 ? '' : 's'} marked on the time axis.` : '';
  return [
    h('figure', { class: 'chart-card' },
      h('figcaption', {}, 'Back and leg pain (0–10) against the baseline'),
      chart({
        dates, width, height: 240, markers: shown,
        title: `Pain of ${studyId}, ${day(from)} to ${day(to)}`,
        description: entered.length
          ? `${entered.length} of ${dates.length} days entered. Back pain from ${Math.min(...entered)} to ${Math.max(...entered)}; baseline ${person.baseline_back_pain}.${flagText}`
          : `No entries in this period. Baseline back pain ${person.baseline_back_pain}.${flagText}`,
        lines: [
          { label: 'Back pain', values: back, className: 'chart-line back' },
          { label: 'Leg pain', values: pick('leg_pain'), className: 'chart-line leg' },
        ],
        refs: [{ axis: 'left', value: person.baseline_back_pain, label: `Baseline back pain ${person.baseline_back_pain}`, className: 'chart-ref baseline' }],
      }),
      legend([
        { label: 'Back pain', className: 'back' },
        { label: 'Leg pain', className: 'leg' },
        { label: 'Baseline back pain', className: 'baseline' },
        shown.length ? { label: 'Flag (first date)', className: 'marker' } : null,
      ].filter(Boolean))),
    opioidDays ? mmeFigure() : noOpioids(entered.length, person.baseline_mme),
    h('details', { class: 'mme-sources' },
      h('summary', {}, 'How the daily MME is calculated, and where each factor comes from'),
      h('p', {}, 'Daily MME is the sum over the day’s doses of strength × units taken × the drug’s conversion factor (a fentanyl patch counts for each day worn). A drug with no factor is never counted as 0: the day shows it as not converted.'),
      factorTable(FORMULARY)),
  ];

  function mmeFigure() {
    return h('figure', { class: 'chart-card' },
      h('figcaption', {}, `Daily opioid use (MME) against the baseline${line == null ? '' : ` and the ${num(line)} MME line`}`),
      chart({
        dates, width, height: 220, markers: [...shown, ...incomplete],
        title: `Daily MME of ${studyId}, ${day(from)} to ${day(to)}`,
        description: mmeDays.length
          ? `Daily MME from ${num(Math.min(...mmeDays))} to ${num(Math.max(...mmeDays))}; baseline ${num(person.baseline_mme)}${line == null ? '' : `; ${plural(overLine, 'day')} above ${num(line)} MME`}.${flagText}${incompleteText}`
          : `No opioid data in this period. Baseline ${num(person.baseline_mme)} MME.${flagText}${incompleteText}`,
        bars: { label: 'MME', values: mme, className: 'chart-bars' },
        refs: [
          line == null ? null : { axis: 'right', value: line, label: `${num(line)} MME`, className: 'chart-ref threshold', labelAt: 'end' },
          { axis: 'right', value: person.baseline_mme, label: `Baseline ${num(person.baseline_mme)} MME`, className: 'chart-ref baseline' },
        ].filter(Boolean),
      }),
      legend([
        { label: 'MME per day', className: 'bars' },
        line == null ? null : { label: `${num(line)} MME per day`, className: 'ref' },
        { label: 'Baseline MME', className: 'baseline' },
        shown.length ? { label: 'Flag (first date)', className: 'marker' } : null,
        incomplete.length ? { label: 'MME incomplete (opioid without a factor)', className: 'incomplete' } : null,
      ].filter(Boolean)));
  }
}

/** In place of the MME chart (an empty axis) when no entry of the period reports an opioid. */
function noOpioids(entered, baseline) {
  const text = entered === 0 ? 'No opioids in this period: it has no entries.'
    : entered === 1 ? 'No opioids in this period: its one entry reports none.'
      : `No opioids in this period: none of its ${entered} entries reports one.`;
  return h('figure', { class: 'chart-card' },
    h('figcaption', {}, 'Daily opioid use (MME)'),
    h('p', { class: 'notice info no-opioids' }, `${text} Baseline ${num(baseline)} MME per day.`));
}
