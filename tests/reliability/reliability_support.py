"""Helpers for the fault tests: a deployment record and database checks."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadgen, serverctl  # noqa: E402

PARTICIPANTS = 40


@dataclass
class Deployment:
    port: int
    env: dict[str, str]
    web: serverctl.Proc
    scheduler: serverctl.Proc
    study: serverctl.Study
    sessions: dict[str, serverctl.Session]
    staff: list[serverctl.Session]
    logs: list[Path]

    def plan(self, seconds: float, clients: int = 8, **options) -> loadgen.Plan:
        return loadgen.Plan(
            port=self.port,
            scenario="mix",
            clients=clients,
            seconds=seconds,
            participants=[(sid, s.cookie, s.csrf) for sid, s in self.sessions.items()],
            staff=[(s.cookie, s.csrf) for s in self.staff],
            processes=1,
            **options,
        )

    def log_text(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace") for p in self.logs if p.exists())


def integrity(database: Path) -> list:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
