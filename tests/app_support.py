"""Apps for tests: on a database migrated first, as `flask diary init-db` (scripts/start)
does (starting the app applies no migration); and with a changed protocol."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from diary import clock, create_app
from diary.db import connect, migrate

# The zone the tests' participants and sites are in (conftest's default).
TIMEZONE = "America/Chicago"


def study_today(timezone: str = TIMEZONE) -> date:
    """Today where the participant is: the machine's own date (UTC here) is tomorrow
    for Chicago every evening, and a first injection dated then is refused."""
    return clock.local_date(clock.now(), timezone)


def migrated_app(overrides: dict[str, Any]):
    database = connect(overrides["DIARY_DATABASE"])
    migrate(database)
    database.conn.close()
    return create_app(overrides)


@contextmanager
def protocol_changed(
    app, *, thresholds: dict[str, Any] | None = None, labels: dict[str, str] | None = None
) -> Iterator[None]:
    """Serve the app with some protocol values changed (flag thresholds, symptom words),
    as an edited study.toml would, and put the protocol back afterwards."""
    study = app.extensions["diary.study"]
    changed = study
    if thresholds:
        changed = replace(changed, thresholds=replace(study.thresholds, **thresholds))
    if labels:
        symptoms = tuple(
            replace(s, label=labels[s.code]) if s.code in labels else s for s in study.symptoms
        )
        changed = replace(changed, symptoms=symptoms)
    app.extensions["diary.study"] = changed
    try:
        yield
    finally:
        app.extensions["diary.study"] = study
