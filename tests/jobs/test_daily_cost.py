"""A daily run costs what closes, not what came before (issue 18).

The closing job reads each participant's entries only in a narrow window around the
dates it closes (and the dates of an episode still open). Two studies alike in every
recent day, one with ten times the history, must cost the same to close the next day:
counted in SQLite virtual-machine steps (a proxy for rows read that does not depend
on the machine) and in statements.
"""

from __future__ import annotations

from datetime import date, timedelta

from jobs_support import add_entries, add_participant, days_between, flags, missed, utc

from diary.jobs import close_days

ZONES = ("UTC", "America/Chicago", "Asia/Kolkata")
PEOPLE = 12
CLOSING = date(2025, 12, 1)  # the date the measured run closes (in every zone)
RUN_AT = utc(2025, 12, 2, 19, 0)  # 12:00 the next day has passed in all three zones
STEP = 10  # VM instructions per progress-handler call


def study_with_history(db, days: int) -> None:
    """PEOPLE participants, each entering every day of `days` days of history with
    ordinary values, and the closing date's entries with something to find."""
    first = CLOSING - timedelta(days=days)
    for n in range(PEOPLE):
        p = add_participant(
            db, f"LBP-{n:03d}", timezone=ZONES[n % len(ZONES)], injections=(first,), mme=10.0
        )
        days_ = {day: (4, 10.0) for day in days_between(first, CLOSING - timedelta(days=1))}
        # The last week: a miss streak, a flare, an opioid rise, all still open.
        if n % 4 == 0:
            for day in days_between(CLOSING - timedelta(days=3), CLOSING - timedelta(days=1)):
                days_.pop(day)
        elif n % 4 == 1:
            days_[CLOSING - timedelta(days=1)] = (9, 10.0)
        elif n % 4 == 2:
            days_[CLOSING - timedelta(days=1)] = (4, 60.0)
        add_entries(db, p, days_)


def closing_day(db) -> None:
    """The closing date's entries: the miss streaks go on, the rest enter as usual."""
    for pid, study_id, zone in db.execute(
        "SELECT p.id, p.study_id, t.timezone FROM participants p"
        " JOIN participant_timezones t ON t.participant_id = p.id ORDER BY p.id"
    ).fetchall():
        n = int(study_id.split("-")[1])
        if n % 4 != 0:
            add_entries(
                db, {"id": pid, "timezone": zone, "study_id": study_id}, {CLOSING: (5, 12.0)}
            )


def measured_run(db, study) -> tuple[dict, int, int]:
    """The daily run, with the VM steps and statements it took."""
    steps = 0
    statements = 0

    def progress() -> int:
        nonlocal steps
        steps += STEP
        return 0

    def trace(_sql: str) -> None:
        nonlocal statements
        statements += 1

    db.conn.set_progress_handler(progress, STEP)
    db.conn.set_trace_callback(trace)
    try:
        summary = close_days.run(db, now=RUN_AT, study=study, config={})
    finally:
        db.conn.set_progress_handler(None, STEP)
        db.conn.set_trace_callback(None)
    return summary, steps, statements


def recent(flag: tuple) -> tuple:
    """A flag less what counts from day 0 (the histories start on different days)."""
    detail = {
        k: v for k, v in flag[6].items() if k not in ("injection_date", "days_after_injection")
    }
    return (*flag[1:6], detail)


def prepared(make_db, study, name: str, days: int):
    db = make_db(name)
    study_with_history(db, days)
    close_days.run(db, now=RUN_AT - timedelta(days=1), study=study, config={})  # caught up
    closing_day(db)
    return db


def test_the_daily_run_costs_the_same_with_ten_times_the_history(make_db, study):
    short = prepared(make_db, study, "short", 30)
    long = prepared(make_db, study, "long", 300)

    short_summary, short_steps, short_statements = measured_run(short, study)
    long_summary, long_steps, long_statements = measured_run(long, study)

    # The same work: one date each, the same misses and flags.
    assert short_summary == long_summary
    assert short_summary["dates_closed"] == PEOPLE
    assert short_summary["missed"] == PEOPLE // 4
    assert [recent(f) for f in flags(short)] == [recent(f) for f in flags(long)]
    assert missed(short)[-PEOPLE // 4 :] == missed(long)[-PEOPLE // 4 :]
    # At the same cost: reading history would take about ten times the steps.
    assert long_statements == short_statements
    assert long_steps <= short_steps * 1.1


def test_the_run_reads_each_participants_zone_and_day_0_from_their_row(make_db, study):
    """Not from their histories, once per participant and statement: the row keeps both
    (migration 0018). The histories are read for the zones in use (once a run) and for
    the injection dates of those evaluated in full (one statement)."""
    db = prepared(make_db, study, "short", 30)
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        close_days.run(db, now=RUN_AT, study=study, config={})
    finally:
        db.conn.set_trace_callback(None)
    zone_reads = [s for s in seen if "participant_timezones" in s]
    assert zone_reads == ["SELECT DISTINCT timezone FROM participant_timezones"]
    injection_reads = [s for s in seen if "injections" in s]
    assert len(injection_reads) == 1 and "json_each" in injection_reads[0], injection_reads


def test_late_entries_are_found_in_the_updated_at_index_alone(make_db, study):
    """The entries written since the last run, read from the index on updated_at that
    also holds their participant and date: no look-up into the entries table for each."""
    from diary.jobs import queries

    db = prepared(make_db, study, "plan", 30)
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        queries.late_entries(db, close_days.JOB_ID)
    finally:
        db.conn.set_trace_callback(None)
    (sql,) = [s for s in seen if "WITH recent" in s]
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert any("COVERING INDEX entries_updated" in step for step in plan), plan
