"""What a staff member read, written to the access log by the request that read it
(SPEC §15, HIPAA 164.312(b)).

`staff_read` is called where a request resolves what it will show: the site-scoped
participant lookup (participants.scope), a flag or an adverse event of one participant,
the access log itself. Only GET counts (a write is in the audit trail already), and a
screen that asks again within a minute, or loads five parts of one record, adds no row
for the route it asked before: one row per staff member, participant and route a minute.
"""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask_login import current_user
from sqlite_utils import Database

from .. import clock
from ..db import transaction
from . import access_log, access_queries

REPEAT_WINDOW = timedelta(seconds=60)


def route() -> str:
    """The route rule of this request, e.g. /api/v1/staff/participants/<study_id>/entries."""
    rule = request.url_rule
    return rule.rule if rule is not None else request.path


def staff_read(
    db: Database,
    event: str,
    *,
    participant_id: int | None = None,
    site_id: int | None = None,
    every_time: bool = False,
) -> None:
    """Record that the signed-in staff member read this (GET requests of staff only);
    `every_time` records downloads even when the same one was made a moment ago."""
    if request.method != "GET" or getattr(current_user, "kind", None) != "staff":
        return
    now = clock.now()
    key = {
        "event": event,
        "staff_id": current_user.staff_id,
        "participant_id": participant_id,
        "object": route(),
    }
    since = now - REPEAT_WINDOW
    # Looked up before the write lock is taken, so that a reread costs one SELECT;
    # asked again under the lock, so that two tabs at once do not both write.
    if not every_time and access_queries.recorded_since(db, since=since, **key):
        return
    with transaction(db):
        if not every_time and access_queries.recorded_since(db, since=since, **key):
            return
        access_log.record(db, now=now, client=request.remote_addr, site_id=site_id, **key)
