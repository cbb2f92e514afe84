// A small inline-SVG chart of daily values: pain lines on a 0–10 scale (left
// axis) over bars of daily MME (right axis), with optional reference lines
// (a baseline, the protocol's 50 MME line). Shared by the participant app and
// the staff console. Styling is by class (see .chart-* in the CSS).

const NS = 'http://www.w3.org/2000/svg';
let charts = 0;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

const shortDate = (iso) =>
  new Date(`${iso}T12:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/**
 * chart({dates, lines, bars, refs, title, description, width, height}) → <svg>
 *   dates: ['YYYY-MM-DD', …] one slot per day, left to right
 *   lines: [{label, values: [number|null], className}] on the left axis (scale.left)
 *   bars:  {label, values: [number|null], className} on the right axis
 *   refs:  [{axis: 'left'|'right', value, label, className, labelAt: 'start'|'end'}]
 *   markers: [{date, label, className}] events marked on the time axis (e.g. flags)
 *   scale: {left: [0, 10], right: [0, max]} (right max defaults to the data, at least 10)
 * With bars and no lines, the grid and labels follow the right axis alone.
 */
export function chart({
  dates, lines = [], bars = null, refs = [], title = 'Chart', description = '',
  width = 640, height = 240, scale = {}, markers = [],
}) {
  const barsOnly = Boolean(bars) && !lines.length;
  const m = { top: 14, right: bars ? 40 : 12, bottom: markers.length ? 40 : 26, left: barsOnly ? 12 : 30 };
  const w = Math.max(width, 200);
  const iw = w - m.left - m.right;
  const ih = height - m.top - m.bottom;
  const n = Math.max(dates.length, 1);
  const slot = iw / n;
  const x = (i) => m.left + slot * (i + 0.5);
  const [lmin, lmax] = scale.left || [0, 10];
  const ly = (v) => m.top + ih - ((v - lmin) / (lmax - lmin)) * ih;
  const barValues = bars ? bars.values.filter((v) => v != null) : [];
  const refMax = Math.max(0, ...refs.filter((r) => r.axis === 'right').map((r) => r.value));
  const rmax = (scale.right && scale.right[1]) || niceMax(Math.max(10, refMax * 1.1, ...barValues));
  const ry = (v) => m.top + ih - (Math.min(v, rmax) / rmax) * ih;

  const id = `chart-${++charts}`;
  const svg = el('svg', {
    viewBox: `0 0 ${w} ${height}`, width: w, height, class: 'chart', role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
  });
  svg.append(el('title', { id: `${id}-t` }, title), el('desc', { id: `${id}-d` }, description));

  const grid = el('g', { class: 'chart-grid' });
  if (!barsOnly) {
    for (const v of [lmin, (lmin + lmax) / 2, lmax]) {
      grid.append(el('line', { x1: m.left, x2: m.left + iw, y1: ly(v), y2: ly(v) }));
      grid.append(el('text', { x: m.left - 6, y: ly(v) + 4, class: 'chart-axis', 'text-anchor': 'end' }, v));
    }
  }
  if (bars) {
    for (const v of [0, rmax / 2, rmax]) {
      if (barsOnly) grid.append(el('line', { x1: m.left, x2: m.left + iw, y1: ry(v), y2: ry(v) }));
      grid.append(el('text', { x: m.left + iw + 6, y: ry(v) + 4, class: 'chart-axis' }, round(v)));
    }
  }
  const ticks = dates.length > 1 ? [0, Math.floor((dates.length - 1) / 2), dates.length - 1] : [0];
  for (const i of ticks) {
    if (!dates[i]) continue;
    const anchor = i === 0 ? 'start' : i === dates.length - 1 ? 'end' : 'middle';
    const tx = anchor === 'start' ? m.left : anchor === 'end' ? m.left + iw : x(i);
    grid.append(el('text', { x: tx, y: height - 6, class: 'chart-axis', 'text-anchor': anchor }, shortDate(dates[i])));
  }
  svg.append(grid);

  if (bars) {
    const g = el('g', { class: bars.className || 'chart-bars' });
    bars.values.forEach((v, i) => {
      if (v == null || v <= 0) return;
      const y = ry(v);
      const rect = el('rect', { x: x(i) - slot * 0.35, y, width: slot * 0.7, height: m.top + ih - y });
      rect.append(el('title', {}, `${shortDate(dates[i])}: ${bars.label} ${round(v)}`));
      g.append(rect);
    });
    svg.append(g);
  }

  for (const ref of refs) {
    const y = ref.axis === 'right' ? ry(ref.value) : ly(ref.value);
    const g = el('g', { class: ref.className || 'chart-ref' });
    g.append(el('line', { x1: m.left, x2: m.left + iw, y1: y, y2: y }));
    if (ref.label) {
      const end = ref.labelAt === 'end';
      g.append(el('text', { x: end ? m.left + iw - 4 : m.left + 4, y: y - 4, 'text-anchor': end ? 'end' : null }, ref.label));
    }
    svg.append(g);
  }

  for (const line of lines) {
    const g = el('g', { class: line.className || 'chart-line' });
    let run = [];
    const flush = () => {
      if (run.length > 1) g.append(el('polyline', { points: run.join(' '), fill: 'none' }));
      run = [];
    };
    line.values.forEach((v, i) => {
      if (v == null) return flush();
      run.push(`${round(x(i))},${round(ly(v))}`);
      const dot = el('circle', { cx: round(x(i)), cy: round(ly(v)), r: 3.5 });
      dot.append(el('title', {}, `${shortDate(dates[i])}: ${line.label} ${v}`));
      g.append(dot);
    });
    flush();
    svg.append(g);
  }

  if (markers.length) {
    const g = el('g', { class: 'chart-markers' });
    const base = m.top + ih;
    for (const mark of markers) {
      const i = dates.indexOf(mark.date);
      if (i < 0) continue;
      const cx = round(x(i));
      const tick = el('g', { class: mark.className || 'chart-marker' });
      tick.append(el('line', { x1: cx, x2: cx, y1: m.top, y2: base }));
      tick.append(el('path', { d: `M${cx} ${base + 2} l6 10 h-12 z` }));
      tick.append(el('title', {}, `${shortDate(mark.date)}: ${mark.label}`));
      g.append(tick);
    }
    svg.append(g);
  }
  return svg;
}

/** A legend for the chart, as an HTML list (keys are drawn by CSS classes). */
export function legend(items) {
  const ul = document.createElement('ul');
  ul.className = 'chart-legend';
  for (const { label, className } of items) {
    const li = document.createElement('li');
    const key = document.createElement('span');
    key.className = `chart-key ${className}`;
    key.setAttribute('aria-hidden', 'true');
    li.append(key, label);
    ul.append(li);
  }
  return ul;
}

function niceMax(v) {
  const step = v <= 20 ? 5 : v <= 100 ? 10 : 50;
  return Math.ceil(v / step) * step;
}

const round = (v) => Math.round(v * 10) / 10;
