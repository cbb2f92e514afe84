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
import json
import re
from datetime import date, timedelta

import pytest
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


LOS_ANGELES = "America/Los_Angeles"  # at RUN_AT, Dec 1 is still open there: Nov 30 closed
QUIET = {
    "ordinary",
    "MME at the limit",
    "ordinary in Los Angeles",
    # red flags have their own path: nothing the closing's rules read or change
    "open red flag on the date",
    "acknowledged red flag on the date",
}
KEPT_OUT = [
    "pain at the flare floor",
    "at the flare ceiling",
    "MME over the limit",
    "raised mean",
    "mean at the floor",
    "unconverted opioid",
    "no entry",
    "open opioid flag on the date",
    "acknowledged opioid flag on the date",
    "open missed-entries flag on the date",
    "locked",
    "withdrawn",
    "stopped, no end recorded",
    "ended, still active",
    "late entry",
    "failing",
    "diary over",
    "two dates",
    "baseline opioids not JSON",
    "enrolled at a naive instant",
    "in Los Angeles, closed through the day before",
    "moved to Los Angeles, closed through the day before",
]


def test_what_keeps_a_participant_out_of_the_sql_path(make_db, study):
    db = make_db()
    names = [*sorted(QUIET), *KEPT_OUT]
    in_los_angeles = {"ordinary in Los Angeles", "in Los Angeles, closed through the day before"}
    people = {
        name: ordinary(
            db,
            f"LBP-{i:03d}",
            back_pain=3,
            mme=40.0 if "MME" in name else 10.0,
            timezone=LOS_ANGELES if name in in_los_angeles else "America/Chicago",
        )
        for i, name in enumerate(names)
    }
    closes = study.window_closes_next_day_at

    def pid(name):
        return people[name]["id"]

    closing, day_before = CLOSING.isoformat(), (CLOSING - timedelta(days=1)).isoformat()
    with transaction(db):
        db.execute(
            "INSERT INTO participant_timezones (participant_id, timezone, effective_from)"
            " VALUES (?, ?, ?)",
            [pid("moved to Los Angeles, closed through the day before"), LOS_ANGELES, "2025-11-25"],
        )
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    with transaction(db):

        def entry(name, change, day=closing):
            db.execute(
                f"UPDATE entries SET {change} WHERE participant_id = ? AND date = ?",
                [pid(name), day],
            )

        def participant(name, change, *values):
            db.execute(f"UPDATE participants SET {change} WHERE id = ?", [*values, pid(name)])

        # baseline pain 3: 5 is the lowest raised pain (≥ 3 + 2 and ≥ 3 × 1.3), 9 the ceiling
        entry("pain at the flare floor", "back_pain = 5")
        entry("at the flare ceiling", "back_pain = 9")
        # baseline MME 40: the increase floor is 60, so only mme_high (50) can keep them out
        db.execute(
            "UPDATE entries SET mme = 40 WHERE participant_id = ?", [pid("MME at the limit")]
        )
        entry("MME at the limit", "mme = 50")
        db.execute(
            "UPDATE entries SET mme = 40 WHERE participant_id = ?", [pid("MME over the limit")]
        )
        entry("MME over the limit", "mme = 50.5")
        # baseline MME 10: a window whose highest day reaches 20 may be raised
        entry("raised mean", "mme = 30", day_before)
        entry("mean at the floor", "mme = 20", day_before)
        entry("unconverted opioid", "mme_unconverted = '[\"buprenorphine\"]'")
        db.execute(
            "DELETE FROM entries WHERE participant_id = ? AND date = ?",
            [pid("no entry"), closing],
        )
        participant("locked", "locked_at = ?", "2025-12-02T10:00:00+00:00")
        participant("withdrawn", "status = 'withdrawn', ended_at = ?", "2025-12-02T15:00:00+00:00")
        participant("stopped, no end recorded", "status = 'withdrawn'")
        participant("ended, still active", "ended_at = ?", "2025-12-02T15:00:00+00:00")
        participant("baseline opioids not JSON", "baseline_opioids = 'oops'")
        participant("enrolled at a naive instant", "enrolled_at = '2025-11-01T00:00:00'")
        job_queries.record_failures(db, close_days.JOB_ID, [(pid("failing"), "x")], now=RUN_AT)
        for name, through in (
            ("two dates", CLOSING - timedelta(days=2)),
            ("in Los Angeles, closed through the day before", CLOSING - timedelta(days=1)),
            ("moved to Los Angeles, closed through the day before", CLOSING - timedelta(days=1)),
        ):
            db.execute(
                "UPDATE job_progress SET closed_through = ? WHERE participant_id = ?",
                [through.isoformat(), pid(name)],
            )
        db.execute(
            "UPDATE injections SET date = ? WHERE participant_id = ?",
            [(CLOSING - timedelta(days=study.length_days + 1)).isoformat(), pid("diary over")],
        )
    for name, kind, status in (
        ("open red flag on the date", "red_flag_symptom", "open"),
        ("acknowledged red flag on the date", "red_flag_symptom", "acknowledged"),
        ("open opioid flag on the date", "opioid_threshold", "open"),
        ("acknowledged opioid flag on the date", "opioid_threshold", "acknowledged"),
        ("open missed-entries flag on the date", "missed_entries", "open"),
    ):
        flag_on_closing(db, study, people[name], kind, status)
    late = {pid("late entry"): CLOSING - timedelta(days=3)}
    closed = {
        z: close_days.last_closed_date(RUN_AT, z, closes) for z in ("America/Chicago", LOS_ANGELES)
    }
    assert closed == {"America/Chicago": CLOSING, LOS_ANGELES: CLOSING - timedelta(days=1)}
    quiet = flag_queries.quiet_closings(
        db, close_days.JOB_ID, closed, late, **engine.quiet_limits(study)
    )
    assert {name for name in names if pid(name) in quiet} == QUIET
    assert quiet[pid("ordinary")] == CLOSING
    assert quiet[pid("ordinary in Los Angeles")] == CLOSING - timedelta(days=1)

    # What the statement leaves out, the full evaluation judges: the flags come from there,
    # a failure is recorded, a zone whose date is still open waits.
    close_days.run(db, now=RUN_AT, study=study, config={})
    kinds = {(f[0], f[1]) for f in flags(db) if f[5] == closing}
    for name, kind in (
        # (a pain at the floor, or a day raising the window's highest MME to the floor, may
        # start or continue a finding but is not one alone: only the rules can tell)
        ("at the flare ceiling", "pain_flare"),
        ("MME over the limit", "opioid_threshold"),
        ("unconverted opioid", "opioid_unconvertible"),
        ("no entry", "missed_entries"),
    ):
        assert (people[name]["study_id"], kind) in kinds, name
    # A missed-entries flag listing a date that has an entry comes off it: left with none,
    # it resolves itself (only the full evaluation does this; a quiet closing would not).
    assert db.execute(
        "SELECT status, outcome FROM flags WHERE participant_id = ? AND kind = 'missed_entries'",
        [pid("open missed-entries flag on the date")],
    ).fetchone() == ("resolved", "auto_resolved")
    failing = {r[0] for r in db.execute("SELECT participant_id FROM job_failures")}
    assert {pid("baseline opioids not JSON"), pid("enrolled at a naive instant")} <= failing
    for name in (
        "in Los Angeles, closed through the day before",
        "moved to Los Angeles, closed through the day before",
    ):
        through = db.execute(
            "SELECT closed_through FROM job_progress WHERE participant_id = ?", [pid(name)]
        ).fetchone()[0]
        assert through == day_before, name


FLAG_DETAILS = {
    "red_flag_symptom": ("urgent", {"symptoms": ["fever"], "temperature_c": 38.5}),
    "opioid_threshold": ("high", {"max_mme": 60.0}),
    "missed_entries": ("low", {"count": 1, "dates": [CLOSING.isoformat()]}),
}


def flag_on_closing(db, study, p: dict, kind: str, status: str) -> None:
    """A flag of `kind` on CLOSING, raised by its entry, in `status`."""
    entry_id = db.execute(
        "SELECT id FROM entries WHERE participant_id = ? AND date = ?",
        [p["id"], CLOSING.isoformat()],
    ).fetchone()[0]
    severity, detail = FLAG_DETAILS[kind]
    with transaction(db):
        flag_id, _ = engine.episodes.upsert(
            db,
            study.thresholds,
            participant={**p, "baseline_back_pain": 3},
            finding=engine.rules.Finding(
                kind=kind,
                severity=severity,
                first_date=CLOSING,
                last_date=CLOSING,
                detail=detail,
            ),
            episode_key=CLOSING.isoformat(),
            actor=close_days.audit.system("test"),
            now=RUN_AT,
            entry_id=entry_id,
        )
        db.execute("UPDATE flags SET status = ? WHERE id = ?", [status, flag_id])


def test_a_frozen_study_closes_nothing_in_sql(make_db, study):
    db = make_db()
    ordinary(db, "LBP-001")
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    closed = {"America/Chicago": CLOSING}
    limits = engine.quiet_limits(study)
    assert flag_queries.quiet_closings(db, close_days.JOB_ID, closed, [], **limits)
    with transaction(db):
        db.execute(
            "INSERT INTO study_freezes (frozen_at, frozen_by, reason) VALUES (?, ?, ?)",
            ["2025-12-02T10:00:00+00:00", "admin", "database lock for the interim analysis"],
        )
    assert flag_queries.quiet_closings(db, close_days.JOB_ID, closed, [], **limits) == {}


def test_the_quiet_closings_run_in_spans_of_participants(make_db, study):
    """One short write transaction per span of ids, and every participant in one span."""
    db = make_db()
    people = [ordinary(db, f"LBP-{n:03d}") for n in range(7)]
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    spans = job_queries.id_spans(db, close_days.JOB_ID, 3)
    ids = [p["id"] for p in people]
    assert spans == [(ids[0], ids[2]), (ids[3], ids[5]), (ids[6], ids[6])]
    closed = {"America/Chicago": CLOSING}
    limits = engine.quiet_limits(study)
    each = [
        flag_queries.quiet_closings(db, close_days.JOB_ID, closed, [], ids=s, **limits)
        for s in spans
    ]
    assert [sorted(q) for q in each] == [ids[0:3], ids[3:6], ids[6:7]]


class Crash(Exception):
    """Stands for the process dying between two statements."""


def test_a_daily_run_stopped_after_its_quiet_closings_resumes_and_closes_each_date_once(
    make_db, study
):
    """The quiet closings commit before the evaluation; a run stopped in its first
    evaluated batch leaves them done, and the next run closes only the rest."""
    people = [(3, 10.0, [(4, 10.0, False)] * len(HISTORY), (4, 10.0, False)) for _ in range(8)]
    people[1] = (*people[1][:3], None)  # misses the closing date
    people[2] = (*people[2][:3], (9, 10.0, False))  # a pain at the ceiling
    whole, stopped = make_db("whole"), make_db("stopped")
    for db in (whole, stopped):
        build(db, study, people)
    once = close_days.run(whole, now=RUN_AT, study=study, config={})

    def crash(_done):
        raise Crash

    with pytest.raises(Crash):
        close_days.run(stopped, now=RUN_AT, study=study, config={}, before_commit=crash)
    assert outcome(stopped) != outcome(whole)  # the evaluated batch was undone
    resumed = close_days.run(stopped, now=RUN_AT, study=study, config={})
    assert outcome(stopped) == outcome(whole)
    # the six quiet ones were closed by the stopped run: the rerun closes the other two
    assert once["dates_closed"] == 8
    assert resumed["dates_closed"] == 2
    assert close_days.run(stopped, now=RUN_AT, study=study, config={})["dates_closed"] == 0


def test_the_screen_of_several_new_dates_heeds_only_the_flags_its_rules_change(make_db, study):
    """Two dates closing at once go through the engine's screen, not the SQL path: an
    open red flag leaves them to be cleared there, an open missed-entries flag listing a
    date now entered does not (the full evaluation takes the date off it)."""
    db = make_db()
    red, missed_flag = ordinary(db, "LBP-001"), ordinary(db, "LBP-002")
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})
    with transaction(db):
        db.execute(
            "UPDATE job_progress SET closed_through = ?",
            [(CLOSING - timedelta(days=2)).isoformat()],
        )
    flag_on_closing(db, study, red, "red_flag_symptom", "open")
    flag_on_closing(db, study, missed_flag, "missed_entries", "open")
    before = flags(db)
    read: list[str] = []
    db.conn.set_trace_callback(read.append)
    try:
        counts = close_days.run(db, now=RUN_AT, study=study, config={})
    finally:
        db.conn.set_trace_callback(None)
    assert counts["dates_closed"] == 4
    # Only the missed-entries flag's participant is read in full (their flags, their days).
    listed = [
        [row[0] for row in json.loads(re.search(r"json_each\('([^']*)'\)", s).group(1))]
        for s in read
        if "FROM r JOIN flags f" in s
    ]
    assert listed == [[missed_flag["id"]]], listed
    assert db.execute(
        "SELECT status, outcome FROM flags WHERE kind = 'missed_entries'"
    ).fetchone() == ("resolved", "auto_resolved")
    red_flags = [f for f in before if f[1] == "red_flag_symptom"]
    assert [f for f in flags(db) if f[1] == "red_flag_symptom"] == red_flags
