"""SQL for flags: open-or-update by episode, and site-scoped listing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from .rules import Finding

SEVERITY_RANK = {"low": 0, "high": 1, "urgent": 2}


def upsert_episode(
    db: Database,
    *,
    participant: dict[str, Any],
    finding: Finding,
    episode_key: str,
    actor: audit.Actor,
    now: datetime,
    entry_id: int | None = None,
) -> tuple[int, str]:
    """Open a flag for a new episode or update the open one; return (id, 'opened'|'updated'|'unchanged').

    Severity never drops while a flag is open: a continuing episode that calms
    down must still be looked at at the level it reached. Must run inside the
    caller's transaction; every change is audited.
    """
    existing = next(
        db.query(
            "SELECT * FROM flags WHERE participant_id = ? AND kind = ? AND episode_key = ?"
            " AND status != 'resolved'",
            [participant["id"], finding.kind, episode_key],
        ),
        None,
    )
    detail = json.dumps(finding.detail, sort_keys=True)
    stamp = clock.iso(now)
    if existing is None:
        cursor = db.execute(
            "INSERT INTO flags (participant_id, kind, severity, episode_key, first_date,"
            " last_date, detail, entry_id, opened_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                participant["id"],
                finding.kind,
                finding.severity,
                episode_key,
                finding.first_date.isoformat(),
                finding.last_date.isoformat(),
                detail,
                entry_id,
                stamp,
                stamp,
            ],
        )
        flag_id = cursor.lastrowid
        audit.record(
            db,
            actor=actor,
            action="flag.open",
            object_type="flag",
            object_id=flag_id,
            site_id=participant["site_id"],
            participant_id=participant["id"],
            after={
                "kind": finding.kind,
                "severity": finding.severity,
                "first_date": finding.first_date.isoformat(),
                "last_date": finding.last_date.isoformat(),
                "detail": finding.detail,
            },
            at=now,
        )
        if finding.severity == "urgent":
            _notify_urgent(db, flag_id, participant, now)
        return flag_id, "opened"
    severity = max(existing["severity"], finding.severity, key=SEVERITY_RANK.__getitem__)
    first = min(existing["first_date"], finding.first_date.isoformat())
    last = max(existing["last_date"], finding.last_date.isoformat())
    new = {"severity": severity, "first_date": first, "last_date": last, "detail": detail}
    old = {k: existing[k] for k in new}
    if new == old:
        return existing["id"], "unchanged"
    db.execute(
        "UPDATE flags SET severity = ?, first_date = ?, last_date = ?, detail = ?, updated_at = ?"
        " WHERE id = ?",
        [severity, first, last, detail, stamp, existing["id"]],
    )
    audit.record(
        db,
        actor=actor,
        action="flag.update",
        object_type="flag",
        object_id=existing["id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={**old, "detail": json.loads(old["detail"])},
        after={**new, "detail": finding.detail},
        at=now,
    )
    if severity == "urgent" and existing["severity"] != "urgent":
        _notify_urgent(db, existing["id"], participant, now)
    return existing["id"], "updated"


def _notify_urgent(db: Database, flag_id: int, participant: dict[str, Any], now: datetime) -> None:
    # In the flag's transaction: the outbox row exists exactly when the flag does.
    from ..notify.outbox import enqueue_urgent_flag

    enqueue_urgent_flag(db, flag_id=flag_id, participant=participant, now=now)


_LIST = """
SELECT f.*, p.study_id, s.code AS site, s.id AS site_id
FROM flags f JOIN participants p ON p.id = f.participant_id JOIN sites s ON s.id = p.site_id
"""


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["detail"] = json.loads(row["detail"])
    return row


def list_flags(
    db: Database,
    site_ids: frozenset[int] | set[int] | None,
    *,
    status: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
    site_code: str | None = None,
    study_id: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Flags at `site_ids` (None: every site): open first, then by severity, then oldest."""
    clauses, params = [], []
    if site_ids is not None:
        clauses.append(f"p.site_id IN ({', '.join('?' for _ in site_ids)})" if site_ids else "0")
        params.extend(sorted(site_ids))
    for column, value in (
        ("f.status", status),
        ("f.severity", severity),
        ("f.kind", kind),
        ("s.code", site_code),
        ("p.study_id", study_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    sql = _LIST + (" WHERE " + " AND ".join(clauses) if clauses else "")
    sql += (
        " ORDER BY CASE f.status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END,"
        " CASE f.severity WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END,"
        " f.opened_at, f.id LIMIT ?"
    )
    return [_row(r) for r in db.query(sql, [*params, limit])]


def get_flag(db: Database, flag_id: int, site_ids) -> dict[str, Any] | None:
    """One flag if it is at `site_ids` (None: any site); None otherwise (answer 404)."""
    params: list[Any] = [flag_id]
    sql = _LIST + " WHERE f.id = ?"
    if site_ids is not None:
        sql += f" AND p.site_id IN ({', '.join('?' for _ in site_ids)})" if site_ids else " AND 0"
        params.extend(sorted(site_ids))
    row = next(db.query(sql, params), None)
    return _row(row) if row else None
