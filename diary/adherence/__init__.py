"""Diary adherence: expected versus entered diary dates, over closed dates only.

A participant is expected to make an entry for every local date from the first
injection (day 0) to day `length_days` (SPEC §6). A date counts only once its
entry window has closed in the participant's zone (the same rule the closing
job uses), so today's still-open date never lowers anybody's rate. A
participant who was withdrawn or completed is expected only for the dates that
had closed when their status changed.

Entered dates are split by when the participant's entry reached the server:
`entered_on_time` inside the entry window, `entered_synced_late` after it
closed (made offline in time, sent later; SPEC §4). The two add up to
`entered`. A staff clarification is not a participant sync: it leaves an
entry's mark as it was, and an entry staff create counts as on time.

Everything is read in a few set-based statements whatever the number of
participants; the per-participant work in Python is date arithmetic only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..clock import last_closed_date
from ..study import Study
from .queries import (
    entry_counts,
    open_flag_counts,
    questionnaire_counts,
    scoped_participants,
    status_changed_at,
)

ONE_DAY = timedelta(days=1)
RECENT_DAYS = 7
_NO_ENTRIES = {
    "entered": 0,
    "synced_late": 0,
    "entered_7": 0,
    "synced_late_7": 0,
    "last_entry_date": None,
}


@dataclass(frozen=True)
class Span:
    """An inclusive range of expected dates; empty when `first` > `last`."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return max((self.last - self.first).days + 1, 0)


def rate(expected: int, entered: int) -> float | None:
    """entered / expected as a fraction 0–1; None while nothing is expected yet."""
    return round(entered / expected, 4) if expected else None


def counts(expected: int, entered: int, synced_late: int) -> dict[str, Any]:
    """Expected and entered dates, the entered ones split into on time and synced late."""
    return {
        "expected": expected,
        "entered": entered,
        "entered_on_time": entered - synced_late,
        "entered_synced_late": synced_late,
        "rate": rate(expected, entered),
    }


def closed_through(
    study: Study, participant: dict[str, Any], *, now: datetime, ended_at: datetime | None
) -> date | None:
    """The last expected date that has closed (None: no day 0 or zone yet)."""
    if not participant["first_injection"] or not participant["timezone"]:
        return None
    tz = participant["timezone"]
    closes = study.window_closes_next_day_at
    through = last_closed_date(now, tz, closes)
    if participant["status"] != "active" and ended_at is not None:
        through = min(through, last_closed_date(min(ended_at, now), tz, closes))
    first = date.fromisoformat(participant["first_injection"])
    return min(through, study.last_diary_date(first))


def compute(
    db: Database,
    study: Study,
    participants: list[dict[str, Any]],
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Adherence per participant (rows from scoped_participants), in their order.

    `start`/`end` narrow the overall count to those diary dates; the last-7 figures
    always cover the latest seven closed expected dates.
    """
    ended = status_changed_at(db, [p["id"] for p in participants if p["status"] != "active"])
    spans: dict[int, tuple[Span, Span, date | None]] = {}
    for p in participants:
        through = closed_through(study, p, now=now, ended_at=ended.get(p["id"]))
        if through is None:
            empty = Span(date.max, date.min)
            spans[p["id"]] = (empty, empty, None)
            continue
        first = date.fromisoformat(p["first_injection"])
        if p.get("enrolled_at"):
            enrolled_on = clock.local_date(clock.parse_iso(p["enrolled_at"]), p["timezone"])
            first = study.first_expected_date(first, enrolled_on)
        overall = Span(max(first, start or first), min(through, end or through))
        recent = Span(max(first, through - (RECENT_DAYS - 1) * ONE_DAY), through)
        spans[p["id"]] = (overall, recent, through)
    found = entry_counts(
        db,
        [(pid, o.first, o.last, r.first, r.last) for pid, (o, r, _) in spans.items()],
    )
    asked = questionnaire_counts(db, [p["id"] for p in participants], now=now)
    out = []
    for p in participants:
        overall, recent, through = spans[p["id"]]
        c = found.get(p["id"]) or _NO_ENTRIES
        # An empty span has no dates: its counts are 0 whatever the query read.
        entered, synced = (c["entered"], c["synced_late"]) if overall.days else (0, 0)
        entered_7, synced_7 = (c["entered_7"], c["synced_late_7"]) if recent.days else (0, 0)
        out.append(
            {
                "participant_id": p["id"],
                "study_id": p["study_id"],
                "site": p["site"],
                "status": p["status"],
                "first_injection": p["first_injection"],
                "closed_through": through,
                **counts(overall.days, entered, synced),
                "last_7": counts(recent.days, entered_7, synced_7),
                "last_entry_date": c["last_entry_date"],
                # questionnaires whose window closed: answered (on time or synced late)
                "questionnaires": counts(*asked.get(p["id"], (0, 0, 0))),
            }
        )
    return out


def by_site(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-site totals of participant rows (sites in first-seen order)."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        site = totals.setdefault(row["site"], [0, 0, 0, 0, 0, 0])
        q = row["questionnaires"]
        for i, value in enumerate(
            (
                row["expected"],
                row["entered"],
                row["entered_synced_late"],
                q["expected"],
                q["entered"],
                q["entered_synced_late"],
            )
        ):
            site[i] += value
    return [
        {"site": code, **counts(*sums[:3]), "questionnaires": counts(*sums[3:])}
        for code, sums in totals.items()
    ]


def report(
    db: Database,
    study: Study,
    site_ids: Iterable[int] | None,
    *,
    now: datetime,
    site_code: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """GET /staff/adherence: per site and per participant, within the caller's sites."""
    participants = scoped_participants(db, site_ids, site_code=site_code)
    rows = compute(db, study, participants, now=now, start=start, end=end)
    return {"sites": by_site(rows), "participants": rows}


def list_columns(
    db: Database, study: Study, participants: list[dict[str, Any]], *, now: datetime
) -> dict[int, dict[str, Any]]:
    """The staff participant list's extra columns, keyed by participant id.

    `participants` are rows of participants.queries (id, site, status, timezone,
    first_injection).
    """
    if not participants:
        return {}
    rows = compute(db, study, participants, now=now)
    flags = open_flag_counts(db, [p["id"] for p in participants])
    out = {}
    for p, row in zip(participants, rows, strict=True):
        tz, first = p["timezone"], p["first_injection"]
        out[p["id"]] = {
            "study_day": (
                (clock.local_date(now, tz) - date.fromisoformat(first)).days
                if tz and first
                else None
            ),
            "last_entry_date": row["last_entry_date"],
            "adherence_7d": row["last_7"]["rate"],
            "adherence_overall": row["rate"],
            "open_flags": flags.get(p["id"], 0),
        }
    return out
