"""Run jobs under a database lock, and build the APScheduler 3 schedulers that call them.

The app factory never starts a scheduler: `flask diary serve` (web + background
scheduler in one process) and `flask diary scheduler` (its own process) do.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, EVENT_SCHEDULER_START
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .. import clock
from ..db import WalCheckpointer, connect
from . import JobSpec, locks

log = logging.getLogger(__name__)

# A lease long enough for any run; a running job renews it every third of it,
# so only a crashed holder's lock ever expires.
LEASE = timedelta(minutes=10)
# A run missed by more than this (the process was down) is dropped by APScheduler;
# nothing is lost, because the next run catches up from the checkpoints.
MISFIRE_GRACE_SECONDS = 600


def holder_id() -> str:
    """Identifies this process in the lock table and the run log."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunResult:
    job_id: str
    ran: bool
    summary: dict[str, Any] | None = None
    error: str | None = None


def run_job(
    spec: JobSpec,
    *,
    database: str,
    study: Any,
    config: Mapping[str, Any],
    now: datetime,
    holder: str,
    wall_clock: Callable[[], datetime] = clock.now,
) -> RunResult:
    """Run one job as of `now` on its own connection, if no other process holds its lock."""
    db = connect(database)
    try:
        if not locks.acquire(
            db, spec.id, holder, now=wall_clock(), ttl=LEASE
        ) and not _take_over_from_dead(db, spec.id, holder, wall_clock()):
            log.info("job %s skipped: another scheduler holds its lock", spec.id)
            return RunResult(spec.id, ran=False)
        stop = threading.Event()
        renewer = threading.Thread(
            target=_renew, args=(database, spec.id, holder, stop, wall_clock), daemon=True
        )
        renewer.start()
        try:
            run_id = locks.start_run(db, spec.id, holder, as_of=now, now=wall_clock())
            try:
                summary = spec.run(db, now=now, study=study, config=config)
            except Exception as exc:
                log.exception("job %s failed", spec.id)
                error = "".join(traceback.format_exception_only(exc)).strip()
                if db.conn.in_transaction:
                    db.conn.rollback()
                locks.finish_run(db, run_id, now=wall_clock(), error=error)
                return RunResult(spec.id, ran=True, error=error)
            locks.finish_run(db, run_id, now=wall_clock(), summary=summary)
            log.info("job %s as of %s: %s", spec.id, clock.iso(now), summary)
            return RunResult(spec.id, ran=True, summary=summary)
        finally:
            stop.set()
            renewer.join()
            locks.release(db, spec.id, holder)
    finally:
        db.conn.close()


def _dead_here(holder: str) -> bool:
    """True when `holder` names a process on this host that no longer exists: a
    scheduler killed mid-job (kill -9, OOM) would otherwise block the job until
    its lease ran out, holding back urgent mail for up to LEASE."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process, or not one of ours: wait for the lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False


def _take_over_from_dead(db, job_id: str, holder: str, now: datetime) -> bool:
    current = locks.holder_of(db, job_id)
    if current is None or current == holder or not _dead_here(current):
        return False
    if not locks.take_over(db, job_id, current, holder, now=now, ttl=LEASE):
        return False
    log.warning("job %s: its lock holder %s is dead; taking the lock over", job_id, current)
    return True


def _renew(database: str, job_id: str, holder: str, stop: threading.Event, wall_clock) -> None:
    db = connect(database)
    try:
        while not stop.wait(LEASE.total_seconds() / 3):
            if not locks.renew(db, job_id, holder, now=wall_clock(), ttl=LEASE):
                log.error("job %s lost its lock lease", job_id)
                return
    finally:
        db.conn.close()


def run_all(
    jobs: Iterable[JobSpec],
    *,
    database: str,
    study: Any,
    config: Mapping[str, Any],
    now: datetime,
    holder: str | None = None,
) -> list[RunResult]:
    """Every job once, in registry order, as of `now` (flask diary run-jobs)."""
    holder = holder or holder_id()
    return [
        run_job(spec, database=database, study=study, config=config, now=now, holder=holder)
        for spec in jobs
    ]


def build_scheduler(
    jobs: Iterable[JobSpec],
    *,
    database: str,
    study: Any,
    config: Mapping[str, Any],
    blocking: bool,
    run_at_start: bool = True,
    holder: str | None = None,
) -> BaseScheduler:
    """A scheduler with one APScheduler job per spec; each fire runs it as of clock.now().

    run_at_start: fire every job once at start-up as well, so that a scheduler
    coming back after downtime catches up at once rather than at the next tick.
    """
    holder = holder or holder_id()
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone="UTC",
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )

    for spec in jobs:

        def fire(spec: JobSpec = spec) -> None:
            run_job(
                spec,
                database=database,
                study=study,
                config=config,
                now=clock.now(),
                holder=holder,
            )

        trigger = dict(spec.trigger)
        kind = trigger.pop("trigger")
        extra = {"next_run_time": clock.now()} if run_at_start else {}
        scheduler.add_job(fire, kind, id=spec.id, name=spec.id, **trigger, **extra)
    # The scheduler checkpoints the WAL for every process (db.WAL_AUTOCHECKPOINT_PAGES).
    checkpointer = WalCheckpointer(database)
    scheduler.add_listener(lambda _: checkpointer.start(), EVENT_SCHEDULER_START)
    scheduler.add_listener(lambda _: checkpointer.stop(), EVENT_SCHEDULER_SHUTDOWN)
    return scheduler
