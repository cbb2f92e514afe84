"""static/js/chart.js, the SVG chart the PWA and the staff console share."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DRAW = """async () => {
  const { chart } = await import('/static/js/chart.js');
  const dates = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
  const svg = chart({
    dates, width: 400, height: 200, title: 'Pain and MME', description: 'Five days',
    lines: [{ label: 'Back pain', values: [4, 5, null, 7, 6], className: 'chart-line back' }],
    bars: { label: 'MME', values: [20, 0, null, 60, 45], className: 'chart-bars' },
    refs: [{ axis: 'right', value: 50, label: '50 MME', className: 'chart-ref' }],
  });
  document.body.append(svg);
  const y = (el, attr) => Number(el.getAttribute(attr));
  const ref = svg.querySelector('.chart-ref line');
  const bars = [...svg.querySelectorAll('.chart-bars rect')];
  return {
    role: svg.getAttribute('role'),
    name: [...svg.querySelectorAll('title, desc')].slice(0, 2).map((n) => n.textContent),
    polylines: svg.querySelectorAll('.chart-line polyline').length,
    dots: svg.querySelectorAll('.chart-line circle').length,
    bars: bars.length,
    refY: y(ref, 'y1'),
    barTops: bars.map((b) => y(b, 'y')),
    styled: svg.querySelectorAll('[style]').length,
  };
}"""


def test_chart_draws_lines_with_gaps_bars_and_a_reference_line(live_server, page):
    page.goto(f"{live_server.url}/#/activate")
    drawn = page.evaluate(DRAW)
    assert drawn["role"] == "img"
    assert drawn["name"] == ["Pain and MME", "Five days"]
    assert drawn["polylines"] == 2  # a missing day breaks the line in two
    assert drawn["dots"] == 4
    assert drawn["bars"] == 3  # no bar for 0 or a missing day
    low, high, mid = drawn["barTops"]  # 20, 60 and 45 MME: higher values reach higher
    assert high < drawn["refY"] < mid < low  # the 50 MME line sits between 45 and 60
    assert drawn["styled"] == 0  # classes only: the CSP allows no inline style
