"""Paths and a study folder for questionnaire tests: the real study file plus the
test-only instrument (every item type), found in a content pack folder as a study's
licensed instruments would be."""

from __future__ import annotations

import shutil
from pathlib import Path

from app_support import migrated_app

HERE = Path(__file__).resolve().parent / "questionnaires"
ROOT = HERE.parents[1]
CONTENT = HERE / "content"

ALL_TYPES = """

[[questionnaires]]
instrument = "all-types"
anchor = "first_injection"
offsets_days = [0, 14]
window_before_days = 0
window_after_days = 2

[[questionnaires.scores]]
name = "effort"
method = "sum"
items = ["walk", "days_off"]
max_missing = 1

[[questionnaires.flags]]
name = "cannot_walk"
item = "walk"
answer_in = ["none"]
severity = "urgent"
text = "cannot walk at all"

[[questionnaires.flags]]
name = "effort_high"
score = "effort"
at_least = 8
severity = "high"
text = "effort score of 8 or more"
"""


def study_folder(tmp_path: Path, extra: str = ALL_TYPES) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.toml").write_text((ROOT / "study.toml").read_text() + extra)
    shutil.copytree(ROOT / "instruments", folder / "instruments")
    return folder / "study.toml"


def questionnaire_app(tmp_path: Path):
    """The real app on a database of its own, with the test instrument scheduled."""
    return migrated_app(
        {
            "DIARY_DATABASE": str(tmp_path / "diary.sqlite3"),
            "DIARY_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
            "DIARY_BASE_URL": "http://diary.test",
            "DIARY_STUDY_FILE": str(study_folder(tmp_path)),
            "DIARY_CONTENT_DIR": str(CONTENT),
            "TESTING": True,
        }
    )
