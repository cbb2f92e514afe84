"""SQL of what staff read back: the access log beyond its one INSERT (access_log.record),
whether a read was recorded a moment ago, and the rows for the people who review them;
and the audit trail as the admins' screen browses it (by dates and object types)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock


def recorded_since(
    db: Database,
    *,
    event: str,
    staff_id: int,
    participant_id: int | None,
    object: str,  # noqa: A002 - the column's name
    since: datetime,
) -> bool:
    """Whether this staff member's same read of the same thing is on record since `since`."""
    # The (staff_id, at) index narrows this to the staff member's last minute.
    row = db.execute(
        "SELECT 1 FROM access_log WHERE staff_id = ? AND at >= ? AND event = ?"
        " AND participant_id IS ? AND object = ? LIMIT 1",
        [staff_id, clock.iso(since), event, participant_id, object],
    ).fetchone()
    return row is not None


def list_rows(
    db: Database,
    *,
    site_ids: Iterable[int] | None = None,
    event: str | None = None,
    staff_id: int | None = None,
    study_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Access rows newest first, with who (e-mail, name), the participant's study ID and
    the site's code; `site_ids` None means every site and the rows of no site (sign-ins);
    `until` is exclusive."""
    where, params = [], []
    if site_ids is not None:
        ids = sorted(site_ids)
        where.append(f"a.site_id IN ({', '.join('?' for _ in ids)})" if ids else "0")
        params.extend(ids)
    if event is not None:
        where.append("a.event = ?")
        params.append(event)
    if staff_id is not None:
        where.append("a.staff_id = ?")
        params.append(staff_id)
    if study_id is not None:
        where.append("a.participant_id = (SELECT id FROM participants WHERE study_id = ?)")
        params.append(study_id)
    if since is not None:
        where.append("a.at >= ?")
        params.append(clock.iso(since))
    if until is not None:
        where.append("a.at < ?")
        params.append(clock.iso(until))
    if before_id is not None:
        where.append("a.id < ?")
        params.append(before_id)
    sql = (
        "SELECT a.id, a.at, a.event, a.staff_id, st.email AS staff_email,"
        " st.full_name AS staff_name, a.account, a.client, p.study_id AS participant,"
        " s.code AS site, a.object"
        " FROM access_log a"
        " LEFT JOIN staff st ON st.id = a.staff_id"
        " LEFT JOIN participants p ON p.id = a.participant_id"
        " LEFT JOIN sites s ON s.id = a.site_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY a.id DESC LIMIT ?"
    params.append(limit)
    return list(db.query(sql, params))


def browse(
    db: Database,
    *,
    site_ids: Iterable[int] | None,
    timezone: str,
    event: str | None = None,
    staff_id: int | None = None,
    participant: str | None = None,
    since: date | None = None,
    until: date | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The rows a query string asks for (AccessQuerySchema): dates are whole days in
    `timezone` (the study's), `until` included; no sites at all means no rows."""
    if site_ids is not None and not site_ids:
        return []
    return list_rows(
        db,
        site_ids=site_ids,
        event=event,
        staff_id=staff_id,
        study_id=participant,
        since=clock.local_instant(since, time(0), timezone) if since else None,
        until=clock.local_instant(until + timedelta(days=1), time(0), timezone) if until else None,
        before_id=before_id,
        limit=limit,
    )


# --- the audit trail, as staff browse it ------------------------------------------------


def _trail_sites(site_ids: Iterable[int] | None) -> tuple[str, list[Any]]:
    if site_ids is None:
        return "1 = 1", []
    ids = sorted(site_ids)
    return (f"site_id IN ({', '.join('?' for _ in ids)})" if ids else "0 = 1"), ids


def trail(
    db: Database,
    *,
    site_ids: Iterable[int] | None = None,
    timezone: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
    participant_id: int | None = None,
    study_id: str | None = None,
    from_: date | None = None,
    to: date | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Audit rows newest first, filtered (AuditQuerySchema's filters, and a participant's
    id for code that holds one): `from_`/`to` are whole days in `timezone` (the study's),
    `to` included; `site_ids` None means every site, an empty set none."""
    if (from_ is not None or to is not None) and timezone is None:
        raise ValueError("days are counted in a time zone: pass the study's")
    where, params = _trail_sites(site_ids)
    clauses = [where]
    if study_id is not None:
        clauses.append("participant_id = (SELECT id FROM participants WHERE study_id = ?)")
        params.append(study_id)
    for column, value in (
        ("object_type", object_type),
        ("object_id", object_id),
        ("actor_type", actor_type),
        ("actor_id", actor_id),
        ("participant_id", participant_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if from_ is not None:
        clauses.append("at >= ?")
        params.append(clock.iso(clock.local_instant(from_, time(0), timezone)))
    if to is not None:
        clauses.append("at < ?")
        params.append(clock.iso(clock.local_instant(to + timedelta(days=1), time(0), timezone)))
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    rows = []
    for row in db.query(
        f"SELECT * FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    ):
        for key in ("before", "after"):
            row[key] = json.loads(row[key]) if row[key] is not None else None
        rows.append(row)
    return rows


def object_types(db: Database, *, site_ids: Iterable[int] | None) -> list[str]:
    """The object types the audit trail holds (in the caller's sites), by name: one step
    of the (object_type, object_id) index per type, however long the trail."""
    where, params = _trail_sites(site_ids)
    rows = db.execute(
        "WITH RECURSIVE types(name) AS ("
        f" SELECT min(object_type) FROM audit_log WHERE {where}"
        " UNION ALL SELECT (SELECT min(object_type) FROM audit_log"
        f"  WHERE object_type > types.name AND {where})"
        " FROM types WHERE types.name IS NOT NULL)"
        " SELECT name FROM types WHERE name IS NOT NULL",
        [*params, *params],
    ).fetchall()
    return [r[0] for r in rows]
