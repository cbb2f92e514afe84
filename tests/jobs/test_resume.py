"""A catch-up works in batches, each committed with its checkpoints (issue 18).

Stopped part-way — an exception, or the process killed outright — it leaves the
batches before committed and the one it was in undone, and the next run resumes:
every date is closed once, and the flags, missed dates and audit trail come out
exactly as from a run that was never stopped (and as from daily runs).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from jobs_support import add_entries, add_participant, days_between, flags, missed, utc

from diary.jobs import close_days

ROOT = Path(__file__).resolve().parents[2]
ZONES = ("UTC", "America/Chicago", "Asia/Kolkata")
FIRST = date(2025, 9, 1)
DAYS = 60
PEOPLE = 9
# 19:00 UTC: the day before has closed in all three zones, and no later date has.
END = utc(2025, 10, 31, 19)  # FIRST + DAYS
PER_PARTICIPANT = DAYS  # dates each closes in the catch-up
SMALL_BATCH = 2 * PER_PARTICIPANT + 5  # two participants a batch


class Crash(Exception):
    """Stands for the process dying between two statements."""


def seed(db) -> None:
    """PEOPLE participants with gaps, flares, opioid rises and urgent doses."""
    rng = random.Random(18)
    for n in range(PEOPLE):
        injections = (FIRST, FIRST + timedelta(days=30)) if n % 4 == 3 else (FIRST,)
        p = add_participant(
            db, f"LBP-{n:03d}", timezone=ZONES[n % 3], injections=injections, mme=10.0
        )
        days = {}
        for day in days_between(FIRST, FIRST + timedelta(days=DAYS - 1)):
            r = rng.random()
            if r < 0.12:
                continue  # a gap
            pain, mme = 4, 10.0
            if r < 0.2:
                pain = rng.choice([7, 8, 9])
            elif r < 0.27:
                mme = rng.choice([30.0, 60.0, 95.0])
            days[day] = (pain, mme)
        add_entries(db, p, days)


def outcome(db) -> dict:
    """Everything the job writes, ids and hashes included."""

    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in db.execute(sql)]

    return {
        "flags": rows("SELECT * FROM flags ORDER BY id"),
        "missed": rows("SELECT * FROM missed_dates ORDER BY participant_id, date"),
        "audit": rows("SELECT * FROM audit_log ORDER BY id"),
        "outbox": rows("SELECT id, purpose, flag_id, participant_id FROM outbox ORDER BY id"),
        "progress": rows("SELECT * FROM job_progress ORDER BY participant_id"),
    }


@pytest.fixture
def uninterrupted(make_db, study):
    db = make_db("uninterrupted")
    seed(db)
    summary = close_days.run(db, now=END, study=study, config={})
    assert summary["dates_closed"] == PEOPLE * PER_PARTICIPANT
    return outcome(db)


def test_the_dataset_exercises_every_kind_of_flag(uninterrupted):
    kinds = {f[2] for f in uninterrupted["flags"]}
    assert kinds == {"missed_entries", "pain_flare", "opioid_threshold", "opioid_increase"}
    assert "urgent" in {f[3] for f in uninterrupted["flags"]}


def test_small_batches_come_out_as_one(make_db, study, uninterrupted):
    db = make_db()
    seed(db)
    done: list[int] = []
    close_days.run(
        db, now=END, study=study, config={}, batch_dates=SMALL_BATCH, before_commit=done.append
    )
    assert done == list(range(2, PEOPLE, 2)) + [PEOPLE]  # two participants a batch
    assert outcome(db) == uninterrupted


def test_a_catch_up_stopped_mid_batch_resumes_and_closes_each_date_once(
    make_db, study, uninterrupted
):
    db = make_db()
    seed(db)

    def crash_in_third_batch(done: int) -> None:
        if done > 4:
            raise Crash

    with pytest.raises(Crash):
        close_days.run(
            db,
            now=END,
            study=study,
            config={},
            batch_dates=SMALL_BATCH,
            before_commit=crash_in_third_batch,
        )
    # Two batches committed with their checkpoints; the third left nothing behind.
    checkpointed = [r[0] for r in db.execute("SELECT participant_id FROM job_progress")]
    assert len(checkpointed) == 4
    assert {r[0] for r in db.execute("SELECT participant_id FROM flags")} <= set(checkpointed)
    assert {r[0] for r in db.execute("SELECT participant_id FROM missed_dates")} <= set(
        checkpointed
    )

    summary = close_days.run(db, now=END, study=study, config={}, batch_dates=SMALL_BATCH)

    assert summary["participants"] == PEOPLE - 4
    assert summary["dates_closed"] == (PEOPLE - 4) * PER_PARTICIPANT
    assert outcome(db) == uninterrupted
    assert close_days.run(db, now=END, study=study, config={})["dates_closed"] == 0


KILLED_RUN = """
import os, signal, sys
from datetime import datetime
from diary import study as study_module
from diary.db import connect
from diary.jobs import close_days

def kill_in_third_batch(done):
    if done > 4:
        os.kill(os.getpid(), signal.SIGKILL)

close_days.run(
    connect(sys.argv[1]),
    now=datetime.fromisoformat(sys.argv[2]),
    study=study_module.load(sys.argv[3]),
    config={},
    batch_dates=int(sys.argv[4]),
    before_commit=kill_in_third_batch,
)
"""


def test_a_catch_up_killed_mid_batch_resumes_and_closes_each_date_once(
    make_db, study, uninterrupted, tmp_path
):
    db = make_db("killed")
    seed(db)
    path = db.execute("PRAGMA database_list").fetchone()[2]
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            path,
            END.isoformat(),
            str(ROOT / "study.toml"),
            str(SMALL_BATCH),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert db.execute("SELECT count(*) FROM job_progress").fetchone()[0] == 4

    summary = close_days.run(db, now=END, study=study, config={})

    assert summary["dates_closed"] == (PEOPLE - 4) * PER_PARTICIPANT
    assert outcome(db) == uninterrupted


def test_a_batched_catch_up_flags_as_daily_runs_do(make_db, study, uninterrupted):
    db = make_db("daily")
    seed(db)
    for day in days_between(FIRST + timedelta(days=1), END.date()):
        close_days.run(db, now=utc(day.year, day.month, day.day, 19), study=study, config={})
    caught_up = make_db("caught_up")
    seed(caught_up)
    close_days.run(caught_up, now=END, study=study, config={}, batch_dates=SMALL_BATCH)

    assert flags(caught_up) == flags(db)
    assert missed(caught_up) == missed(db)
