"""Escalate urgent flags nobody acknowledged within the protocol's delay (SPEC §7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from ..db import transaction
from ..notify import outbox, queries
from ..study import Study

JOB_ID = "escalate_urgent_flags"


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    """Each urgent flag still open `escalation_after_minutes` after it became urgent
    is escalated once; a late run (after downtime) escalates what is still open."""
    minutes = study.escalation_after_minutes
    due = queries.flags_to_escalate(db, urgent_before=now - timedelta(minutes=minutes))
    escalated = notifications = 0
    for flag_id in due:
        with transaction(db):
            ids = outbox.escalate(db, flag_id=flag_id, after_minutes=minutes, now=now)
        if ids is not None:
            escalated += 1
            notifications += len(ids)
    return {"escalated": escalated, "notifications": notifications}
