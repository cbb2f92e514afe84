"""Append-only, hash-chained audit trail (SPEC §9).

Each row's hash covers its own fields and the previous row's hash, so editing,
reordering or removing a row breaks the chain at that row. The database itself
refuses UPDATE and DELETE (triggers in migrations/0001).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

GENESIS = "0" * 64
_FIELDS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "site_id",
    "participant_id",
    "before",
    "after",
    "reason",
    "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    type: str  # staff | participant | system | cli
    id: str | None = None
    label: str | None = None


CLI = Actor("cli", None, "command line")


def system(job: str) -> Actor:
    return Actor("system", job, f"job {job}")


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(row: dict[str, Any]) -> str:
    payload = json.dumps([row.get(name) for name in _FIELDS], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    db: Database,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    site_id: int | None = None,
    participant_id: int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one audit row; must run inside the transaction of the change it records."""
    if not db.conn.in_transaction:
        raise RuntimeError("audit.record() must run inside the change's transaction")
    last = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    row = {
        "id": (last[0] + 1) if last else 1,
        "at": clock.iso(at or clock.now()),
        "actor_type": actor.type,
        "actor_id": None if actor.id is None else str(actor.id),
        "actor_label": actor.label,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "site_id": site_id,
        "participant_id": participant_id,
        "before": _canonical(before),
        "after": _canonical(after),
        "reason": reason,
        "prev_hash": last[1] if last else GENESIS,
    }
    row["hash"] = row_hash(row)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO audit_log ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608
    return row["id"]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    broken_id: int | None = None
    problem: str | None = None


def verify(db: Database) -> VerifyResult:
    """Walk the chain in id order; report the first row whose link is broken."""
    previous = GENESIS
    expected_id = 1
    count = 0
    cursor = db.execute(f"SELECT {', '.join(_FIELDS)}, hash FROM audit_log ORDER BY id")  # noqa: S608
    names = [*_FIELDS, "hash"]
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        count += 1
        if row["id"] != expected_id:
            return VerifyResult(False, count, row["id"], f"row {expected_id} is missing")
        if row["prev_hash"] != previous:
            return VerifyResult(False, count, row["id"], "prev_hash does not match the row before")
        if row_hash(row) != row["hash"]:
            return VerifyResult(False, count, row["id"], "content does not match its hash")
        previous = row["hash"]
        expected_id += 1
    return VerifyResult(True, count)


def list_rows(
    db: Database,
    *,
    site_ids: set[int] | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
    participant_id: int | None = None,
    study_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Audit rows newest first, filtered; `site_ids` None means every site."""
    where, params = [], []
    if study_id is not None:
        where.append("participant_id = (SELECT id FROM participants WHERE study_id = ?)")
        params.append(study_id)
    for column, value in (
        ("object_type", object_type),
        ("object_id", object_id),
        ("actor_type", actor_type),
        ("actor_id", actor_id),
        ("participant_id", participant_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    if site_ids is not None:
        where.append(f"site_id IN ({', '.join('?' for _ in site_ids)})")
        params.extend(sorted(site_ids))
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    rows = []
    for row in db.query(sql, params):
        for key in ("before", "after"):
            row[key] = json.loads(row[key]) if row[key] is not None else None
        rows.append(row)
    return rows
