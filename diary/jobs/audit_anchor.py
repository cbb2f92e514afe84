"""Anchor the audit chain every hour (SPEC §9): its head, signed with the audit key,
appended to the anchor file off the database and written to the log, when the chain
grew since the last anchor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ..audit import anchors
from ..study import Study

JOB_ID = "audit_anchor"


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    path = config.get("DIARY_AUDIT_ANCHORS")
    if not path:  # a bare test configuration; the app's always names a file
        return {"anchored_rows": None}
    anchor = anchors.write(db, path, now=now)
    return {"anchored_rows": anchor["rows"] if anchor else None}
