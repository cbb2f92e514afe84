"""A diary closed to writes (the participant locked, or the study frozen) still has the
data received before it judged by the rules at close, up to the day it closed; its dates
wait, unclosed (none recorded missed), until it reopens, when they close as any others
do, the missed record and the missed-entries flag alike."""

from __future__ import annotations

from datetime import date

import pytest
from jobs_support import add_entries, add_participant, days_between, flags, missed, run_close, utc

from diary.db import transaction

START, LAST = date(2025, 11, 20), date(2025, 12, 1)
# 9:00 in Chicago on Dec 2: Dec 1's window is open until noon.
HELD_AT = "2025-12-02T15:00:00.000000+00:00"


def pain_10_on_dec_1(db, study) -> dict:
    p = add_participant(db, "LBP-001", injections=(START,), back_pain=4)
    days = {d: (4, 10.0) for d in days_between(START, LAST)}
    days[LAST] = (10, 10.0)  # at the ceiling: a pain flare, raised when Dec 1 closes
    add_entries(db, p, days)
    run_close(db, study, utc(2025, 12, 1, 19, 0))  # closes through Nov 30 in Chicago
    assert flags(db) == []
    return p


def lock(db, p, *, withdrawn=False) -> None:
    with transaction(db):
        if withdrawn:
            db.execute(
                "UPDATE participants SET status = 'withdrawn', ended_at = ? WHERE id = ?",
                [HELD_AT, p["id"]],
            )
        db.execute(
            "UPDATE participants SET locked_at = ?, locked_by = 'Dr Iva Inv',"
            " lock_reason = 'record reviewed' WHERE id = ?",
            [HELD_AT, p["id"]],
        )


def freeze(db) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO study_freezes (frozen_at, frozen_by, reason) VALUES (?, ?, ?)",
            [HELD_AT, "admin", "interim data cut"],
        )


def pain_flares(db) -> list:
    return [f for f in flags(db) if f[1] == "pain_flare"]


@pytest.mark.parametrize("withdrawn", [False, True], ids=["locked", "withdrawn and locked"])
def test_a_lock_before_a_date_closes_leaves_its_entry_judged(make_db, study, withdrawn):
    db = make_db()
    p = pain_10_on_dec_1(db, study)
    lock(db, p, withdrawn=withdrawn)
    run_close(db, study, utc(2025, 12, 2, 19, 0))  # Dec 1 closed at noon, after the lock
    assert [(f[4], f[5]) for f in pain_flares(db)] == [("2025-12-01", "2025-12-01")]
    for day in (3, 10, 30):
        run_close(db, study, utc(2025, 12, day, 19, 0))
    # Judged again by each run, it changes nothing; no date of it is closed or missed.
    assert [(f[4], f[5]) for f in pain_flares(db)] == [("2025-12-01", "2025-12-01")]
    assert missed(db) == []
    assert db.execute("SELECT closed_through FROM job_progress").fetchone()[0] == "2025-11-30"


def test_a_freeze_before_a_date_closes_leaves_its_entry_judged_then_waits(make_db, study):
    db = make_db()
    pain_10_on_dec_1(db, study)
    freeze(db)
    for day in (2, 3, 5):
        run_close(db, study, utc(2025, 12, day, 19, 0))
    assert [(f[4], f[5]) for f in pain_flares(db)] == [("2025-12-01", "2025-12-01")]
    assert missed(db) == []
    assert db.execute("SELECT closed_through FROM job_progress").fetchone()[0] == "2025-11-30"

    with transaction(db):  # the cut is taken: the freeze is lifted on Dec 6 at 9:00
        db.execute(
            "UPDATE study_freezes SET lifted_at = ?, lifted_by = 'admin', lift_reason = 'done'",
            ["2025-12-06T15:00:00.000000+00:00"],
        )
    run_close(db, study, utc(2025, 12, 6, 19, 0))
    # Caught up: the dates that closed while frozen close now, as any others, and the
    # missed record and the missed-entries flag name the same dates.
    assert db.execute("SELECT closed_through FROM job_progress").fetchone()[0] == "2025-12-05"
    gap = ["2025-12-02", "2025-12-03", "2025-12-04", "2025-12-05"]
    assert [d for _, d in missed(db)] == gap
    (flag,) = [f for f in flags(db) if f[1] == "missed_entries"]
    assert flag[6]["dates"] == gap
    assert [(f[4], f[5]) for f in pain_flares(db)] == [("2025-12-01", "2025-12-01")]


def test_a_lock_after_the_dates_closed_changes_nothing(make_db, study):
    db = make_db()
    p = pain_10_on_dec_1(db, study)
    run_close(db, study, utc(2025, 12, 2, 19, 0))
    before = (flags(db), missed(db))
    lock(db, p)
    for day in (3, 10):
        run_close(db, study, utc(2025, 12, day, 19, 0))
    assert (flags(db), missed(db)) == before
