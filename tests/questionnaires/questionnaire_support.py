"""Paths and a study folder for questionnaire tests: the real study file plus the
test-only instrument (every item type), found in a content pack folder as a study's
licensed instruments would be."""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
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
"""


def study_folder(tmp_path: Path, extra: str = ALL_TYPES) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.toml").write_text((ROOT / "study.toml").read_text() + extra)
    shutil.copytree(ROOT / "instruments", folder / "instruments")
    return folder / "study.toml"
