"""A day-0 correction committed while a closing run works is not written over.

Moving the first injection earlier moves the participant's checkpoint back, so that
the dates it makes expected are closed and judged. A run reads its participants before
it writes their batch: a correction committed in between (another request, on a
connection of its own) must survive the batch, and the next run must close the dates
it reopened.
"""

from __future__ import annotations

from datetime import date

from jobs_support import add_entries, add_participant, days_between, missed, run_close, utc

from diary import audit
from diary.db import connect, transaction
from diary.jobs import close_days
from diary.participants import queries as participant_queries
from diary.participants import service as participant_service

OLD_FIRST, NEW_FIRST = date(2025, 11, 20), date(2025, 11, 15)
REOPENED = [d.isoformat() for d in days_between(NEW_FIRST, date(2025, 11, 19))]


def correct_day_zero(path: str, study, participant_id: int) -> None:
    """The staff's correction of the first injection, as its request makes it."""
    other = connect(path)
    try:
        with transaction(other):
            participant_service.correct_injection(
                other,
                study,
                actor=audit.CLI,
                participant=participant_queries.get_by_id(other, participant_id),
                day=OLD_FIRST,
                new_day=NEW_FIRST,
                reason="the injection was on the 15th",
                staff_id=None,
                now=utc(2025, 12, 3, 18, 0),
            )
    finally:
        other.conn.close()


def study_closed_through_dec_1(make_db, study, name):
    db = make_db(name)
    p = add_participant(db, "LBP-001", injections=(OLD_FIRST,))
    add_entries(db, p, {d: (4, 10.0) for d in days_between(OLD_FIRST, date(2025, 12, 1))})
    run_close(db, study, utc(2025, 12, 2, 19, 0))  # closed through Dec 1 in Chicago
    assert missed(db) == []
    return db, p, db.execute("PRAGMA database_list").fetchone()[2]


def test_a_correction_before_the_run_reopens_the_dates_it_makes_expected(make_db, study):
    db, p, path = study_closed_through_dec_1(make_db, study, "before")
    correct_day_zero(path, study, p["id"])
    run_close(db, study, utc(2025, 12, 3, 19, 0))
    assert [d for _, d in missed(db)] == [*REOPENED, "2025-12-02"]


def test_a_correction_committed_while_the_run_works_survives_its_batch(make_db, study, monkeypatch):
    db, p, path = study_closed_through_dec_1(make_db, study, "during")
    batches = close_days._batches

    def after_the_run_read_its_participants(work, batch_dates):
        correct_day_zero(path, study, p["id"])  # commits between the read and the batch
        yield from batches(work, batch_dates)

    monkeypatch.setattr(close_days, "_batches", after_the_run_read_its_participants)
    run_close(db, study, utc(2025, 12, 3, 19, 0))
    monkeypatch.setattr(close_days, "_batches", batches)
    # The batch judged Dec 2 as it read the participant, and left the moved checkpoint.
    assert [d for _, d in missed(db)] == ["2025-12-02"]
    assert db.execute("SELECT closed_through FROM job_progress").fetchone()[0] == "2025-11-14"

    run_close(db, study, utc(2025, 12, 4, 19, 0))
    assert [d for _, d in missed(db)] == [*REOPENED, "2025-12-02", "2025-12-03"]
    assert db.execute("SELECT closed_through FROM job_progress").fetchone()[0] == "2025-12-03"
