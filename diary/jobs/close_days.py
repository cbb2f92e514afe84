"""Close diary dates whose entry window has ended, record misses, evaluate the rules.

A participant's date D closes at `window_closes_next_day_at` local time on D+1,
in the participant's own zone. Each run advances every participant from their
checkpoint (`job_progress.closed_through`) to the latest closed date, so that
one run after days of downtime processes exactly the dates that closed
meanwhile, and its flags equal those of daily runs.

Rules see each flag's whole episode: the evaluated range starts before the
first date of any flag that the new dates may continue, so a continuing
episode's dates, severity and detail come out the same however runs are spaced.

An entry may still arrive for a closed date (made offline inside its window and
synced later, or a staff clarification): the next run takes that date off the
missed list and re-evaluates the pain and opioid rules from it. A run of misses
already flagged stays on record as it was raised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..flags import queries as flag_queries
from ..flags import rules
from ..study import Study
from . import queries

JOB_ID = "close_diary_dates"
ONE_DAY = timedelta(days=1)
# Participants per write transaction: a catch-up over a whole study in one
# BEGIN IMMEDIATE would hold the write lock long enough to time out web writes.
CHUNK = 1000


def last_closed_date(now: datetime, tz: str, closes_at: time) -> date:
    """The latest local date in `tz` whose entry window has closed at `now`."""
    today = clock.local_date(now, tz)
    if now >= clock.local_instant(today, closes_at, tz):
        return today - ONE_DAY
    return today - 2 * ONE_DAY


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    """Process every diary date closed since each participant's checkpoint, as of `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware instant")
    work = _pending(db, now=now, study=study)
    summary = {
        "participants": len(work),
        "dates_closed": 0,
        "missed": 0,
        "flags_opened": 0,
        "flags_updated": 0,
        "rechecked": sum(1 for w in work if w.recheck_from is not None),
    }
    for start in range(0, len(work), CHUNK):
        with transaction(db):
            counts = _process(db, work[start : start + CHUNK], now=now, study=study)
        for key, value in counts.items():
            summary[key] += value
    return summary


@dataclasses.dataclass
class _Work:
    participant: dict[str, Any]
    first: date  # day 0: the first injection
    new_from: date  # first date not yet closed by this job
    through: date  # last date closed as of now
    # Earliest closed date whose entry arrived after it closed (offline sync, clarification).
    recheck_from: date | None = None

    @property
    def evaluate_from(self) -> date:
        return min(self.new_from, self.recheck_from or self.new_from)


def _pending(db: Database, *, now: datetime, study: Study) -> list[_Work]:
    closes_at = study.window_closes_next_day_at
    closed_by_zone: dict[str, date] = {}
    late = queries.late_entries(db, JOB_ID)
    work = []
    for p in queries.active_participants(db, JOB_ID):
        if not p["timezone"] or not p["first_injection"]:
            continue
        tz = p["timezone"]
        if tz not in closed_by_zone:
            closed_by_zone[tz] = last_closed_date(now, tz, closes_at)
        first = date.fromisoformat(p["first_injection"])
        through = min(closed_by_zone[tz], study.last_diary_date(first))
        new_from = (
            date.fromisoformat(p["closed_through"]) + ONE_DAY if p["closed_through"] else first
        )
        recheck = late.get(p["id"])
        if through >= new_from or recheck is not None:
            work.append(_Work(p, first, new_from, max(through, new_from - ONE_DAY), recheck))
    return work


def _process(db: Database, chunk: list[_Work], *, now: datetime, study: Study) -> dict[str, int]:
    t = study.thresholds
    # Enough days before a new date for every rule's window (streak, mean) to see it.
    lookback = timedelta(days=max(t.flare_consecutive, t.increase_window_days) + 1)
    near = queries.rule_flags_since(
        db, [(w.participant["id"], w.evaluate_from - lookback - ONE_DAY) for w in chunk]
    )
    starts = {}
    for w in chunk:
        pid = w.participant["id"]
        earliest = min([w.evaluate_from, *(f["first_date"] for f in near.get(pid, ()))])
        starts[pid] = max(w.first, earliest - lookback)
    days = queries.diary_days(
        db, [(w.participant["id"], starts[w.participant["id"]], w.through) for w in chunk]
    )
    injections = queries.injection_dates(db, [w.participant["id"] for w in chunk])

    counts = {"dates_closed": 0, "missed": 0, "flags_opened": 0, "flags_updated": 0}
    missed_rows: list[tuple[int, date]] = []
    entered_late: list[tuple[int, date]] = []
    actor = audit.system(JOB_ID)
    for w in chunk:
        p = w.participant
        pid = p["id"]
        entered = days.get(pid, {})
        span = [starts[pid] + timedelta(days=i) for i in range((w.through - starts[pid]).days + 1)]
        records = [
            rules.DayRecord(d, *entered[d]) if d in entered else rules.DayRecord(d, None, None)
            for d in span
        ]
        new_dates = [d for d in span if d >= w.new_from]
        counts["dates_closed"] += len(new_dates)
        missed_rows.extend((pid, d) for d in new_dates if d not in entered)
        if w.recheck_from is not None:
            entered_late.extend((pid, d) for d in entered if w.recheck_from <= d < w.new_from)

        findings = [
            *rules.missed_entries(span, entered.keys(), t=t),
            *rules.pain_flare(records, baseline_back_pain=p["baseline_back_pain"], t=t),
            *rules.opioid_threshold(records, t=t),
            *rules.opioid_increase(records, baseline_mme=p["baseline_mme"], t=t),
        ]
        for finding in findings:
            if finding.last_date < w.evaluate_from:
                continue  # wholly in dates an earlier run already evaluated
            if finding.kind == "missed_entries" and finding.last_date < w.new_from:
                # A run of misses in the past stays as it was flagged; an entry synced
                # late only takes its date off the missed list (below).
                continue
            finding = _with_injection(finding, injections.get(pid, []))
            placed = _place(finding, near.get(pid, []))
            if placed is None:
                continue
            finding, episode_key = placed
            _, outcome = flag_queries.upsert_episode(
                db, participant=p, finding=finding, episode_key=episode_key, actor=actor, now=now
            )
            if outcome == "opened":
                counts["flags_opened"] += 1
            elif outcome == "updated":
                counts["flags_updated"] += 1
    counts["missed"] = len(missed_rows)
    queries.record_missed(db, missed_rows, now=now)
    queries.unmark_missed(db, entered_late)
    queries.advance_progress(db, JOB_ID, [(w.participant["id"], w.through) for w in chunk], now=now)
    return counts


def _with_injection(finding: rules.Finding, injections: list[date]) -> rules.Finding:
    """Watch windows count from the latest injection on or before the episode's start."""
    if finding.kind == "missed_entries":
        return finding
    latest = max((d for d in injections if d <= finding.first_date), default=None)
    if latest is None:
        return finding
    detail = {
        **finding.detail,
        "injection_date": latest.isoformat(),
        "days_after_injection": (finding.first_date - latest).days,
    }
    return dataclasses.replace(finding, detail=detail)


def _place(finding: rules.Finding, flags: list[dict[str, Any]]) -> tuple[rules.Finding, str] | None:
    """The episode key a finding belongs to, and the finding trimmed to unresolved dates.

    A finding overlapping an unresolved flag of its kind continues that flag.
    Dates a resolved flag already covered are not raised again: what continues
    after a resolution opens a new flag from the day after.
    """
    same = [
        f
        for f in flags
        if f["kind"] == finding.kind
        and f["first_date"] <= finding.last_date
        and f["last_date"] >= finding.first_date
    ]
    resolved_through = max(
        (f["last_date"] for f in same if f["status"] == "resolved"), default=None
    )
    if resolved_through is not None and resolved_through >= finding.first_date:
        if resolved_through >= finding.last_date:
            return None
        finding = dataclasses.replace(
            finding,
            first_date=resolved_through + ONE_DAY,
            detail={**finding.detail, "episode_first_date": finding.first_date.isoformat()},
        )
    for f in same:  # ordered by first_date: the earliest open flag carries the episode
        if f["status"] != "resolved" and f["last_date"] >= finding.first_date:
            return finding, f["episode_key"]
    return finding, finding.first_date.isoformat()
