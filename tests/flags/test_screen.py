"""The closing job's screen never hides a finding.

`rules.closes_quietly` lets a daily run skip participants whose newly closed dates
are ordinary. For random diaries, whenever it says "quiet", the full rules over the
same days find nothing that ends on a new date; and each kind of extreme on a new
date (or just before, for the mean) is enough to make it evaluate in full.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from diary.flags import rules

T = rules.Thresholds()
DAY0 = date(2026, 3, 1)
AT_CLOSE = [k for k in rules.DIARY_KINDS if k != "red_flag_symptom"]
# Values at and around every threshold of SPEC §6 for baselines 0–30.
MMES = st.sampled_from(
    [None, 0.0, 5.0, 9.99, 10.0, 15.0, 20.0, 30.0, 44.9, 45.0, 50.0, 50.01, 90.0]
)
DAY = st.one_of(
    st.none(),  # no entry
    st.tuples(st.integers(0, 10), MMES, st.sampled_from([(), (), (), ("buprenorphine",)])),
)


def extremes(days: list[rules.DayRecord], expected: list[date], new_from: date) -> rules.Extremes:
    """What the closing job's grouped query reads for these days (queries.closing_extremes)."""
    window_from = new_from - timedelta(days=T.increase_window_days - 1)
    new = [d for d in days if d.date >= new_from and d.back_pain is not None]
    window = [d for d in days if d.date >= window_from and d.back_pain is not None]
    entered = {d.date for d in days if d.back_pain is not None}

    def top(values):
        values = [v for v in values if v is not None]
        return max(values) if values else None

    return rules.Extremes(
        missing=any(d not in entered for d in expected if d >= new_from),
        max_back_pain=top(d.back_pain for d in new),
        max_mme=top(d.mme for d in new),
        max_window_mme=top(d.mme for d in window),
        unconverted=any(d.unconverted for d in new),
    )


def records(raw) -> list[rules.DayRecord]:
    return [
        rules.DayRecord(DAY0 + timedelta(days=i), None, None)
        if r is None
        else rules.DayRecord(DAY0 + timedelta(days=i), r[0], r[1], r[2])
        for i, r in enumerate(raw)
    ]


@settings(max_examples=400, deadline=None)
@given(
    raw=st.lists(DAY, min_size=2, max_size=20),
    new_days=st.integers(1, 3),
    expected_gap=st.integers(0, 2),
    pain=st.integers(0, 10),
    mme=st.sampled_from([0.0, 5.0, 10.0, 15.0, 30.0]),
)
def test_a_quiet_closing_hides_no_finding(raw, new_days, expected_gap, pain, mme):
    days = records(raw)
    new_from = days[max(len(days) - new_days, 0)].date
    # The last dates may not be due yet (a zone whose window is still open).
    expected = [d.date for d in days[: len(days) - expected_gap]]
    quiet = rules.closes_quietly(
        extremes(days, expected, new_from), baseline_back_pain=pain, baseline_mme=mme, t=T
    )
    findings = rules.evaluate(
        days, expected, baseline_back_pain=pain, baseline_mme=mme, t=T, kinds=AT_CLOSE
    )
    if quiet:
        assert [f for f in findings if f.last_date >= new_from] == []


ON_SUBMISSION = [k for k in rules.SUBMISSION_KINDS if k != "red_flag_symptom"]


@settings(max_examples=400, deadline=None)
@given(
    raw=st.lists(DAY, min_size=1, max_size=12),
    changed=st.integers(1, 4),
    pain=st.integers(0, 10),
    mme=st.sampled_from([0.0, 5.0, 10.0, 15.0, 30.0]),
)
def test_an_entry_cleared_on_submission_hides_no_finding(raw, changed, pain, mme):
    """Screened on MME and unconverted opioids alone (no pain, no window mean, nothing
    due: what engine._screen passes for an entry's own evaluation), whenever the screen
    says quiet the rules run on submission find nothing ending on or after the entry's
    date. (That the engine passes exactly this: tests/entries/test_put_statements.py.)"""
    days = records(raw)
    day = days[max(len(days) - changed, 0)].date
    found = extremes(days, [], day)
    cleared = rules.Extremes(
        missing=False,
        max_back_pain=None,
        max_mme=found.max_mme,
        max_window_mme=None,
        unconverted=found.unconverted,
    )
    quiet = rules.closes_quietly(cleared, baseline_back_pain=pain, baseline_mme=mme, t=T)
    findings = rules.evaluate(
        days, [], baseline_back_pain=pain, baseline_mme=mme, t=T, kinds=ON_SUBMISSION
    )
    if quiet:
        assert [f for f in findings if f.last_date >= day] == []
    else:
        assert found.unconverted or found.max_mme > T.mme_high


ORDINARY = rules.Extremes(
    missing=False, max_back_pain=5, max_mme=15.0, max_window_mme=15.0, unconverted=False
)


def test_an_ordinary_day_is_quiet_and_every_extreme_is_not():
    def quiet(**changes):
        values = {**ORDINARY.__dict__, **changes}
        return rules.closes_quietly(
            rules.Extremes(**values), baseline_back_pain=5, baseline_mme=15.0, t=T
        )

    assert quiet()
    assert quiet(max_back_pain=None, max_mme=None, max_window_mme=None)  # nothing was due
    assert not quiet(missing=True)
    assert not quiet(unconverted=True)
    assert not quiet(max_back_pain=7)  # 2 points and 40 % above 5
    assert quiet(max_back_pain=6)
    assert not quiet(max_back_pain=9)  # the ceiling, whatever the baseline
    assert not quiet(max_mme=50.01, max_window_mme=50.01)
    assert not quiet(max_window_mme=25.0)  # a raised day before the new dates: the mean may be


def raised_windows(days: list[rules.DayRecord], baseline: float) -> dict[date, Decimal]:
    """opioid_increase by its definition, window by window: every date with an entry
    (and a known MME) in a raised window, or ending one, and the highest mean it is in."""
    known = {d.date: d.mme for d in days if d.back_pain is not None and d.mme is not None}
    first = min(d.date for d in days)
    found: dict[date, Decimal] = {}
    for end in {d.date for d in days}:
        if (end - first).days < T.increase_window_days - 1:
            continue
        window = [end - timedelta(days=i) for i in range(T.increase_window_days)]
        values = [Decimal(str(known[d])) for d in window if d in known]
        if len(values) < T.increase_min_entries:
            continue
        mean = sum(values, Decimal(0)) / len(values)
        base = Decimal(str(baseline))
        if mean >= base + Decimal(str(T.increase_abs)) and mean * 100 >= base * (
            100 + Decimal(str(T.increase_pct))
        ):
            for d in [*(d for d in window if d in known), end]:
                found[d] = max(found.get(d, mean), mean)
    return found


@settings(max_examples=400, deadline=None)
@given(raw=st.lists(DAY, min_size=1, max_size=30), mme=st.sampled_from([0.0, 5.0, 10.0, 30.0]))
def test_the_increase_rule_skips_only_windows_that_cannot_be_raised(raw, mme):
    """opioid_increase judges only the windows within reach of a day at the limit (a
    mean is at most its highest day); it finds what judging every window finds."""
    days = records(raw)
    expected = raised_windows(days, mme)
    findings = rules.opioid_increase(days, baseline_mme=mme, t=T)
    covered = {
        f.first_date + timedelta(days=i)
        for f in findings
        for i in range((f.last_date - f.first_date).days + 1)
    }
    assert set(expected) <= covered
    assert {f.first_date for f in findings} | {f.last_date for f in findings} <= set(expected)
    for f in findings:
        inside = [m for d, m in expected.items() if f.first_date <= d <= f.last_date]
        assert f.detail["max_mean_mme"] == round(float(max(inside)), 2)
