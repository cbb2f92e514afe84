"""Signed anchors of the audit chain, kept outside the database (SPEC §9).

An anchor is the chain's head at a moment: how many rows it had, the newest row's
hash and the time, signed with the audit key. Anchors are appended to a file off the
database (DIARY_AUDIT_ANCHORS) and written to the log, by the scheduler every hour
and by every backup; `flask diary audit anchors` prints them for the sponsor to keep.
Checked against the database they show what the keyed chain alone cannot: rows
removed from its end (fewer rows than anchored) and a chain rebuilt with the key
(a different hash at an anchored row).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .. import clock
from . import key_for

log = logging.getLogger(__name__)


def _signature(key: bytes, rows: int, head: str, at: str) -> str:
    message = json.dumps([rows, head, at], separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def current(db: Database, *, now: datetime, key: bytes | None = None) -> dict[str, Any]:
    """The chain's head now, signed (an empty chain is anchored at row 0)."""
    row = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    rows, head = (row[0], row[1]) if row else (0, "")
    at = clock.iso(now)
    return {
        "rows": rows,
        "head": head,
        "at": at,
        "mac": _signature(key or key_for(db), rows, head, at),
    }


def read(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The anchors of a file, and a problem for each line that is not one."""
    path = Path(path)
    if not path.exists():
        return [], []
    anchors, problems = [], []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            anchor = json.loads(line)
            if not (
                isinstance(anchor, dict)
                and isinstance(anchor.get("rows"), int)
                and all(isinstance(anchor.get(k), str) for k in ("head", "at", "mac"))
            ):
                raise ValueError
        except ValueError:
            problems.append(f"{path.name} line {number} is not an anchor")
            continue
        anchors.append(anchor)
    return anchors, problems


def last(path: str | Path) -> dict[str, Any] | None:
    anchors, _ = read(path)
    return anchors[-1] if anchors else None


def append(path: str | Path, *added: dict[str, Any], logged: bool = True) -> None:
    """Add anchors to the file (flushed to disk) and, unless told, to the log."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(a, separators=(",", ":"), sort_keys=True) for a in added]
    with path.open("a", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
        f.flush()
        os.fsync(f.fileno())
    for line in lines if logged else ():
        log.info("audit anchor %s", line)


def write(db: Database, path: str | Path, *, now: datetime, force: bool = False) -> dict | None:
    """Anchor the chain now unless the file's last anchor already has its head."""
    anchor = current(db, now=now)
    previous = last(path)
    if (
        not force
        and previous
        and (previous["rows"], previous["head"])
        == (
            anchor["rows"],
            anchor["head"],
        )
    ):
        return None
    append(path, anchor)
    return anchor


SHORTER = "shorter"  # the chain ends before an anchored row: truncated, or an older copy


def check(
    db: Database, anchors: list[dict[str, Any]], *, key: bytes | None = None
) -> list[tuple[str, str]]:
    """What the anchors show against the database, as (kind, text): forged anchors,
    rows removed from the end (SHORTER) and a rewritten chain. Empty when every
    anchor holds."""
    key = key or key_for(db)
    problems = []
    (newest,) = db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    for anchor in anchors:
        rows, head, at = anchor["rows"], anchor["head"], anchor["at"]
        if not hmac.compare_digest(_signature(key, rows, head, at), anchor["mac"]):
            problems.append(
                (
                    "forged",
                    f"the anchor of {at} (row {rows}) is not signed with the audit key: "
                    "edited, or written with another DIARY_AUDIT_KEY",
                )
            )
            continue
        if rows == 0:
            continue
        if rows > newest:
            problems.append(
                (
                    SHORTER,
                    f"the chain ends at row {newest}, but the anchor of {at} saw {rows} rows: "
                    "rows were removed from its end (or this is an older copy of the database)",
                )
            )
            continue
        found = db.execute("SELECT hash FROM audit_log WHERE id = ?", [rows]).fetchone()
        if found is None or found[0] != head:
            problems.append(
                (
                    "rewritten",
                    f"row {rows} differs from the anchor of {at}: the chain was rewritten",
                )
            )
    return problems
