import json
from datetime import date, timedelta

import pytest

from diary.flags.rules import (
    DayRecord,
    Finding,
    Thresholds,
    missed_entries,
    opioid_increase,
    opioid_threshold,
    pain_flare,
    red_flag_findings,
)

T = Thresholds()
D0 = date(2025, 3, 1)
RED_FLAGS = {
    "fever",
    "injection_site_reaction",
    "leg_weakness_numbness",
    "bowel_bladder_loss",
    "saddle_numbness",
    "allergic_reaction",
    "severe_headache",
    "hospital_or_er_visit",
}


def d(n: int) -> date:
    return D0 + timedelta(days=n)


def pain_days(*values: int | None) -> list[DayRecord]:
    """Consecutive dates from D0 with the given back pain (None: no entry)."""
    return [DayRecord(d(i), v, None if v is None else 0.0) for i, v in enumerate(values)]


def mme_days(*values: float | None) -> list[DayRecord]:
    """Consecutive dates from D0, each with an entry and the given MME (None: unknown)."""
    return [DayRecord(d(i), 3, v) for i, v in enumerate(values)]


# --- pain_flare ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "pain", "thresholds", "flare"),
    [
        (3, 5, T, True),  # 5 ≥ 3 + 2 and 5 ≥ 3.9
        (3, 4, T, False),  # 4 ≥ 3.9 (30 %) but 4 < 5 (+2)
        (6, 8, T, True),  # 8 ≥ 8 and 8 ≥ 7.8
        (0, 2, T, True),  # any rise from 0 is ≥ 30 %; +2 is what binds
        (0, 1, T, False),
        (4, 6, Thresholds(flare_pct_increase=50), True),  # 6 ≥ 6 and exactly 6 ≥ 4 × 1.5
        (4, 6, Thresholds(flare_pct_increase=51), False),  # +2 holds, 6 < 6.04
        # +2 holds but not 30 % (9 < 9.1, 10 < 10.4); the ≥ 9 rule is switched off.
        (7, 9, Thresholds(flare_absolute=11), False),
        (8, 10, Thresholds(flare_absolute=11), False),
    ],
)
def test_flare_needs_both_the_points_and_the_percent_rise(baseline, pain, thresholds, flare):
    findings = pain_flare(pain_days(pain, pain), baseline_back_pain=baseline, t=thresholds)
    assert bool(findings) is flare


@pytest.mark.parametrize(("baseline", "pain"), [(7, 9), (8, 10), (9, 9), (2, 9)])
def test_back_pain_of_nine_alone_is_a_flare(baseline, pain):
    findings = pain_flare(pain_days(3, pain, 3), baseline_back_pain=baseline, t=T)
    assert findings == [
        Finding(
            "pain_flare",
            "high",
            d(1),
            d(1),
            {"baseline_back_pain": baseline, "max_back_pain": pain, "days": 1},
        )
    ]


def test_single_elevated_entry_is_not_a_flare():
    assert pain_flare(pain_days(3, 6, 3), baseline_back_pain=3, t=T) == []


def test_two_consecutive_elevated_entries_are_one_flare():
    findings = pain_flare(pain_days(3, 6, 7, 3), baseline_back_pain=3, t=T)
    assert [(f.first_date, f.last_date, f.severity) for f in findings] == [(d(1), d(2), "high")]
    assert findings[0].detail == {"baseline_back_pain": 3, "max_back_pain": 7, "days": 2}


@pytest.mark.parametrize(
    "days",
    [
        pain_days(6, None, 6),  # a day recorded without an entry
        [DayRecord(d(0), 6, 0.0), DayRecord(d(2), 6, 0.0)],  # a day absent altogether
    ],
)
def test_a_day_without_an_entry_neither_breaks_nor_counts_toward_a_flare(days):
    findings = pain_flare(days, baseline_back_pain=3, t=T)
    assert [(f.first_date, f.last_date) for f in findings] == [(d(0), d(2))]
    assert findings[0].detail["days"] == 2  # two entered days, not three


@pytest.mark.parametrize(
    "days",
    [
        pain_days(6, None, None, 6),  # entries further apart than flare_max_gap_days
        pain_days(6, 3, 6),  # an entry that is not elevated
    ],
)
def test_gap_breaks_the_consecutive_run(days):
    assert pain_flare(days, baseline_back_pain=3, t=T) == []


def test_the_largest_gap_comes_from_thresholds():
    wide = Thresholds(flare_max_gap_days=3)
    findings = pain_flare(pain_days(6, None, None, 6), baseline_back_pain=3, t=wide)
    assert [(f.first_date, f.last_date) for f in findings] == [(d(0), d(3))]
    strict = Thresholds(flare_max_gap_days=1)
    assert pain_flare(pain_days(6, None, 6), baseline_back_pain=3, t=strict) == []


def test_flare_that_continues_extends_its_episode():
    findings = pain_flare(pain_days(6, 6, 6, 9, 5), baseline_back_pain=3, t=T)
    assert [(f.first_date, f.last_date) for f in findings] == [(d(0), d(4))]
    assert findings[0].detail["max_back_pain"] == 9
    assert findings[0].detail["days"] == 5


def test_flares_separated_by_a_calm_day_are_two_episodes():
    findings = pain_flare(pain_days(6, 6, 3, 6, 6), baseline_back_pain=3, t=T)
    assert [(f.first_date, f.last_date) for f in findings] == [(d(0), d(1)), (d(3), d(4))]


def test_consecutive_count_comes_from_thresholds():
    days = pain_days(6, 6, 3)
    assert pain_flare(days, baseline_back_pain=3, t=Thresholds(flare_consecutive=3)) == []
    assert pain_flare(days[:1], baseline_back_pain=3, t=Thresholds(flare_consecutive=1))


# --- opioid_threshold ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mme", "severity"),
    [(0.0, None), (50, None), (50.01, "high"), (50.1, "high"), (89.9, "high"), (90, "urgent")],
)
def test_daily_mme_threshold_is_strict_and_urgent_from_ninety(mme, severity):
    findings = opioid_threshold(mme_days(mme), t=T)
    assert [f.severity for f in findings] == ([severity] if severity else [])


def test_unknown_mme_does_not_cross_the_threshold():
    assert opioid_threshold(mme_days(None, None), t=T) == []


def test_episode_with_one_urgent_day_is_urgent():
    findings = opioid_threshold(mme_days(40, 60, 95, 60, 40), t=T)
    assert findings == [Finding("opioid_threshold", "urgent", d(1), d(3), {"max_mme": 95})]


def test_days_below_threshold_split_episodes():
    findings = opioid_threshold(mme_days(60, 40, 70), t=T)
    assert [(f.first_date, f.last_date, f.detail) for f in findings] == [
        (d(0), d(0), {"max_mme": 60}),
        (d(2), d(2), {"max_mme": 70}),
    ]


# --- opioid_increase ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "values", "raised"),
    [
        (30, (45, 45, 45), True),  # +50 % binds: 45 ≥ 40 and 45 ≥ 45
        (30, (40, 45, 50), True),  # the mean, not each day, is compared
        (30, (45, 45, 44.99), False),  # mean just below 45
        (10, (20, 20, 20), True),  # +10 binds: 20 ≥ 20 and 20 ≥ 15
        (10, (20, 20, 19.99), False),
        (0, (10, 10, 10), True),
        (0, (9.99, 10, 10), False),
        (0.3, (10.3, 10.3, 10.3), True),  # exactly at threshold despite 0.3 not being binary
    ],
)
def test_three_day_mean_at_threshold_raises_and_just_below_does_not(baseline, values, raised):
    findings = opioid_increase(mme_days(*values), baseline_mme=baseline, t=T)
    assert bool(findings) is raised


def test_increase_finding_covers_its_window():
    findings = opioid_increase(mme_days(45, 45, 45), baseline_mme=30, t=T)
    assert findings == [
        Finding("opioid_increase", "high", d(0), d(2), {"baseline_mme": 30, "max_mean_mme": 45})
    ]
    assert json.loads(json.dumps(findings[0].detail)) == findings[0].detail


def test_fewer_days_than_the_window_raise_nothing():
    assert opioid_increase(mme_days(100, 100), baseline_mme=0, t=T) == []


def test_fewer_entered_days_than_the_minimum_raise_nothing():
    days = [DayRecord(d(0), None, None), DayRecord(d(1), None, None), DayRecord(d(2), 3, 100)]
    assert opioid_increase(days, baseline_mme=0, t=T) == []
    wide = Thresholds(increase_min_entries=3)
    assert opioid_increase(mme_days(100, None, 100), baseline_mme=0, t=wide) == []


@pytest.mark.parametrize(
    "days",
    [
        [DayRecord(d(0), 3, 100), DayRecord(d(1), None, None), DayRecord(d(2), 3, 100)],
        [DayRecord(d(0), 3, 100), DayRecord(d(2), 3, 100), DayRecord(d(3), 3, 100)],
        mme_days(100, None, 100),  # buprenorphine-only day: MME unknown
    ],
)
def test_a_missing_or_unknown_day_does_not_hide_an_increase(days):
    findings = opioid_increase(days, baseline_mme=0, t=T)
    assert len(findings) == 1
    assert findings[0].detail["max_mean_mme"] == 100  # the mean of the days it knows


def test_an_increase_with_a_missed_day_is_one_episode_over_its_entered_days():
    days = [DayRecord(d(0), 3, 30), DayRecord(d(2), 3, 30)]
    findings = opioid_increase(days, baseline_mme=10, t=T)
    assert [(f.first_date, f.last_date) for f in findings] == [(d(0), d(2))]


def test_continuing_increase_extends_the_episode_and_keeps_the_highest_mean():
    findings = opioid_increase(mme_days(10, 45, 45, 45, 60, 10, 10, 10), baseline_mme=30, t=T)
    # Windows ending d3 (mean 45) and d4 (50) qualify; d5 (38.33) does not.
    assert [(f.first_date, f.last_date) for f in findings] == [(d(1), d(4))]
    assert findings[0].detail["max_mean_mme"] == 50


def test_increase_max_mean_is_rounded():
    findings = opioid_increase(mme_days(50, 50, 51), baseline_mme=30, t=T)
    assert findings[0].detail["max_mean_mme"] == 50.33


# --- missed_entries -----------------------------------------------------------------------

EXPECTED = [d(i) for i in range(10)]


def entered_except(*missing: int) -> set[date]:
    return {day for day in EXPECTED if day not in {d(i) for i in missing}}


def test_all_entries_present_raise_nothing():
    assert missed_entries(EXPECTED, set(EXPECTED), t=T) == []


@pytest.mark.parametrize(
    ("missing", "severity"),
    [((4,), "low"), ((3, 4), "low"), ((3, 4, 5), "high"), ((0, 1, 2, 3), "high")],
)
def test_missed_streak_is_low_until_three_in_a_row(missing, severity):
    findings = missed_entries(EXPECTED, entered_except(*missing), t=T)
    assert findings == [
        Finding(
            "missed_entries",
            severity,
            d(missing[0]),
            d(missing[-1]),
            {"count": len(missing), "dates": [d(i).isoformat() for i in missing]},
        )
    ]


def test_two_separate_runs_of_misses_are_two_episodes():
    findings = missed_entries(EXPECTED, entered_except(1, 2, 5, 6, 7, 9), t=T)
    assert [(f.first_date, f.last_date, f.severity) for f in findings] == [
        (d(1), d(2), "low"),
        (d(5), d(7), "high"),
        (d(9), d(9), "low"),
    ]


def test_never_activated_participant_misses_every_expected_date():
    findings = missed_entries(EXPECTED, set(), t=T)
    assert [(f.first_date, f.last_date, f.detail["count"]) for f in findings] == [(d(0), d(9), 10)]


def test_entries_outside_expected_dates_are_ignored():
    assert missed_entries(EXPECTED[:3], set(EXPECTED[:3]) | {d(20)}, t=T) == []


# --- red_flag_findings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "codes"),
    [(None, []), (37.9, []), (38.0, ["fever"]), (39.5, ["fever"])],
)
def test_temperature_from_thirty_eight_is_a_fever(temperature, codes):
    assert red_flag_findings([], temperature, red_flag_codes=RED_FLAGS, t=T) == codes


def test_reported_fever_and_high_temperature_give_one_fever():
    codes = red_flag_findings(["fever"], 38.4, red_flag_codes=RED_FLAGS, t=T)
    assert codes == ["fever"]


def test_only_red_flag_symptoms_are_returned_sorted():
    symptoms = ["nausea", "saddle_numbness", "headache", "allergic_reaction", "fever"]
    codes = red_flag_findings(symptoms, 36.8, red_flag_codes=RED_FLAGS, t=T)
    assert codes == ["allergic_reaction", "fever", "saddle_numbness"]


def test_fever_threshold_comes_from_thresholds():
    t = Thresholds(fever_c=37.5)
    assert red_flag_findings([], 37.5, red_flag_codes=RED_FLAGS, t=t) == ["fever"]
