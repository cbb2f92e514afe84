"""The study's instruments: found, loaded once per process and checked against the
schedule in study.toml (SPEC §13)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import current_app

from ..study import current_study
from .instruments import Instrument, InstrumentError, load_dirs
from .scoring import check


def folders(study_source: str, content_dir: str | None) -> list[Path]:
    """Where a study's instruments live: `instruments/` beside its study file, then the
    content pack (DIARY_CONTENT_DIR), for licensed text kept out of git."""
    found = [Path(study_source).parent / "instruments"]
    if content_dir:
        found.append(Path(content_dir))
    return found


@functools.cache
def _load_cached(study_source: str, content_dir: str | None) -> dict[str, Instrument]:
    return load_dirs(folders(study_source, content_dir))


def for_study(study: Any, content_dir: str | None = None) -> dict[str, Instrument]:
    """The instruments the study's schedule names, checked against it: an unknown
    instrument, or a score its instrument cannot give, is refused naming both."""
    found = _load_cached(study.source, content_dir)
    if content_dir and not Path(content_dir).is_dir():
        raise InstrumentError(f"DIARY_CONTENT_DIR {content_dir}: no such folder")
    for n, schedule in enumerate(study.questionnaires):
        where = f"{study.source}: questionnaires[{n}]"
        instrument = found.get(schedule.instrument)
        if instrument is None:
            known = ", ".join(sorted(found)) or "none"
            raise InstrumentError(
                f"{where}: unknown instrument {schedule.instrument!r} (found: {known};"
                f" looked in {', '.join(str(f) for f in folders(study.source, content_dir))})"
            )
        for score in schedule.scores:
            problem = check(score, instrument)
            if problem:
                raise InstrumentError(f"{where}: score {score.name!r}: {problem}")
        for rule in schedule.flags:
            if rule.item is None:
                continue
            item = instrument.item(rule.item)
            if item is None or not item.answered:
                raise InstrumentError(
                    f"{where}: flag {rule.name!r}: no item {rule.item!r} to answer"
                )
            unknown = [a for a in rule.answer_in if item.type == "choice" and not item.option(a)]
            if unknown:
                raise InstrumentError(
                    f"{where}: flag {rule.name!r}: {', '.join(unknown)} is not an option of"
                    f" {rule.item!r}"
                )
    return found


def current() -> dict[str, Instrument]:
    """The running app's instruments (checked when create_app started)."""
    return for_study(current_study(), current_app.config.get("DIARY_CONTENT_DIR"))
