"""Questionnaire occurrences: schedule them, and close as missed those whose window ended.

Each run brings every participant's occurrences in line with the schedule in
study.toml (new injections add series, a voided one drops what had not been
answered, a new zone moves pending windows), then marks missed, exactly once
and audited, every pending occurrence whose window has closed. A run after
downtime does both for the whole gap at once: nothing depends on having run
in between. One participant's bad data is recorded against them (job_failures)
and the rest carry on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit
from ..db import transaction
from ..participants import queries as participant_queries
from ..questionnaires import catalog, service
from ..questionnaires import queries as questionnaire_queries
from ..study import Study
from . import queries

JOB_ID = "schedule_questionnaires"


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    summary = {"participants": 0, "scheduled": 0, "dropped": 0, "missed": 0, "failed": 0}
    if not study.questionnaires:
        return summary
    instruments = catalog.for_study(study, config.get("DIARY_CONTENT_DIR"))
    failures: list[tuple[int, str]] = []
    done: list[int] = []
    for participant in questionnaire_queries.scheduling_participants(db):
        summary["participants"] += 1
        try:
            injections = participant_queries.injections(db, participant["id"])
            added, dropped = service.schedule_participant(
                db, study, participant, injections, now=now
            )
        except Exception as exc:  # noqa: BLE001 - one participant's data must not stop the rest
            failures.append((participant["id"], f"{type(exc).__name__}: {exc}"[:500]))
            continue
        done.append(participant["id"])
        summary["scheduled"] += added
        summary["dropped"] += dropped
    summary["missed"] = service.close_missed(
        db,
        study,
        now=now,
        actor=audit.system(JOB_ID),
        titles={code: i.title for code, i in instruments.items()},
    )
    with transaction(db):
        queries.record_failures(db, JOB_ID, failures, now=now)
        queries.clear_failures(db, JOB_ID, done)
    summary["failed"] = len(failures)
    return summary
