"""A skipped date is missed exactly once, when its window closes in the participant's zone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from jobs_support import add_entries, add_participant, days_between, flags, missed, run_close, utc

from diary.jobs.close_days import last_closed_date

ONE_US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("timezone", "skipped", "closes_at"),
    [
        # DST ends: Sunday 2 Nov 2025 is 25 hours long in Chicago; its window closes at
        # 12:00 CST on Monday = 18:00 UTC, long after UTC midnight.
        ("America/Chicago", date(2025, 11, 2), utc(2025, 11, 3, 18, 0)),
        # DST starts: Sunday 9 Mar 2025 is 23 hours long; 12:00 CDT on Monday = 17:00 UTC.
        ("America/Chicago", date(2025, 3, 9), utc(2025, 3, 10, 17, 0)),
        # UTC+05:30, no DST: 12:00 IST = 06:30 UTC.
        ("Asia/Kolkata", date(2025, 11, 2), utc(2025, 11, 3, 6, 30)),
        # DST starts in Auckland on 28 Sep 2025 (23 h); 12:00 NZDT on the 29th is
        # 23:00 UTC on the 28th: before the UTC date of the skipped day has even ended.
        ("Pacific/Auckland", date(2025, 9, 28), utc(2025, 9, 28, 23, 0)),
        # DST ends in Auckland on 6 Apr 2025 (25 h); 12:00 NZST on the 7th = 00:00 UTC.
        ("Pacific/Auckland", date(2025, 4, 6), utc(2025, 4, 7, 0, 0)),
    ],
)
def test_skipped_day_is_missed_once_when_its_window_closes_locally(
    make_db, study, timezone, skipped, closes_at
):
    db = make_db()
    first = skipped - timedelta(days=3)
    p = add_participant(db, "LBP-001", timezone=timezone, injections=(first,))
    add_entries(
        db,
        p,
        {d: (4, 10.0) for d in days_between(first, skipped + timedelta(days=3)) if d != skipped},
    )

    # Every hour of the two days before the close (UTC midnight included), and the
    # last microsecond before it: nothing for the skipped date yet.
    instant = closes_at - timedelta(hours=48)
    while instant < closes_at:
        run_close(db, study, instant)
        instant += timedelta(hours=1)
    run_close(db, study, closes_at - ONE_US)
    assert missed(db) == []
    assert flags(db) == []

    run_close(db, study, closes_at)
    assert missed(db) == [("LBP-001", skipped.isoformat())]
    assert flags(db) == [
        (
            "LBP-001",
            "missed_entries",
            "low",
            "open",
            skipped.isoformat(),
            skipped.isoformat(),
            {"count": 1, "dates": [skipped.isoformat()]},
        )
    ]

    # Later runs (the following days' windows close with entries) change nothing.
    for hours in range(1, 60, 7):
        run_close(db, study, closes_at + timedelta(hours=hours))
    assert missed(db) == [("LBP-001", skipped.isoformat())]
    assert len(flags(db)) == 1


@pytest.mark.parametrize(
    ("now", "timezone", "expected"),
    [
        (utc(2025, 11, 3, 17, 59, 59), "America/Chicago", date(2025, 11, 1)),
        (utc(2025, 11, 3, 18, 0), "America/Chicago", date(2025, 11, 2)),
        (utc(2025, 11, 3, 6, 29), "Asia/Kolkata", date(2025, 11, 1)),
        (utc(2025, 11, 3, 6, 30), "Asia/Kolkata", date(2025, 11, 2)),
        (utc(2025, 9, 28, 22, 59), "Pacific/Auckland", date(2025, 9, 27)),
        (utc(2025, 9, 28, 23, 0), "Pacific/Auckland", date(2025, 9, 28)),
    ],
)
def test_last_closed_date_follows_the_local_noon_after_the_date(now, timezone, expected, study):
    assert last_closed_date(now, timezone, study.window_closes_next_day_at) == expected


def test_diary_dates_run_from_first_injection_to_the_diary_end(make_db, study):
    db = make_db()
    first = date(2025, 1, 1)
    add_participant(db, "LBP-001", timezone="UTC", injections=(first,))
    end = first + timedelta(days=study.length_days)
    run_close(db, study, utc(2028, 1, 1))
    dates = [d for _, d in missed(db)]
    assert dates[0] == first.isoformat()
    assert dates[-1] == end.isoformat()
    assert len(dates) == study.length_days + 1


def test_withdrawn_participants_are_not_expected_to_enter(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", status="withdrawn", injections=(date(2025, 10, 1),))
    assert run_close(db, study, utc(2025, 10, 20))["dates_closed"] == 0
    assert missed(db) == []


def test_a_participant_who_never_activated_still_has_expected_dates(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", injections=(date(2025, 10, 1),))  # activated_at is NULL
    run_close(db, study, utc(2025, 10, 4, 18))
    assert [d for _, d in missed(db)] == ["2025-10-01", "2025-10-02", "2025-10-03"]
    assert [(f[1], f[2], f[4], f[5]) for f in flags(db)] == [
        ("missed_entries", "high", "2025-10-01", "2025-10-03")
    ]
