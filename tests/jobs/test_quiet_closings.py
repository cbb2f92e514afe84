"""The daily run's quiet closings in SQL change nothing a full evaluation would find.

`engine.close_quietly` advances, in one statement, the checkpoint of each participant
whose one newly closed date is entered, ordinary and touches no open flag, without
reading them into Python. A participant the closing job failed on before is always
evaluated in full (`job_failures`): two copies of the same study, one of them with
every participant marked failing, must end with the same flags, missed dates and
checkpoints, whatever the diaries hold. And each thing that makes a date
not quiet keeps its participant out of the SQL path.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import add_entries, add_participant, days_between, flags, missed, utc

from diary.db import transaction
from diary.flags import engine
from diary.flags import queries as flag_queries
from diary.jobs import close_days
from diary.jobs import queries as job_queries

ZONES = ("UTC", "America/Chicago", "Asia/Kolkata", "Pacific/Auckland")
START = date(2025, 11, 20)
CLOSING = date(2025, 12, 1)  # the date the measured run closes, in every zone
RUN_AT = utc(2025, 12, 2, 19, 0)  # after 12:00 on Dec 2 in each zone, before Dec 3's
HISTORY = days_between(START, CLOSING - timedelta(days=1))

# Values at and around every threshold of SPEC §6 (baselines below).
MME = st.sampled_from([None, 0.0, 5.0, 10.0, 14.99, 15.0, 20.0, 30.0, 45.0, 50.0, 50.01, 90.0])
DAY = st.one_of(st.none(), st.tuples(st.integers(0, 10), MME, st.booleans()))
PERSON = st.tuples(
    st.integers(0, 10),  # baseline back pain
    st.sampled_from([0.0, 5.0, 10.0, 30.0]),  # baseline MME
    st.lists(DAY, min_size=len(HISTORY), max_size=len(HISTORY)),
    # the closing date: mostly an ordinary entry, so that the SQL path has work
    st.one_of(st.tuples(st.integers(0, 6), st.sampled_from([0.0, 5.0, 10.0]), st.just(False)), DAY),
)


def build(db, study, people) -> None:
    """The study caught up through the day before CLOSING, then CLOSING's entries."""
    added = []
    for n, (pain, mme, history, _) in enumerate(people):
        p = add_participant(
            db,
            f"LBP-{n:03d}",
            timezone=ZONES[n % len(ZONES)],
            injections=(START,),
            back_pain=pain,
            mme=mme,
        )
        enter(db, p, dict(zip(HISTORY, history, strict=True)))
        added.append(p)
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    for p, (_, _, _, closing) in zip(added, people, strict=True):
        enter(db, p, {CLOSING: closing})


def enter(db, participant, days) -> None:
    add_entries(db, participant, {d: v[:2] for d, v in days.items() if v is not None})
    unconverted = [d.isoformat() for d, v in days.items() if v is not None and v[2]]
    with transaction(db):
        db.conn.executemany(
            "UPDATE entries SET mme_unconverted = '[\"buprenorphine\"]'"
            " WHERE participant_id = ? AND date = ?",
            [(participant["id"], d) for d in unconverted],
        )


def outcome(db) -> tuple:
    checkpoints = db.execute(
        "SELECT participant_id, closed_through FROM job_progress ORDER BY 1"
    ).fetchall()
    return flags(db), missed(db), checkpoints


def quiet_now(db, study) -> dict[int, date]:
    closed = {
        z: close_days.last_closed_date(RUN_AT, z, study.window_closes_next_day_at) for z in ZONES
    }
    return flag_queries.quiet_closings(
        db, close_days.JOB_ID, closed, [], **engine.quiet_limits(study)
    )


EXAMPLES = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=st.lists(PERSON, min_size=4, max_size=8))
def test_closing_in_sql_finds_what_the_full_evaluation_finds(make_db, study, people):
    n = next(EXAMPLES)
    by_sql, in_full = make_db(f"sql-{n}"), make_db(f"full-{n}")
    for db in (by_sql, in_full):
        build(db, study, people)
    with transaction(in_full):
        job_queries.record_failures(
            in_full,
            close_days.JOB_ID,
            [
                (pid, "an earlier failure")
                for (pid,) in in_full.execute("SELECT id FROM participants")
            ],
            now=RUN_AT,
        )
    assert quiet_now(in_full, study) == {}
    quiet = {study_id(by_sql, pid) for pid in quiet_now(by_sql, study)}
    a = close_days.run(by_sql, now=RUN_AT, study=study, config={})
    b = close_days.run(in_full, now=RUN_AT, study=study, config={})
    assert outcome(by_sql) == outcome(in_full)
    counts = ("participants", "dates_closed", "missed", "flags_opened", "flags_updated")
    assert {k: a[k] for k in counts} == {k: b[k] for k in counts}
    assert a["dates_closed"] == len(people)
    # A quiet closing is one the full evaluation also leaves without a flag on that date.
    assert not [f for f in flags(in_full) if f[0] in quiet and f[5] >= CLOSING.isoformat()]


def study_id(db, pid: int) -> str:
    return db.execute("SELECT study_id FROM participants WHERE id = ?", [pid]).fetchone()[0]


def ordinary(db, study_id: str, **kwargs) -> dict:
    """A participant caught up through the day before CLOSING with ordinary days, and an
    ordinary entry on CLOSING."""
    p = add_participant(db, study_id, injections=(START,), **kwargs)
    add_entries(db, p, {d: (4, 10.0) for d in [*HISTORY, CLOSING]})
    return p


def test_what_keeps_a_participant_out_of_the_sql_path(make_db, study):
    db = make_db()
    names = [
        "ordinary",
        "high pain",
        "at the flare ceiling",
        "high MME",
        "raised mean",
        "unconverted opioid",
        "no entry",
        "open flag on the date",
        "locked",
        "withdrawn",
        "late entry",
        "failing",
        "diary over",
        "two dates",
    ]
    people = {name: ordinary(db, f"LBP-{i:03d}", back_pain=3) for i, name in enumerate(names)}
    closes = study.window_closes_next_day_at

    def pid(name):
        return people[name]["id"]

    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    with transaction(db):
        set_entry = "UPDATE entries SET {} WHERE participant_id = ? AND date = ?"
        on_closing = [CLOSING.isoformat()]
        db.execute(set_entry.format("back_pain = 6"), [pid("high pain"), *on_closing])
        db.execute(set_entry.format("back_pain = 9"), [pid("at the flare ceiling"), *on_closing])
        db.execute(set_entry.format("mme = 50.5"), [pid("high MME"), *on_closing])
        # 10 mg baseline: a mean of 20 over the window is raised; the day before is 30
        db.execute(
            set_entry.format("mme = 30"),
            [pid("raised mean"), (CLOSING - timedelta(days=1)).isoformat()],
        )
        db.execute(
            set_entry.format("mme_unconverted = '[\"buprenorphine\"]'"),
            [pid("unconverted opioid"), *on_closing],
        )
        db.execute(
            "DELETE FROM entries WHERE participant_id = ? AND date = ?",
            [pid("no entry"), *on_closing],
        )
        db.execute(
            "UPDATE participants SET locked_at = ? WHERE id = ?", ["2025-12-02", pid("locked")]
        )
        db.execute(
            "UPDATE participants SET status = 'withdrawn', ended_at = ? WHERE id = ?",
            ["2025-12-02T15:00:00+00:00", pid("withdrawn")],
        )
        job_queries.record_failures(db, close_days.JOB_ID, [(pid("failing"), "x")], now=RUN_AT)
        db.execute(
            "UPDATE job_progress SET closed_through = ? WHERE participant_id = ?",
            [(CLOSING - timedelta(days=2)).isoformat(), pid("two dates")],
        )
        db.execute(
            "UPDATE injections SET date = ? WHERE participant_id = ?",
            [(CLOSING - timedelta(days=study.length_days + 1)).isoformat(), pid("diary over")],
        )
    entry_id = db.execute(
        "SELECT id FROM entries WHERE participant_id = ? AND date = ?",
        [pid("open flag on the date"), CLOSING.isoformat()],
    ).fetchone()[0]
    with transaction(db):
        p = people["open flag on the date"]
        engine.raise_red_flags(
            db,
            study,
            participant={**p, "baseline_back_pain": 3},
            day=CLOSING,
            codes=["fever"],
            temperature_c=38.5,
            entry_version=1,
            entry_id=entry_id,
            actor=close_days.audit.system("test"),
            now=RUN_AT,
        )
    late = {pid("late entry"): CLOSING - timedelta(days=3)}
    closed = {"America/Chicago": close_days.last_closed_date(RUN_AT, "America/Chicago", closes)}
    assert closed["America/Chicago"] == CLOSING
    quiet = flag_queries.quiet_closings(
        db, close_days.JOB_ID, closed, late, **engine.quiet_limits(study)
    )
    assert {name for name in names if pid(name) in quiet} == {"ordinary"}
    assert quiet[pid("ordinary")] == CLOSING
    # What the statement leaves out, the full evaluation judges: the flags come from there.
    summary = close_days.run(db, now=RUN_AT, study=study, config={})
    assert summary["dates_closed"] >= len(names) - 4
    kinds = {(f[0], f[1]) for f in flags(db) if f[5] == CLOSING.isoformat()}
    assert ("LBP-002", "pain_flare") in kinds
    assert ("LBP-003", "opioid_threshold") in kinds
    assert ("LBP-006", "missed_entries") in kinds
