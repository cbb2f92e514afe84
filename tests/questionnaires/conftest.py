"""An app whose study also schedules the test-only instrument (every item type), found
in a content pack folder as a study's licensed instruments would be."""

from __future__ import annotations

import pytest
from app_support import migrated_app
from questionnaire_support import CONTENT, study_folder

from diary.db import close_thread_connections


@pytest.fixture
def app(tmp_path):
    app = migrated_app(
        {
            "DIARY_DATABASE": str(tmp_path / "diary.sqlite3"),
            "DIARY_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
            "DIARY_BASE_URL": "http://diary.test",
            "DIARY_STUDY_FILE": str(study_folder(tmp_path)),
            "DIARY_CONTENT_DIR": str(CONTENT),
            "TESTING": True,
        }
    )
    yield app
    close_thread_connections()
