"""Deliver due notifications from the outbox (SMTP, the log, Web Push), with retries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ..notify import delivery
from ..study import Study

JOB_ID = "deliver_notifications"


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    """Send every outbox row due at `now`; count the outcomes."""
    return delivery.deliver_due(db, now=now, study=study, config=config)
