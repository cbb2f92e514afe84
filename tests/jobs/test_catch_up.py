"""Idempotent and catching up: however runs are spaced, the flags and misses come out the same."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from jobs_support import add_entries, add_participant, days_between, flags, missed, run_close, utc

from diary.db import transaction

FIRST = date(2025, 9, 20)
ZONES = ["America/Chicago", "Asia/Kolkata", "Pacific/Auckland", "Europe/London", "UTC"]
END = utc(2025, 11, 10, 19, 0)  # after the DST changes of Chicago, London and Auckland


def seed(db, rng_seed: int = 7) -> None:
    """Five participants, one per zone, with gaps, flares, opioid spikes and a crossover."""
    rng = random.Random(rng_seed)
    for n, zone in enumerate(ZONES):
        injections = (FIRST, FIRST + timedelta(days=25)) if n == 2 else (FIRST,)
        p = add_participant(
            db, f"LBP-{n:03d}", timezone=zone, injections=injections, back_pain=4, mme=10.0
        )
        days = {}
        for day in days_between(FIRST, END.date() + timedelta(days=1)):
            if rng.random() < 0.15:
                continue  # a gap
            pain = rng.choice([3, 4, 4, 5, 6, 7, 9]) if rng.random() < 0.3 else 4
            mme = rng.choice([10.0, 10.0, 25.0, 50.0, 50.01, 95.0, None])
            days[day] = (pain, mme)
        add_entries(db, p, days)


def state(db):
    return flags(db), missed(db)


@pytest.fixture
def once(make_db, study):
    db = make_db("once")
    seed(db)
    run_close(db, study, END)
    return state(db)


def test_the_dataset_raises_every_kind_of_flag(once):
    kinds = {f[1] for f in once[0]}
    assert kinds == {"missed_entries", "pain_flare", "opioid_threshold", "opioid_increase"}


def test_running_twice_at_the_same_instant_equals_running_once(make_db, study, once):
    db = make_db()
    seed(db)
    run_close(db, study, END)
    audit_rows = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    second = run_close(db, study, END)
    assert second["dates_closed"] == 0
    assert second["flags_opened"] == second["flags_updated"] == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_rows
    assert state(db) == once


def test_running_every_hour_equals_running_once(make_db, study, once):
    db = make_db()
    seed(db)
    instant = utc(2025, 9, 20, 0, 0)
    while instant <= END:
        run_close(db, study, instant)
        instant += timedelta(hours=1)
    run_close(db, study, END)
    assert state(db) == once


def test_five_days_down_then_one_run_equals_five_daily_runs(make_db, study):
    daily, caught_up = make_db("daily"), make_db("caught_up")
    for db in (daily, caught_up):
        seed(db)
        for day in days_between(date(2025, 9, 20), date(2025, 10, 31)):
            run_close(db, study, utc(day.year, day.month, day.day, 19))
    for day in days_between(date(2025, 11, 1), date(2025, 11, 5)):
        run_close(daily, study, utc(day.year, day.month, day.day, 19))
    summary = run_close(caught_up, study, utc(2025, 11, 5, 19))
    assert summary["dates_closed"] == 5 * len(ZONES)
    assert state(caught_up) == state(daily)


def test_a_continuing_miss_streak_updates_its_flag_and_raises_severity(make_db, study):
    db = make_db()
    p = add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    add_entries(db, p, {date(2025, 10, 1): (4, 10.0)})
    run_close(db, study, utc(2025, 10, 3, 12))  # 2 Oct missed
    assert [(f[2], f[4], f[5]) for f in flags(db)] == [("low", "2025-10-02", "2025-10-02")]
    run_close(db, study, utc(2025, 10, 5, 12))  # 3 and 4 Oct missed too
    assert [(f[2], f[4], f[5], f[6]["count"]) for f in flags(db)] == [
        ("high", "2025-10-02", "2025-10-04", 3)
    ]


def test_after_a_resolved_flag_the_continuing_episode_opens_a_new_flag(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    run_close(db, study, utc(2025, 10, 3, 12))  # 1-2 Oct missed
    with transaction(db):
        db.execute("UPDATE flags SET status = 'resolved', outcome = 'not_ae'")
    run_close(db, study, utc(2025, 10, 3, 12))
    assert len(flags(db)) == 1  # nothing new: re-running does not reopen what was resolved
    run_close(db, study, utc(2025, 10, 5, 12))  # 3-4 Oct missed as well
    rows = flags(db)
    assert [(f[3], f[4], f[5]) for f in rows] == [
        ("resolved", "2025-10-01", "2025-10-02"),
        ("open", "2025-10-03", "2025-10-04"),
    ]
    assert rows[1][6]["episode_first_date"] == "2025-10-01"
    assert rows[1][2] == "high"  # four in a row by now


def test_watch_windows_count_from_the_latest_injection(make_db, study):
    db = make_db()
    p = add_participant(
        db, "LBP-001", timezone="UTC", injections=(date(2025, 4, 1), date(2025, 10, 1))
    )
    add_entries(db, p, {d: (4, 10.0) for d in days_between(date(2025, 4, 1), date(2025, 10, 5))})
    add_entries(db, p, {date(2025, 10, 6): (9, 10.0)})
    run_close(db, study, utc(2025, 10, 7, 12))
    (flare,) = [f for f in flags(db) if f[1] == "pain_flare"]
    assert flare[6]["injection_date"] == "2025-10-01"
    assert flare[6]["days_after_injection"] == 5


def test_each_flag_change_is_audited_by_the_job(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    run_close(db, study, utc(2025, 10, 3, 12))
    run_close(db, study, utc(2025, 10, 4, 12))
    rows = db.execute("SELECT actor_type, actor_id, action FROM audit_log ORDER BY id").fetchall()
    assert rows == [
        ("system", "close_diary_dates", "flag.open"),
        ("system", "close_diary_dates", "flag.update"),
    ]


def test_an_entry_synced_late_is_unmissed_and_its_pain_evaluated(make_db, study):
    db = make_db()
    p = add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    add_entries(db, p, {date(2025, 10, 1): (4, 10.0), date(2025, 10, 3): (4, 10.0)})
    run_close(db, study, utc(2025, 10, 4, 12))
    assert [d for _, d in missed(db)] == ["2025-10-02"]
    # Made offline on 2 Oct inside its window, synced on 5 Oct (the API accepts it).
    add_entries(db, p, {date(2025, 10, 2): (9, 10.0)})
    with transaction(db):
        db.execute(
            "UPDATE entries SET updated_at = ? WHERE date = '2025-10-02'",
            ["2025-10-05T09:00:00.000000+00:00"],
        )
    summary = run_close(db, study, utc(2025, 10, 5, 12))
    assert summary["rechecked"] == 1
    assert [d for _, d in missed(db)] == ["2025-10-04"]
    kinds = [(f[1], f[4], f[5]) for f in flags(db)]
    assert ("pain_flare", "2025-10-02", "2025-10-02") in kinds
    # The miss flagged at the time stays on record for staff; nothing is raised twice.
    assert ("missed_entries", "2025-10-02", "2025-10-02") in kinds
    before = flags(db)
    assert run_close(db, study, utc(2025, 10, 5, 13))["rechecked"] == 0
    assert flags(db) == before
