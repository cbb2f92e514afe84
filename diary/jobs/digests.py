"""The daily digest: per staff member, at the protocol's digest time in site time.

A staff member whose sites span several time zones gets one digest per zone,
each at the digest time there. A digest lists the non-urgent flags opened at
their sites since the last one (an admin's: at the sites with no active coordinator or
investigator too; urgent flags were mailed at once), each flag once per opening,
including one a job committed after the last digest read the flags; when
nothing is new, no mail is sent but the day counts as handled, so a flag
opened later that day waits for tomorrow's digest. After downtime, the day's
digest is still sent until the local day ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..db import transaction
from ..notify import outbox, queries
from ..study import Study

JOB_ID = "send_daily_digests"
# The first digest of a staff member covers the preceding day.
FIRST_LOOKBACK = timedelta(hours=24)


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    summary = {"due": 0, "sent": 0, "nothing_new": 0}
    for group in queries.digest_groups(db):
        tz = group["timezone"]
        today = clock.local_date(now, tz)
        due_at = clock.local_instant(today, study.digest_time, tz)
        if now < due_at:
            continue
        checkpoint = queries.digest_checkpoint(db, group["staff_id"], tz)
        if checkpoint and date.fromisoformat(checkpoint["last_local_date"]) >= today:
            continue
        summary["due"] += 1
        with transaction(db):
            if _send(db, group, checkpoint, today=today, due_at=due_at, now=now):
                summary["sent"] += 1
            else:
                summary["nothing_new"] += 1
    return summary


def _send(db, group, checkpoint, *, today: date, due_at: datetime, now: datetime) -> bool:
    after = clock.parse_iso(checkpoint["covered_until"]) if checkpoint else due_at - FIRST_LOOKBACK
    flags = queries.digest_flags(
        db, group["site_ids"], staff_id=group["staff_id"], after=after, until=now
    )
    if flags:
        outbox.enqueue_digest(
            db,
            staff_id=group["staff_id"],
            timezone=group["timezone"],
            local_day=today,
            flags=flags,
            open_flags=queries.open_flag_count(db, group["site_ids"]),
            unstaffed_sites=group["unstaffed_sites"],
            now=now,
        )
    queries.save_digest_checkpoint(
        db, group["staff_id"], group["timezone"], covered_until=now, local_date=today
    )
    return bool(flags)
