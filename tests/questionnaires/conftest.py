"""An app whose study also schedules the test-only instrument (every item type), found
in a content pack folder as a study's licensed instruments would be."""

from __future__ import annotations

import pytest
from questionnaire_support import questionnaire_app

from diary.db import close_thread_connections


@pytest.fixture
def app(tmp_path):
    app = questionnaire_app(tmp_path)
    yield app
    close_thread_connections()
