"""Missed-entries flags kept exact: a flag lists just the expected dates still
without an entry (SPEC §6). A date entered later (an offline sync, a staff
clarification) comes off it, a date in the middle splits it, and a flag left
with no date resolves itself (`auto_resolved`, audited). The missed-date record
that adherence and exports read is kept in step in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from .. import audit
from . import episodes, rules

if TYPE_CHECKING:  # engine calls this module; a Scope is what it hands over
    from .engine import Scope


@dataclasses.dataclass
class MissedDates:
    """Missed-date rows to write once per evaluation (one statement, not one per participant)."""

    new: list[tuple[int, date]] = dataclasses.field(default_factory=list)
    entered: list[tuple[int, date]] = dataclasses.field(default_factory=list)

    def extend(self, other: MissedDates) -> None:
        self.new += other.new
        self.entered += other.entered


def record_missed_dates(
    s: Scope, expected: list[date], entered: Mapping[date, Any], missed: MissedDates
) -> None:
    """Keep the missed-date record (adherence, exports) in step with the flags."""
    pid = s.participant["id"]
    if s.new_from is not None:
        missed.new += [(pid, d) for d in expected if d >= s.new_from and d not in entered]
    if s.late_from is not None:
        missed.entered += [(pid, d) for d in entered if d >= s.late_from]


def reconcile_missed(
    db: Database,
    t: rules.Thresholds,
    s: Scope,
    runs: list[rules.Finding],
    flags: list[dict[str, Any]],
    *,
    actor: audit.Actor,
    now: datetime,
    counts: dict[str, int],
    writes: episodes.Writes,
) -> list[rules.Finding]:
    """Bring unresolved missed-entries flags that may hold a changed date in line with
    the runs of misses the data show; return the runs left for ordinary placement.

    A flag keeps the first run inside its dates; further runs inside it (a date in
    the middle was entered) open flags of their own; a flag with none left resolves
    itself. Runs that only a new closing date produced are placed as usual, and only
    when this evaluation closes dates.
    """
    p = s.participant
    runs = [r for r in (episodes.trim(run, flags, t) for run in runs) if r is not None]
    taken: set[int] = set()
    for flag in flags:
        if (
            flag["kind"] != "missed_entries"
            or flag["status"] == "resolved"
            or flag["last_date"] < s.evaluate_from
        ):
            continue
        mine = [
            i
            for i, run in enumerate(runs)
            if run.first_date <= flag["last_date"] and run.last_date >= flag["first_date"]
        ]
        taken.update(mine)
        if not mine:
            _auto_resolve(db, flag, participant=p, actor=actor, now=now, writes=writes)
            counts["flags_auto_resolved"] += 1
            continue
        if _set_missed(t, flag, runs[mine[0]], participant=p, actor=actor, now=now, writes=writes):
            counts["flags_updated"] += 1
        for i in mine[1:]:
            run = runs[i]
            episodes.upsert(
                db,
                t,
                participant=p,
                finding=run,
                episode_key=run.first_date.isoformat(),
                actor=actor,
                now=now,
                writes=writes,
            )
            counts["flags_opened"] += 1
    if s.new_from is None:
        return []
    return [run for i, run in enumerate(runs) if i not in taken]


def _auto_resolve(
    db: Database,
    flag: dict[str, Any],
    *,
    participant: Mapping,
    actor: audit.Actor,
    now: datetime,
    writes: episodes.Writes,
) -> None:
    episodes.resolve_by_data(
        db,
        flag,
        participant=participant,
        actor=actor,
        now=now,
        note="No date of it is missing any more: each was entered later, or is no longer expected.",
        writes=writes,
    )


def _set_missed(
    t: rules.Thresholds,
    flag: dict[str, Any],
    run: rules.Finding,
    *,
    participant: Mapping,
    actor: audit.Actor,
    now: datetime,
    writes: episodes.Writes,
) -> bool:
    """A missed-entries flag takes the run's dates, count and severity exactly; one that
    staff acknowledged goes back to open when it gains dates beyond its own or rises (as
    rules.notice asks of any flag), whatever dates came off it in the same run."""
    new: dict[str, Any] = {
        "severity": run.severity,
        "first_date": run.first_date,
        "last_date": run.last_date,
        "detail": {**episodes.detail_of(flag), **run.detail},
    }
    gained = tuple(
        d.isoformat()
        for d in (run.first_date, run.last_date)
        if d < flag["first_date"] or d > flag["last_date"]
    )
    decision = rules.notice(
        status=flag["status"],
        severity_before=flag["severity"],
        merged=rules.Merge(run.severity, run.first_date, run.last_date, new["detail"], gained),
        severity=run.severity,
    )
    if decision.reopen:
        new.update(episodes.reopened(flag, new["detail"], gained, now=now))
    old = {k: flag[k] for k in new}
    if new == old:
        return False
    writes.update(flag["id"], {**new, "rule": writes.rule(run.kind, t)[0], "updated_at": now})
    writes.record(
        actor=actor,
        action="flag.reopen" if decision.reopen else "flag.update",
        object_type="flag",
        object_id=flag["id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before=episodes.jsonable(old),
        after=episodes.jsonable(new),
        at=now,
    )
    flag.update(new)
    return True
