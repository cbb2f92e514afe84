"""The flag engine writes a batch's flags and audit rows together (episodes.Writes):
each episode is found among the flags it listed instead of by a SELECT, new flags take
the ids SQLite would give them, and the audit chain is built in memory and appended in
one statement. What it writes must be exactly what writing each flag and audit row at
once writes: the same flags, ids, audit rows and hashes, notices and missed dates —
through a catch-up, acknowledgements and reopenings, entries synced late (dates taken
off missed-entries flags, flags resolving themselves), daily runs, and participants
whose evaluation fails part-way (before and after their writes reached the database).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from jobs_support import add_entries, add_participant, days_between, utc

from diary import audit, clock
from diary.db import transaction
from diary.flags import episodes
from diary.flags import queries as flag_queries
from diary.flags import service as flag_service
from diary.jobs import close_days
from diary.notify import outbox

ZONES = ("UTC", "America/Chicago", "Asia/Kolkata")
FIRST = date(2025, 9, 1)
PEOPLE = 9
STAFF = audit.Actor("staff", 1, "coord@site-a.test")


class Broken(Exception):
    """Stands for bad data met part-way through one participant's evaluation."""


def seed(db) -> list[dict]:
    rng = random.Random(7)
    people = []
    for n in range(PEOPLE):
        injections = (FIRST, FIRST + timedelta(days=30)) if n % 4 == 3 else (FIRST,)
        p = add_participant(
            db, f"LBP-{n:03d}", timezone=ZONES[n % 3], injections=injections, mme=10.0
        )
        days = {}
        for day in days_between(FIRST, FIRST + timedelta(days=59)):
            r = rng.random()
            if r < 0.15:
                continue  # a gap
            pain, mme = 4, 10.0
            if r < 0.22:
                pain = rng.choice([7, 8, 9])
            elif r < 0.3:
                mme = rng.choice([30.0, 60.0, 95.0])
            days[day] = (pain, mme)
        people.append((p, days))
    with transaction(db):
        staff_id = db.execute(
            "INSERT INTO staff (email, password_hash, role, created_at) VALUES (?, 'x', ?, ?)",
            ["coord@site-a.test", "coordinator", "2020-01-01T00:00:00+00:00"],
        ).lastrowid
        db.execute(
            "INSERT INTO staff_sites (staff_id, site_id) VALUES (?, ?)",
            [staff_id, people[0][0]["site_id"]],
        )
    # Entries up to day 40 are there at once; the rest arrive later, some of them late.
    for p, days in people:
        add_entries(db, p, {d: v for d, v in days.items() if d < FIRST + timedelta(days=40)})
    return people


def arrive(db, p: dict, days: dict, *, now) -> None:
    """Entries written at `now` (the closing job sees those for closed dates as late)."""
    stamp = clock.iso(now)
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
            " device_time, received_at, updated_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?) ON CONFLICT (participant_id, date) DO NOTHING",
            [
                (
                    p["id"],
                    d.isoformat(),
                    p["timezone"],
                    pain,
                    pain,
                    mme,
                    stamp,
                    stamp,
                    stamp,
                    f"{p['study_id']}-{d.isoformat()}",
                )
                for d, (pain, mme) in days.items()
            ],
        )


def scenario(db, study) -> None:
    people = seed(db)
    close_days.run(db, now=utc(2025, 10, 11, 19), study=study, config={})  # a catch-up
    staff_id = 1
    now = utc(2025, 10, 12, 9)
    with transaction(db):  # staff acknowledge every other open flag: gains reopen them
        for (flag_id,) in db.execute("SELECT id FROM flags WHERE status = 'open' AND id % 2 = 0"):
            flag = flag_queries.get_flag(db, flag_id, None)
            flag_service.acknowledge(db, flag=flag, actor=STAFF, staff_id=staff_id, now=now)
    for k in range(20):  # daily runs; a phone offline for two days syncs three days later
        at = utc(2025, 10, 12, 19) + timedelta(days=k)
        for i, (p, days) in enumerate(people):
            due = FIRST + timedelta(days=40 + k)
            phase = (i + k) % 5
            if phase in (1, 2):
                continue  # offline: the date closes missed
            since = due - timedelta(days=4) if phase == 0 else due
            arrive(db, p, {d: v for d, v in days.items() if since <= d <= due}, now=at)
        close_days.run(db, now=at, study=study, config={})


def outcome(db) -> dict:
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in db.execute(sql)]

    return {
        "flags": rows("SELECT * FROM flags ORDER BY id"),
        "missed": rows("SELECT * FROM missed_dates ORDER BY participant_id, date"),
        "audit": rows("SELECT * FROM audit_log ORDER BY id"),
        "outbox": rows("SELECT * FROM outbox ORDER BY id"),
        "urgent": rows("SELECT * FROM urgent_flags ORDER BY flag_id"),
        "progress": rows("SELECT * FROM job_progress ORDER BY participant_id"),
        "failures": rows(
            "SELECT job_id, participant_id, failures, error FROM job_failures ORDER BY 2"
        ),
    }


class OneAtATime(episodes.Writes):
    """Every flag and audit row written at once, as before batching."""

    def __init__(self, db, *, batched: bool = False) -> None:
        super().__init__(db, batched=False)


@pytest.fixture
def failing_parts(monkeypatch):
    """Participants whose evaluation fails part-way: LBP-004 on the third finding of an
    evaluation (its writes so far only waiting), LBP-005 a few findings after an urgent
    notice of theirs was queued (their flags written inside their savepoint, more
    waiting), LBP-006 right as its urgent notice is queued. Returns what was raised."""
    raised: list[str] = []
    state = {"participant": "", "findings": 0, "noticed": 0}
    evaluate_one = close_days.engine._evaluate_one
    with_injection = episodes.with_injection
    enqueue = outbox.enqueue_urgent_flag

    def tracking(db, study, s, *args, **kwargs):
        state.update(participant=s.participant["study_id"], findings=0, noticed=0)
        return evaluate_one(db, study, s, *args, **kwargs)

    def fail(who: str) -> None:
        raised.append(who)
        raise Broken(who)

    def flaky_injection(finding, injections):
        state["findings"] += 1
        who = state["participant"]
        if who == "LBP-004" and state["findings"] == 3 and raised.count(who) < 3:
            fail(who)
        if who == "LBP-005" and state["noticed"] and state["findings"] - state["noticed"] == 3:
            fail(who)
        return with_injection(finding, injections)

    def flaky_enqueue(db, *, flag_id, participant, now, **kwargs):
        ids = enqueue(db, flag_id=flag_id, participant=participant, now=now, **kwargs)
        state["noticed"] = state["findings"]
        if participant["study_id"] == "LBP-006":
            fail("LBP-006")
        return ids

    monkeypatch.setattr(close_days.engine, "_evaluate_one", tracking)
    monkeypatch.setattr(episodes, "with_injection", flaky_injection)
    monkeypatch.setattr(outbox, "enqueue_urgent_flag", flaky_enqueue)
    return raised


def test_batched_flag_writes_are_the_one_at_a_time_writes(make_db, study, monkeypatch):
    batched = make_db("batched")
    statements: list[str] = []
    batched.conn.set_trace_callback(statements.append)
    scenario(batched, study)
    batched.conn.set_trace_callback(None)

    with monkeypatch.context() as patch:
        patch.setattr(episodes, "Writes", OneAtATime)
        single = make_db("single")
        one_by_one: list[str] = []
        single.conn.set_trace_callback(one_by_one.append)
        scenario(single, study)
        single.conn.set_trace_callback(None)

    expected = outcome(single)
    assert outcome(batched) == expected
    assert audit.verify(batched).ok
    kinds = {(f[2], f[3]) for f in expected["flags"]}
    assert {k for k, _ in kinds} == {
        "missed_entries",
        "pain_flare",
        "opioid_threshold",
        "opioid_increase",
    }
    assert ("opioid_threshold", "urgent") in kinds and expected["outbox"]
    actions = {r[5] for r in expected["audit"]}
    assert {"flag.open", "flag.update", "flag.reopen", "flag.auto_resolve"} <= actions

    # …without a SELECT of each flag's episode, nor of the chain's head for each audit row
    # (the staff's acknowledgements still append theirs one at a time).
    def reads(traced: list[str]) -> tuple[int, int]:
        episode = sum(s.startswith("SELECT * FROM flags WHERE participant_id") for s in traced)
        head = sum(s.startswith("SELECT id, hash FROM audit_log") for s in traced)
        return episode, head

    acknowledged = sum(r[5] == "flag.acknowledge" for r in expected["audit"])
    episode, head = reads(one_by_one)
    assert episode > 100 and head == len(expected["audit"])
    episode, head = reads(statements)
    assert episode == 0 and head <= 21 + acknowledged  # one a run (21 runs)


def test_a_participant_failing_part_way_leaves_the_same_either_way(
    make_db, study, monkeypatch, failing_parts
):
    batched = make_db("batched")
    scenario(batched, study)
    raised_batched = list(failing_parts)

    with monkeypatch.context() as patch:
        patch.setattr(episodes, "Writes", OneAtATime)
        failing_parts.clear()
        single = make_db("single")
        scenario(single, study)

    assert failing_parts == raised_batched
    assert set(failing_parts) == {"LBP-004", "LBP-005", "LBP-006"}
    expected = outcome(single)
    assert outcome(batched) == expected
    assert audit.verify(batched).ok
    # LBP-006's urgent notices were queued, then rolled back with the rest of its writes.
    assert not batched.execute(
        "SELECT count(*) FROM outbox o JOIN participants p ON p.id = o.participant_id"
        " WHERE p.study_id = 'LBP-006'"
    ).fetchone()[0]
