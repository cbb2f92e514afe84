"""Fixtures for job tests: the real study file and migrated SQLite files of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from diary import study as study_module
from diary.db import connect, migrate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def study():
    return study_module.load(ROOT / "study.toml")


@pytest.fixture
def make_db(tmp_path):
    """make_db(name) → a migrated database file of its own (several per test are fine)."""
    opened = []

    def make(name="jobs"):
        database = connect(str(tmp_path / f"{name}.sqlite3"))
        migrate(database)
        opened.append(database)
        return database

    yield make
    for database in opened:
        database.conn.close()
