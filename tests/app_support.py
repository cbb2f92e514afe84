"""An app on a database migrated first, as `flask diary init-db` (scripts/start) does:
starting the app applies no migration and refuses to serve until they are applied."""

from __future__ import annotations

from typing import Any

from diary import create_app
from diary.db import connect, migrate


def migrated_app(overrides: dict[str, Any]):
    database = connect(overrides["DIARY_DATABASE"])
    migrate(database)
    database.conn.close()
    return create_app(overrides)
