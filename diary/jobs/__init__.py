"""Scheduled jobs: each module exposes run(db, *, now, study, config) -> summary dict.

Jobs are declared as data in registry.py with stable ids; runner.py builds the
APScheduler scheduler from them. The app factory never starts a scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    id: str
    run: Callable[..., dict[str, Any]]
    # APScheduler trigger arguments, e.g. {"trigger": "interval", "minutes": 5}
    trigger: dict[str, Any] = field(default_factory=dict)
    description: str = ""
