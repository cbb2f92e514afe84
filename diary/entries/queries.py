"""SQL for diary entries, their doses and the client-write log."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

# The entry and its doses in one statement: one row per dose (one with NULLs for none).
_ENTRY_WITH_DOSES = (
    "SELECT e.*, d.drug AS dose_drug, d.strength AS dose_strength, d.units AS dose_units"
    " FROM entries e LEFT JOIN doses d ON d.entry_id = e.id"
    " WHERE e.participant_id = ? AND e.date = ? ORDER BY d.position"
)


def get_entry(db: Database, participant_id: int, day: date) -> dict[str, Any] | None:
    entry = None
    for row in db.query(_ENTRY_WITH_DOSES, [participant_id, day.isoformat()]):
        dose = (row.pop("dose_drug"), row.pop("dose_strength"), row.pop("dose_units"))
        if entry is None:
            entry, doses = row, []
        if dose[0] is not None:
            doses.append({"drug": dose[0], "strength": dose[1], "units": dose[2]})
    return _decoded(entry, doses) if entry else None


def entries_between(db: Database, participant_id: int, start: date, end: date) -> list[dict]:
    rows = list(
        db.query(
            "SELECT * FROM entries WHERE participant_id = ? AND date BETWEEN ? AND ? ORDER BY date",
            [participant_id, start.isoformat(), end.isoformat()],
        )
    )
    return _with_doses(db, rows)


def _with_doses(db: Database, rows: list[dict]) -> list[dict]:
    if not rows:
        return rows
    ids = [r["id"] for r in rows]
    doses: dict[int, list[dict]] = {i: [] for i in ids}
    marks = ", ".join("?" for _ in ids)
    for d in db.query(
        f"SELECT entry_id, drug, strength, units FROM doses WHERE entry_id IN ({marks})"
        " ORDER BY entry_id, position",
        ids,
    ):
        doses[d.pop("entry_id")].append(d)
    return [_decoded(r, doses[r["id"]]) for r in rows]


def _decoded(row: dict[str, Any], doses: list[dict[str, Any]]) -> dict[str, Any]:
    """An entries row as the service reads it: with its doses, JSON columns decoded."""
    row["doses"] = doses
    row["symptoms"] = json.loads(row["symptoms"])
    row["mme_unconverted"] = json.loads(row["mme_unconverted"])
    row["late"] = bool(row["late"])
    row["synced_late"] = bool(row["synced_late"])
    return row


def written_entry(row: dict[str, Any], doses: list[dict[str, Any]]) -> dict[str, Any]:
    """The entry just written, as get_entry would read it back: `row` as the INSERT or
    UPDATE returned it, `doses` as replace_doses stored them."""
    return _decoded(dict(row), doses)


def write_by_client_id(db: Database, client_id: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM entry_writes WHERE client_id = ?", [client_id]), None)


def insert_entry(db: Database, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert; the row as stored, or None when the participant already has an entry for
    that date (a race lost)."""
    columns = list(values)
    return _returned(
        db,
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        " ON CONFLICT (participant_id, date) DO NOTHING RETURNING *",
        [values[c] for c in columns],
    )


def update_entry(db: Database, entry_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Update; the row as stored."""
    sets = ", ".join(f"{c} = ?" for c in values)
    return _returned(
        db, f"UPDATE entries SET {sets} WHERE id = ? RETURNING *", [*values.values(), entry_id]
    )


# The REAL columns of entries. SQLite's RETURNING gives a value as bound, before the
# column's affinity makes 38 the stored 38.0; _returned applies it, so that an entry as
# written is the entry as read back (and audited). A test keeps this list complete.
REAL_COLUMNS = ("temperature_c", "mme")


def _returned(db: Database, sql: str, params: list) -> dict[str, Any] | None:
    cursor = db.conn.execute(sql, params)
    rows = cursor.fetchall()  # to the end: the statement is done before the commit
    if not rows:
        return None
    row = dict(zip([d[0] for d in cursor.description], rows[0], strict=True))
    for column in REAL_COLUMNS:
        if isinstance(row[column], int):
            row[column] = float(row[column])
    return row


def replace_doses(
    db: Database,
    entry_id: int,
    doses: list[dict[str, Any]],
    *,
    before: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Store the entry's doses in order; return them as get_entry reads them (strength and
    units are REAL columns). `before`, the doses as read (an entry just inserted has
    none), spares the statements when a correction leaves them as they were."""
    stored = [
        {"drug": d["drug"], "strength": float(d["strength"]), "units": float(d["units"])}
        for d in doses
    ]
    if before is not None and before == stored:
        return stored
    if before is None or before:
        db.execute("DELETE FROM doses WHERE entry_id = ?", [entry_id])
    db.conn.executemany(
        "INSERT INTO doses (entry_id, position, drug, strength, units) VALUES (?, ?, ?, ?, ?)",
        [(entry_id, i, d["drug"], d["strength"], d["units"]) for i, d in enumerate(stored)],
    )
    return stored


def record_write(
    db: Database,
    *,
    client_id: str,
    participant_id: int,
    entry_id: int,
    day: date,
    request_hash: str,
    version: int,
    received_at: str,
) -> None:
    db.execute(
        "INSERT INTO entry_writes (client_id, participant_id, entry_id, date, request_hash,"
        " version, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [client_id, participant_id, entry_id, day.isoformat(), request_hash, version, received_at],
    )


def recent_doses(db: Database, participant_id: int, limit_entries: int = 14) -> list[dict]:
    """Doses of the participant's latest entries, newest entry first."""
    return list(
        db.query(
            "SELECT e.date, d.drug, d.strength, d.units FROM doses d"
            " JOIN entries e ON e.id = d.entry_id"
            " WHERE e.id IN (SELECT id FROM entries WHERE participant_id = ?"
            "                ORDER BY date DESC LIMIT ?)"
            " ORDER BY e.date DESC, d.position",
            [participant_id, limit_entries],
        )
    )


def entry_changes(
    db: Database, participant_id: int, study_id: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Corrections of the participant's entries dated start..end, and entries staff
    created (a clarification of a missed date), oldest first."""
    rows = db.query(
        "SELECT id, at, actor_type, actor_label, action, object_id, before, after, reason"
        " FROM audit_log WHERE participant_id = ? AND object_type = 'entry'"
        " AND object_id BETWEEN ? AND ?"
        " AND (action = 'entry.correct' OR actor_type = 'staff') ORDER BY id",
        [participant_id, f"{study_id}/{start.isoformat()}", f"{study_id}/{end.isoformat()}"],
    )
    out = []
    for row in rows:
        row["before"] = json.loads(row["before"]) if row["before"] else None
        row["after"] = json.loads(row["after"]) if row["after"] else None
        out.append(row)
    return out


# --- data change requests ------------------------------------------------------

_CHANGE_REQUEST = """
SELECT c.*, p.study_id, p.site_id, rq.email AS requested_by, dc.email AS decided_by
FROM change_requests c
JOIN participants p ON p.id = c.participant_id
JOIN staff rq ON rq.id = c.requested_by
LEFT JOIN staff dc ON dc.id = c.decided_by
"""


def insert_change_request(
    db: Database,
    *,
    participant_id: int,
    day: date,
    changes: dict,
    why: str,
    source: str,
    staff_id: int,
    now: datetime,
) -> int:
    return db.execute(
        "INSERT INTO change_requests (participant_id, date, changes, why, source, requested_by,"
        " requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            participant_id,
            day.isoformat(),
            json.dumps(changes, sort_keys=True),
            why,
            source,
            staff_id,
            clock.iso(now),
        ],
    ).lastrowid


def change_request(db: Database, request_id: int, site_ids) -> dict | None:
    if request_id >= 2**63:
        return None
    sql, params = _CHANGE_REQUEST + " WHERE c.id = ?", [request_id]
    if site_ids is not None:
        sql += f" AND p.site_id IN ({', '.join('?' for _ in site_ids) or 'NULL'})"
        params += sorted(site_ids)
    return next(db.query(sql, params), None)


def change_requests(
    db: Database, participant_id: int, start: date | None = None, end: date | None = None
) -> list[dict]:
    sql, params = _CHANGE_REQUEST + " WHERE c.participant_id = ?", [participant_id]
    if start is not None and end is not None:
        sql += " AND c.date BETWEEN ? AND ?"
        params += [start.isoformat(), end.isoformat()]
    return list(db.query(sql + " ORDER BY c.id", params))


def decide_change_request(
    db: Database,
    request_id: int,
    *,
    status: str,
    staff_id: int,
    reason: str,
    now: datetime,
    clarification_audit_id: int | None,
) -> None:
    db.execute(
        "UPDATE change_requests SET status = ?, decided_by = ?, decided_at = ?,"
        " decision_reason = ?, clarification_audit_id = ? WHERE id = ? AND status = 'open'",
        [status, staff_id, clock.iso(now), reason, clarification_audit_id, request_id],
    )


def latest_entry_audit_id(db: Database, study_id: str, day: date) -> int | None:
    row = db.execute(
        "SELECT max(id) FROM audit_log WHERE object_type = 'entry' AND object_id = ?",
        [f"{study_id}/{day.isoformat()}"],
    ).fetchone()
    return row[0] if row else None


def entry_page(
    db: Database,
    participant_id: int,
    start: date,
    end: date,
    *,
    before: date | None,
    limit: int,
) -> tuple[list[date], int]:
    """One page of a long diary: the dates of the newest `limit` entries dated start..end
    and before `before` (newest first), and how many entries start..end holds in all."""
    span = [participant_id, start.isoformat(), end.isoformat()]
    rows = db.execute(
        "SELECT date, (SELECT count(*) FROM entries WHERE participant_id = ?"
        " AND date BETWEEN ? AND ?) FROM entries WHERE participant_id = ?"
        " AND date BETWEEN ? AND ? AND date < ? ORDER BY date DESC LIMIT ?",
        [*span, *span, before.isoformat() if before else "9999", limit],
    ).fetchall()
    if not rows:
        total = db.execute(
            "SELECT count(*) FROM entries WHERE participant_id = ? AND date BETWEEN ? AND ?", span
        ).fetchone()[0]
        return [], total
    return [date.fromisoformat(r[0]) for r in rows], rows[0][1]
