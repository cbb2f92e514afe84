"""Close diary dates whose entry window has ended, record misses, evaluate the rules.

A participant's date D closes at `window_closes_next_day_at` local time on D+1,
in the participant's own zone. Each run advances every participant from their
checkpoint (`job_progress.closed_through`) to the latest closed date, so that
one run after days of downtime processes exactly the dates that closed
meanwhile, and its flags equal those of daily runs. The rules and flags
themselves are the flag engine's (flags/engine.py).

Rules see each flag's whole episode: the evaluated range starts before the
first date of any flag that the new dates may continue, so a continuing
episode's dates, severity and detail come out the same however runs are spaced.

A participant who withdrew (or completed) is still evaluated on every date up
to the day they stopped: withdrawal ends what is expected of them (missed
dates, reminders), never the evaluation of data already received. So does a
diary closed to writes (the participant locked, or the study frozen): what it
received is judged by the rules at close up to the day it closed, while its
dates wait, unclosed, until it reopens (_work_for).

An entry may still arrive for a closed date (made offline inside its window and
synced later, or a staff clarification); the entry's own transaction evaluates
it, and the next run checks it again (takes its date off the missed record and
re-evaluates the rules from it).

Most of a daily run is participants whose one new date is entered, ordinary and
touches no open flag of the kinds the job evaluates: their checkpoints advance in
SQL, a statement per BATCH_PARTICIPANTS (engine.close_quietly, the rules' own floors
as its parameters), and only the rest are read into Python and evaluated. A
participant with a late entry, or one the job failed on before, is always evaluated
in full.

One participant's data never stops the run for others: each is evaluated in a
savepoint; a failure is kept in `job_failures` (admins see it) and that
participant is retried on the next run.

A run works in batches of participants, each batch one write transaction that
also advances their checkpoints: a catch-up over a year of dates holds at most
a batch's dates in memory and the write lock for one batch at a time, and a run
stopped part-way (a crash, a kill) leaves every batch before it committed, so
the next run resumes with the participants after it and closes each date once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..flags import engine
from ..study import Study
from . import queries

log = logging.getLogger(__name__)

JOB_ID = "close_diary_dates"
ONE_DAY = timedelta(days=1)
# Dates per batch (one write transaction): what bounds the run's memory (a batch's
# entries and day records) and how long it holds the write lock, however many
# dates close. A participant whose own dates are more is a batch alone (at most
# the diary's length). A daily run closes one date each for many participants:
# BATCH_PARTICIPANTS keeps its transactions as short.
BATCH_DATES = 20_000
BATCH_PARTICIPANTS = 2_000

last_closed_date = clock.last_closed_date


@dataclasses.dataclass(slots=True)
class _Work:
    scope: engine.Scope
    checkpoint: date  # closed_through once this run has processed the participant
    new_dates: int
    read: str | None  # closed_through as this run read it (None: no checkpoint yet)
    held: bool = False  # judged only, its checkpoint left as it is (see _work_for)


def run(
    db: Database,
    *,
    now: datetime,
    study: Study,
    config: Mapping[str, Any],
    batch_dates: int = BATCH_DATES,
    before_commit: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Process every diary date closed since each participant's checkpoint, as of `now`.

    `before_commit(participants done once this batch commits)` is called inside each
    batch's transaction, last: tests stop a run there, as a crash would.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware instant")
    failures: list[tuple[int, str]] = []
    late = queries.late_entries(db, JOB_ID)
    closed_in = _closed_in_zones(db, now=now, study=study)
    closed_dates = {z: d for z, (d, _) in closed_in.items()}
    quiet = 0
    # The common case of a daily run, in a statement per BATCH_PARTICIPANTS (a short hold
    # of the write lock each): a participant whose one new date is entered and ordinary,
    # and touches no open flag, changes no flag.
    for ids in queries.id_spans(db, JOB_ID, BATCH_PARTICIPANTS):
        with transaction(db):
            quiet += engine.close_quietly(
                db,
                study,
                job_id=JOB_ID,
                closed_in=closed_dates,
                rechecked=late,
                now=now,
                ids=ids,
            )
    candidates = queries.participants_to_close(db, JOB_ID, also=late, closed_in=closed_dates)
    work = _pending(
        candidates, now=now, study=study, late=late, closed_in=closed_in, db=db, failures=failures
    )
    summary: dict[str, Any] = {
        "participants": quiet + len(work),
        "dates_closed": quiet + sum(w.new_dates for w in work),
        "missed": 0,
        "flags_opened": 0,
        "flags_updated": 0,
        "flags_auto_resolved": 0,
        "rechecked": sum(1 for w in work if w.scope.late_from is not None),
    }
    actor = audit.system(JOB_ID)
    done = 0
    for batch in _batches(work, batch_dates):
        failed: dict[int, str] = {}

        def failure(participant: Mapping[str, Any], exc: Exception, failed=failed) -> None:
            log.error("%s: participant %s failed: %r", JOB_ID, participant["study_id"], exc)
            failed[participant["id"]] = _describe(exc)

        with transaction(db):
            counts = engine.evaluate(
                db,
                study,
                [w.scope for w in batch],
                actor=actor,
                now=now,
                on_error=failure,
                single_dates_screened=True,
            )
            ok = [w for w in batch if w.scope.participant["id"] not in failed]
            queries.advance_progress(
                db,
                JOB_ID,
                [(w.scope.participant["id"], w.checkpoint, w.read) for w in ok if not w.held],
                now=now,
            )
            queries.clear_failures(db, JOB_ID, [w.scope.participant["id"] for w in ok])
            queries.record_failures(db, JOB_ID, failed.items(), now=now)
            done += len(batch)
            if before_commit is not None:
                before_commit(done)
        failures.extend(failed.items())
        for key, value in counts.items():
            summary[key] = summary.get(key, 0) + value
    if failures:
        summary["failed_participants"] = len(failures)
    return summary


def _batches(work: list[_Work], batch_dates: int) -> Iterator[list[_Work]]:
    """Consecutive participants whose dates to evaluate add up to at most batch_dates
    (BATCH_PARTICIPANTS of them at most)."""
    batch: list[_Work] = []
    size = 0
    for w in work:
        cost = max((w.scope.through - w.scope.evaluate_from).days + 1, 1)
        if batch and (size + cost > batch_dates or len(batch) == BATCH_PARTICIPANTS):
            yield batch
            batch, size = [], 0
        batch.append(w)
        size += cost
    if batch:
        yield batch


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _closed_in_zones(db: Database, *, now: datetime, study: Study) -> dict[str, tuple[date, str]]:
    """Each zone's latest closed date (and its ISO text), one zoneinfo computation per zone;
    a zone that cannot be worked out is left out (its participants' runs fail)."""
    closed_in = {}
    for tz in queries.zones_in_use(db):
        try:
            closed = last_closed_date(now, tz, study.window_closes_next_day_at)
        except Exception:  # noqa: BLE001, S112 - reported per participant by _pending
            continue
        closed_in[tz] = (closed, closed.isoformat())
    return closed_in


def _pending(
    candidates: list[dict[str, Any]],
    *,
    db: Database,
    now: datetime,
    study: Study,
    late: Mapping[int, date],
    closed_in: dict[str, tuple[date, str]],
    failures: list[tuple[int, str]],
) -> list[_Work]:
    """What each participant needs this run; a participant whose dates cannot even be
    worked out is recorded as a failure instead of stopping the run."""
    closes_at = study.window_closes_next_day_at
    work = []
    broken: dict[int, str] = {}
    for p in candidates:
        try:
            tz = p["timezone"]
            if tz and tz not in closed_in:
                closed = last_closed_date(now, tz, closes_at)
                closed_in[tz] = (closed, closed.isoformat())
            item = _work_for(p, late.get(p["id"]), now=now, study=study, closed_in=closed_in)
        except Exception as exc:  # noqa: BLE001 - bad data of one participant
            log.error("%s: participant %s failed: %r", JOB_ID, p["study_id"], exc)
            broken[p["id"]] = _describe(exc)
            continue
        if item is not None:
            work.append(item)
    if broken:
        with transaction(db):
            queries.record_failures(db, JOB_ID, broken.items(), now=now)
        failures.extend(broken.items())
    return work


def _work_for(p: dict[str, Any], recheck: date | None, *, now, study, closed_in) -> _Work | None:
    if not p["timezone"] or not p["first_injection"]:
        return None
    tz = p["timezone"]
    new_from_text = p["closed_through"]
    if recheck is None and not p["ended_at"] and new_from_text is not None:
        # The common case, cheaply: nothing closed for them since the last run.
        if closed_in[tz][1] <= new_from_text:
            return None
    if not p["ended_at"] and p["status"] != "active":
        return None  # stopped before anyone recorded when: nothing more is expected
    first = date.fromisoformat(p["first_injection"])
    due_from = engine.expected_from(study, p)
    closed, expected_through = engine.dates_due(
        study, p, now=now, closed_in_zone=closed_in[tz][0], due_from=due_from
    )
    through = closed
    if p["ended_at"]:
        # Stopped: the dates up to the day they stopped are still judged.
        through = min(closed, clock.local_date(clock.parse_iso(p["ended_at"]), tz))
    new_from = date.fromisoformat(p["closed_through"]) + ONE_DAY if p["closed_through"] else first
    evaluate_from = min(new_from, recheck or new_from)
    held = bool(p["held_at"])
    if held:
        # A diary closed to writes (the participant locked, or the study frozen): what it
        # received is judged by the rules at close up to the day it closed, so that a pain
        # entered the evening before a lock is flagged, on each run while it is held
        # (which changes nothing once done); its dates are not closed (none recorded
        # missed, the checkpoint left as it is) until it reopens, when they close as
        # anyone's do.
        closed_at = min(clock.parse_iso(p["held_at"]), now)
        judged = min(through, clock.local_date(closed_at, tz))
        if judged < evaluate_from:
            return None
        checkpoint = new_from - ONE_DAY
        closing = {"expected_through": None, "kinds": HELD_KINDS}
    else:
        if through < new_from and recheck is None:
            return None
        checkpoint = judged = max(through, new_from - ONE_DAY)
        closing = {
            "expected_through": expected_through,
            "expected_from": due_from,
            "new_from": new_from,
        }
    p["baseline_opioids"] = engine.baseline_opioids(p)
    return _Work(
        scope=engine.Scope(
            participant=p,
            first=first,
            evaluate_from=evaluate_from,
            through=judged,
            late_from=recheck,
            **closing,
        ),
        checkpoint=checkpoint,
        new_dates=0 if held else max((through - new_from).days + 1, 0),
        read=p["closed_through"],
        held=held,
    )


# The rules a held diary's received data is judged by: those at close but the missed
# dates', which wait with the dates themselves.
HELD_KINDS = tuple(k for k in engine.CLOSING_KINDS if k != "missed_entries")
