"""The 24-hour serious-adverse-event clock (SPEC §14): at 12 hours, and again when it
runs out without the event marked reported to the sponsor, the site's investigators
and the study admins are notified, once each. Instants are UTC, so a DST change in
the site's zone inside the 24 hours counts real hours."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..flags import adverse_events
from ..flags import queries as flag_queries
from ..notify import outbox
from ..study import Study

JOB_ID = "sae_clocks"


def _due_stages(sae: Mapping[str, Any], now: datetime) -> list[str]:
    started, due = clock.parse_iso(sae["started_at"]), clock.parse_iso(sae["due_at"])
    stages = []
    # A clock already past 24 hours when first seen (the scheduler was down) gets only
    # the overdue notice: a "12 hours left" message would be false.
    if sae["warned_at"] is None and started + adverse_events.WARN_AFTER <= now < due:
        stages.append("warning")
    if sae["overdue_at"] is None and due <= now:
        stages.append("overdue")
    return stages


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    warnings = overdue = notifications = 0
    for sae in flag_queries.sae_clocks_unnoticed(db):
        for stage in _due_stages(sae, now):
            with transaction(db):
                if not flag_queries.mark_sae_notice(db, sae["id"], stage, now=now):
                    continue
                ids = outbox.enqueue_sae_notice(db, sae=sae, stage=stage, now=now)
                audit.record(
                    db,
                    actor=audit.system(JOB_ID),
                    action=f"sae_clock.{stage}",
                    object_type="sae_clock",
                    object_id=sae["id"],
                    site_id=sae["site_id"],
                    participant_id=sae["participant_id"],
                    after={"notifications": len(ids), "due_at": sae["due_at"]},
                    at=now,
                )
            notifications += len(ids)
            if stage == "warning":
                warnings += 1
            else:
                overdue += 1
    return {"warnings": warnings, "overdue": overdue, "notifications": notifications}
