"""SQL for flags: episodes, the diary days the rules judge, missed dates, listing,
acknowledgement and resolution, and adverse events."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock

_FLAG_COLUMNS = (
    "severity",
    "status",
    "first_date",
    "last_date",
    "detail",
    "rule",
    "acknowledged_at",
    "acknowledged_by",
    "reopened_at",
    "reopen_count",
    "notices",
    "resolved_at",
    "resolution_note",
    "outcome",
    "updated_at",
)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["detail"] = json.loads(row["detail"])
    if "rule" in row:
        row["rule"] = json.loads(row["rule"])
    for key in ("first_date", "last_date"):
        if isinstance(row.get(key), str):
            row[key] = date.fromisoformat(row[key])
    return row


def open_episode(db: Database, participant_id: int, kind: str, episode_key: str) -> dict | None:
    """The unresolved flag of an episode, if any (dates as `date`)."""
    row = next(
        db.query(
            "SELECT * FROM flags WHERE participant_id = ? AND kind = ? AND episode_key = ?"
            " AND status != 'resolved'",
            [participant_id, kind, episode_key],
        ),
        None,
    )
    return _decode(row) if row else None


def insert_flag(
    db: Database,
    *,
    participant_id: int,
    kind: str,
    severity: str,
    episode_key: str,
    first_date: date,
    last_date: date,
    detail: dict[str, Any],
    rule: dict[str, Any],
    entry_id: int | None,
    now: datetime,
) -> int:
    stamp = clock.iso(now)
    return db.execute(
        "INSERT INTO flags (participant_id, kind, severity, episode_key, first_date, last_date,"
        " detail, rule, entry_id, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            participant_id,
            kind,
            severity,
            episode_key,
            first_date.isoformat(),
            last_date.isoformat(),
            json.dumps(detail, sort_keys=True),
            json.dumps(rule, sort_keys=True),
            entry_id,
            stamp,
            stamp,
        ],
    ).lastrowid


def update_flag(db: Database, flag_id: int, changes: dict[str, Any]) -> None:
    """Set columns of one flag; dates and JSON columns are encoded here."""
    values = encode_changes(changes)
    assignments = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE flags SET {assignments} WHERE id = ?", [*values.values(), flag_id])


def encode_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Flag columns as stored: dates and instants as ISO text, detail and rule as JSON."""
    unknown = set(changes) - set(_FLAG_COLUMNS)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    return {
        k: (
            v.isoformat()
            if isinstance(v, date) and not isinstance(v, datetime)
            else clock.iso(v)
            if isinstance(v, datetime)
            else json.dumps(v, sort_keys=True)
            if k in ("detail", "rule")
            else v
        )
        for k, v in changes.items()
    }


def next_flag_id(db: Database) -> int:
    """The id SQLite gives the next flag inserted without one (the table's largest + 1)."""
    return (db.execute("SELECT max(id) FROM flags").fetchone()[0] or 0) + 1


def insert_flags(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Insert flags whose columns (ids included) are given as stored; one statement for
    each run of rows that set the same columns."""
    for columns, group in _runs(rows):
        db.conn.executemany(
            f"INSERT INTO flags ({', '.join(columns)})"  # noqa: S608
            f" VALUES ({', '.join('?' for _ in columns)})",
            group,
        )


def update_flags(db: Database, changes: dict[int, dict[str, Any]]) -> None:
    """Set columns (as stored) of several flags: flag id → {column: value}; one
    statement for each run of flags that change the same columns."""
    rows = [{**values, "id": flag_id} for flag_id, values in changes.items()]
    for columns, group in _runs(rows):
        assignments = ", ".join(f"{k} = ?" for k in columns[:-1])
        db.conn.executemany(f"UPDATE flags SET {assignments} WHERE id = ?", group)  # noqa: S608


def _runs(rows: Sequence[dict[str, Any]]) -> Iterable[tuple[tuple[str, ...], list[tuple]]]:
    """Consecutive rows with the same columns: (columns, [values…])."""
    columns: tuple[str, ...] = ()
    group: list[tuple] = []
    for row in rows:
        keys = tuple(row)
        if keys != columns and group:
            yield columns, group
            group = []
        columns = keys
        group.append(tuple(row.values()))
    if group:
        yield columns, group


def red_flags_reported(
    db: Database, participant_id: int, day: date
) -> tuple[set[str], float | None]:
    """What the red-flag flags of one diary date have reported, whatever their status: every
    code, and the highest temperature (None when none recorded one)."""
    codes: set[str] = set()
    hottest: float | None = None
    for symptoms, temperature in db.execute(
        "SELECT f.detail ->> '$.symptoms', f.detail ->> '$.temperature_c' FROM flags f"
        " WHERE f.participant_id = ? AND f.kind = 'red_flag_symptom' AND f.episode_key = ?",
        [participant_id, day.isoformat()],
    ):
        codes.update(json.loads(symptoms or "[]"))
        if isinstance(temperature, int | float):
            hottest = temperature if hottest is None else max(hottest, temperature)
    return codes, hottest


def _ranges(rows: Iterable[Sequence[Any]]) -> str:
    """[(participant id, date, …), …] as the JSON array the queries read with json_each."""
    return (
        "["
        + ",".join(
            "[" + ",".join([str(int(r[0])), *(f'"{d.isoformat()}"' for d in r[1:])]) + "]"
            for r in rows
        )
        + "]"
    )


def flags_since(
    db: Database, since: Iterable[tuple[int, date]], kinds: Sequence[str]
) -> dict[int, list[dict[str, Any]]]:
    """Flags of `kinds` (any status) per participant whose last date is on or after `since`,
    earliest first, with what applying a finding to one reads of it (episodes.Writes);
    `detail` stays JSON text (most are never looked into)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    marks = ", ".join("?" for _ in kinds)
    for row in db.query(
        f"""
        WITH r AS (SELECT value ->> 0 AS pid, value ->> 1 AS since FROM json_each(?))
        SELECT f.id, f.participant_id, f.kind, f.severity, f.status, f.outcome,
               f.episode_key, f.first_date, f.last_date, f.detail, f.acknowledged_at,
               f.acknowledged_by, f.reopened_at, f.reopen_count, f.notices
        FROM r JOIN flags f ON f.participant_id = r.pid AND f.last_date >= r.since
        WHERE f.kind IN ({marks})
        ORDER BY f.participant_id, f.first_date, f.id
        """,
        [_ranges(since), *kinds],
    ):
        row["first_date"] = date.fromisoformat(row["first_date"])
        row["last_date"] = date.fromisoformat(row["last_date"])
        out[row["participant_id"]].append(row)
    return out


def diary_days(
    db: Database, ranges: Iterable[tuple[int, date, date]]
) -> dict[int, dict[str, tuple[int, float | None, str]]]:
    """Entries per participant within each [from, to], as stored: date text → (back pain,
    MME, unconverted drugs as JSON text). Decoding is left to the caller, per participant,
    so that one participant's bad row fails that participant only."""
    out: dict[int, dict[str, tuple[int, float | None, str]]] = defaultdict(dict)
    cursor = db.execute(
        """
        WITH r AS (SELECT value ->> 0 AS pid, value ->> 1 AS lo, value ->> 2 AS hi
                   FROM json_each(?))
        SELECT e.participant_id, e.date, e.back_pain, e.mme, e.mme_unconverted
        FROM r JOIN entries e ON e.participant_id = r.pid AND e.date BETWEEN r.lo AND r.hi
        """,
        [_ranges(ranges)],
    )
    for pid, day, back_pain, mme, unconverted in cursor:
        out[pid][day] = (back_pain, mme, unconverted)
    return out


def closing_extremes(
    db: Database,
    ranges: Iterable[tuple[int, date, date, date, date, date]],
    kinds: Collection[str],
) -> dict[int, tuple[int, int | None, float | None, float | None, int, int]]:
    """Per (participant, window_from, new_from, through, expected_from, expected_to): the
    entries on expected dates, the highest back pain and MME from new_from, the highest MME
    from window_from, whether an entry from new_from lists an unconverted opioid, and
    whether an unresolved flag of `kinds` reaches new_from. One row per participant, read
    through the entries' (participant, date) key and the flags' (participant, last date)
    index (the ranges decoded once, not once per entry that refers to them)."""
    cursor = db.execute(
        """
        WITH r AS MATERIALIZED (
            SELECT value ->> 0 AS pid, value ->> 1 AS lo, value ->> 2 AS new_from,
                   value ->> 3 AS hi, value ->> 4 AS due_lo, value ->> 5 AS due_hi
            FROM json_each(?))
        SELECT r.pid,
               count(e.date BETWEEN r.due_lo AND r.due_hi OR NULL),
               max(CASE WHEN e.date >= r.new_from THEN e.back_pain END),
               max(CASE WHEN e.date >= r.new_from THEN e.mme END),
               max(e.mme),
               coalesce(max(e.date >= r.new_from AND e.mme_unconverted != '[]'), 0),
               EXISTS (SELECT 1 FROM flags f WHERE f.participant_id = r.pid
                       AND f.last_date >= r.new_from AND f.status != 'resolved'
                       AND f.kind IN (SELECT value FROM json_each(?2)))
        FROM r LEFT JOIN entries e ON e.participant_id = r.pid AND e.date BETWEEN r.lo AND r.hi
        GROUP BY r.pid
        """,
        [_ranges(ranges), json.dumps(sorted(kinds))],
    )
    return {row[0]: row[1:] for row in cursor}


# Participants whose one newly closed date closes quietly (rules.closes_quietly): the
# closing job advances them in SQL, without reading them into Python. Those of a zone
# whose checkpoint is the day before the zone's latest closed date (exactly one new
# date), still active, neither rechecked nor failing, within their diary's length, with
# an entry on that date that is ordinary (below the flare floor of their baseline, the
# MME limit and the increase floor of the window ending on it, no unconverted opioid),
# and no unresolved flag of the kinds the job evaluates reaching it. Whatever this
# leaves out is evaluated in full.
_QUIET_CLOSINGS = """
    WITH zone AS MATERIALIZED (
        SELECT value ->> 0 AS name, value ->> 1 AS closed, value ->> 2 AS before
        FROM json_each(:zones)),
    -- zones share a few closing dates
    day AS MATERIALIZED (
        SELECT DISTINCT closed, before, date(closed, :reach) AS reach FROM zone),
    pain AS MATERIALIZED (
        SELECT value ->> 0 AS baseline, value ->> 1 AS floor FROM json_each(:pain_floors)),
    quiet AS MATERIALIZED (
        SELECT e.participant_id AS pid, day.closed AS day
        -- from the checkpoints: a run at an instant that closes nothing reads no entry
        FROM day
        CROSS JOIN job_progress jp
        CROSS JOIN entries e
        CROSS JOIN participants p
        WHERE jp.job_id = :job AND jp.participant_id BETWEEN :first_id AND :last_id
          AND jp.closed_through = day.before
          AND e.participant_id = jp.participant_id AND e.date = day.closed
          AND p.id = jp.participant_id
          AND day.closed = (SELECT zone.closed FROM zone WHERE zone.name = p.current_timezone)
          AND p.status = 'active' AND p.ended_at IS NULL AND p.locked_at IS NULL
          -- what the full path decodes for everyone, well formed (else it records a failure)
          AND json_valid(p.baseline_opioids)
          AND julianday(p.enrolled_at) IS NOT NULL
          AND p.enrolled_at GLOB '*[+-][0-9][0-9]:[0-9][0-9]'
          AND e.back_pain < (SELECT floor FROM pain WHERE pain.baseline = p.baseline_back_pain)
          AND (e.mme IS NULL OR e.mme <= :mme_high)
          AND e.mme_unconverted = '[]'
          AND p.id NOT IN (SELECT value FROM json_each(:rechecked))
          AND NOT EXISTS (SELECT 1 FROM job_failures f
                          WHERE f.job_id = :job AND f.participant_id = p.id)
          AND CASE WHEN date(p.first_injection_date) = p.first_injection_date
                   THEN date(p.first_injection_date, :length) END >= day.closed
          AND (SELECT coalesce(max(w.mme) < max(p.baseline_mme + :increase_abs,
                                                p.baseline_mme * (100 + :increase_pct) / 100.0)
                                            - 1e-6,
                               max(w.mme) IS NULL)
               FROM entries w
               WHERE w.participant_id = p.id AND w.date BETWEEN day.reach AND day.closed)
          AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.participant_id = p.id
                          AND f.last_date >= day.closed AND f.status != 'resolved'
                          AND f.kind IN (SELECT value FROM json_each(:kinds)))
          AND NOT EXISTS (SELECT 1 FROM study_freezes WHERE lifted_at IS NULL))
"""


def _span(ids: tuple[int, int]) -> dict[str, int]:
    return {"first_id": ids[0], "last_id": ids[1]}


def _quiet_parameters(
    job_id: str,
    closed_in: Mapping[str, date],
    rechecked: Iterable[int],
    *,
    kinds: Iterable[str],
    length_days: int,
    pain_floors: Mapping[int, float],
    mme_high: float,
    increase_abs: float,
    increase_pct: float,
    window_days: int,
) -> dict[str, Any]:
    return {
        "job": job_id,
        "zones": json.dumps(
            [[z, d.isoformat(), (d - timedelta(days=1)).isoformat()] for z, d in closed_in.items()]
        ),
        "kinds": json.dumps(sorted(kinds)),
        "pain_floors": json.dumps(sorted(pain_floors.items())),
        "rechecked": json.dumps(sorted(set(rechecked))),
        "length": f"+{length_days} days",
        "mme_high": mme_high,
        "increase_abs": increase_abs,
        "increase_pct": increase_pct,
        "reach": f"-{window_days - 1} days",
    }


EVERYONE = (0, 2**62)


def quiet_closings(
    db: Database, job_id: str, closed_in, rechecked, *, ids=EVERYONE, **limits
) -> dict[int, date]:
    """The participants `close_quietly` would advance, and to which date (nothing written)."""
    cursor = db.execute(
        _QUIET_CLOSINGS + " SELECT pid, day FROM quiet",
        {**_quiet_parameters(job_id, closed_in, rechecked, **limits), **_span(ids)},
    )
    return {pid: date.fromisoformat(day) for pid, day in cursor}


def close_quietly(
    db: Database,
    job_id: str,
    closed_in,
    rechecked,
    *,
    now: datetime,
    ids: tuple[int, int],
    **limits,
) -> int:
    """Advance the checkpoint of every participant whose new date closes quietly (see
    _QUIET_CLOSINGS), in one statement; how many. `closed_in`: each zone's latest closed
    date; `rechecked`: participants with a late entry (always evaluated in full); `ids`:
    the participants' ids from, to (inclusive)."""
    db.execute(
        _QUIET_CLOSINGS + " UPDATE job_progress SET closed_through = quiet.day, updated_at = :stamp"
        " FROM quiet WHERE job_progress.job_id = :job AND job_progress.participant_id = quiet.pid",
        {
            **_quiet_parameters(job_id, closed_in, rechecked, **limits),
            **_span(ids),
            "stamp": clock.iso(now),
        },
    )
    # (the cursor's rowcount does not count a statement that starts with WITH)
    return db.execute("SELECT changes()").fetchone()[0]


def injection_dates(db: Database, participant_ids: Iterable[int]) -> dict[int, list[str]]:
    """Every injection date per participant, ascending, as stored (ISO text; decoded by
    the caller per participant, so that one bad row fails that participant only)."""
    out: dict[int, list[str]] = defaultdict(list)
    cursor = db.execute(
        "SELECT participant_id, date FROM injections"
        " WHERE participant_id IN (SELECT value FROM json_each(?)) ORDER BY participant_id, date",
        [json.dumps(list(participant_ids))],
    )
    for pid, day in cursor:
        out[pid].append(day)
    return out


def record_missed(db: Database, rows: Iterable[tuple[int, date]], *, now: datetime) -> None:
    stamp = clock.iso(now)
    db.conn.executemany(
        "INSERT INTO missed_dates (participant_id, date, recorded_at) VALUES (?, ?, ?)"
        " ON CONFLICT (participant_id, date) DO NOTHING",
        [(pid, day.isoformat(), stamp) for pid, day in rows],
    )


def unmark_missed_before(db: Database, participant_id: int, first: date) -> None:
    """Dates before day 0 are not expected: none of them is missed."""
    db.execute(
        "DELETE FROM missed_dates WHERE participant_id = ? AND date < ?",
        [participant_id, first.isoformat()],
    )


def rewind_closing(db: Database, participant_id: int, *, to: date) -> None:
    """Move the closing job's checkpoint for one participant back to `to` (never forward),
    so that its next run closes and judges the dates after it again (idempotently)."""
    db.execute(
        "UPDATE job_progress SET closed_through = min(closed_through, ?) WHERE participant_id = ?",
        [to.isoformat(), participant_id],
    )


def unmark_missed(db: Database, rows: Iterable[tuple[int, date]]) -> None:
    """Dates that got an entry after all are no longer missed."""
    db.conn.executemany(
        "DELETE FROM missed_dates WHERE participant_id = ? AND date = ?",
        [(pid, day.isoformat()) for pid, day in rows],
    )


_LIST = """
SELECT f.*, p.study_id, s.code AS site, s.id AS site_id
FROM flags f JOIN participants p ON p.id = f.participant_id JOIN sites s ON s.id = p.site_id
"""


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["detail"] = json.loads(row["detail"])
    row["rule"] = json.loads(row["rule"])
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
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the flags at `site_ids` (None: every site) in the inbox's working order,
    and how many the filters select: what needs action first: the unresolved by severity
    (urgent, high, low), at each severity the open (unacknowledged) before the
    acknowledged, oldest first; then the resolved, the latest resolved first. status
    "unresolved": open or acknowledged."""
    clauses, params = [], []
    if site_ids is not None:
        clauses.append(f"p.site_id IN ({', '.join('?' for _ in site_ids)})" if site_ids else "0")
        params.extend(sorted(site_ids))
    if status == "unresolved":
        clauses.append("f.status != 'resolved'")
        status = None
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
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    sql = _LIST + where
    sql += (
        " ORDER BY f.status = 'resolved',"
        " CASE WHEN f.status = 'resolved' THEN 0"
        "      ELSE CASE f.severity WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END END,"
        " f.status = 'acknowledged',"
        " CASE WHEN f.status = 'resolved' THEN f.resolved_at END DESC,"
        " f.opened_at, f.id LIMIT ? OFFSET ?"
    )
    rows = [_row(r) for r in db.query(sql, [*params, limit, offset])]
    (total,) = db.execute(
        "SELECT count(*) FROM flags f JOIN participants p ON p.id = f.participant_id"
        " JOIN sites s ON s.id = p.site_id" + where,
        params,
    ).fetchone()
    return rows, total


def get_flag(db: Database, flag_id: int, site_ids) -> dict[str, Any] | None:
    """One flag if it is at `site_ids` (None: any site); None otherwise (answer 404)."""
    params: list[Any] = [flag_id]
    sql = _LIST + " WHERE f.id = ?"
    if site_ids is not None:
        sql += f" AND p.site_id IN ({', '.join('?' for _ in site_ids)})" if site_ids else " AND 0"
        params.extend(sorted(site_ids))
    row = next(db.query(sql, params), None)
    return _row(row) if row else None


def unresolved_of_kinds(
    db: Database, participant_ids: Iterable[int], kinds: Sequence[str]
) -> list[dict[str, Any]]:
    """The unresolved flags of `kinds` of these participants (dates as ISO text), by
    participant and first date: the flags an inbox item may merge."""
    marks = ", ".join("?" for _ in kinds)
    return list(
        db.query(
            "SELECT id, participant_id, kind, first_date, last_date FROM flags"
            " WHERE participant_id IN (SELECT value FROM json_each(?))"
            f" AND kind IN ({marks}) AND status != 'resolved'"
            " ORDER BY participant_id, first_date, id",
            [json.dumps(sorted(set(participant_ids))), *kinds],
        )
    )


def escalations(db: Database, flag_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per flag that became urgent: since when (`urgent_at`), its latest escalation
    (`escalated_at`, kept after a reopening restarted the clock) and the staff that
    escalation went to; the escalation clock is running when `clock_escalated_at` is
    None."""
    ids = json.dumps(sorted(set(flag_ids)))
    found = {
        r["flag_id"]: {**r, "recipients": []}
        for r in db.query(
            "SELECT u.flag_id, u.urgent_at, u.escalated_at AS clock_escalated_at,"
            " coalesce((SELECT max(o.created_at) FROM outbox o WHERE o.flag_id = u.flag_id"
            "           AND o.purpose = 'escalation'), u.escalated_at) AS escalated_at"
            " FROM urgent_flags u WHERE u.flag_id IN (SELECT value FROM json_each(?))",
            [ids],
        )
    }
    for r in db.query(
        "SELECT DISTINCT o.flag_id, s.email, s.role FROM outbox o"
        " JOIN staff s ON o.recipient_kind = 'staff' AND s.id = o.recipient_id"
        " WHERE o.purpose = 'escalation' AND o.flag_id IN (SELECT value FROM json_each(?))"
        " AND o.created_at = (SELECT max(x.created_at) FROM outbox x"
        "                     WHERE x.flag_id = o.flag_id AND x.purpose = 'escalation')"
        " ORDER BY o.flag_id, s.role, s.email",
        [ids],
    ):
        if r["flag_id"] in found:
            found[r["flag_id"]]["recipients"].append({"email": r["email"], "role": r["role"]})
    return found


# --- contact attempts ---------------------------------------------------------------


def insert_contact_attempt(
    db: Database,
    *,
    flag_id: int,
    participant_id: int,
    attempted_at: datetime,
    method: str,
    outcome: str,
    note: str | None,
    staff_id: int,
    now: datetime,
) -> int:
    return db.execute(
        "INSERT INTO contact_attempts (flag_id, participant_id, attempted_at, method, outcome,"
        " note, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            flag_id,
            participant_id,
            clock.iso(attempted_at),
            method,
            outcome,
            note,
            staff_id,
            clock.iso(now),
        ],
    ).lastrowid


def contact_attempts(db: Database, flag_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The contact attempts about these flags, the latest attempt first, with the
    e-mail of who recorded each."""
    return list(
        db.query(
            "SELECT c.id, c.flag_id, c.attempted_at, c.method, c.outcome, c.note,"
            " s.email AS recorded_by, c.recorded_at FROM contact_attempts c"
            " JOIN staff s ON s.id = c.recorded_by"
            " WHERE c.flag_id IN (SELECT value FROM json_each(?))"
            " ORDER BY c.attempted_at DESC, c.id DESC",
            [json.dumps(sorted(set(flag_ids)))],
        )
    )


# --- acknowledging, resolving, adverse events -----------------------------------


def acknowledge(db: Database, flag_id: int, *, staff_id: int, now: datetime) -> bool:
    """open → acknowledged; False when the flag is not open (the caller answers 409)."""
    row = db.execute(
        "UPDATE flags SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?,"
        " updated_at = ? WHERE id = ? AND status = 'open' RETURNING id",
        [clock.iso(now), staff_id, clock.iso(now), flag_id],
    ).fetchone()
    return row is not None


def resolve(
    db: Database, flag_id: int, *, staff_id: int, outcome: str, note: str | None, now: datetime
) -> bool:
    """open or acknowledged → resolved; False when it is resolved already."""
    row = db.execute(
        "UPDATE flags SET status = 'resolved', resolved_at = ?, resolved_by = ?, outcome = ?,"
        " resolution_note = ?, updated_at = ? WHERE id = ? AND status != 'resolved' RETURNING id",
        [clock.iso(now), staff_id, outcome, note, clock.iso(now), flag_id],
    ).fetchone()
    return row is not None


def insert_adverse_event(
    db: Database,
    *,
    participant_id: int,
    flag_id: int | None,
    source: str,
    staff_id: int,
    now: datetime,
    **values: Any,
) -> int:
    """Insert an adverse event; `values` are column values (see adverse_events.FIELDS)."""
    row = {
        "participant_id": participant_id,
        "flag_id": flag_id,
        "source": source,
        **values,
        "recorded_by": staff_id,
        "recorded_at": clock.iso(now),
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return db.execute(
        f"INSERT INTO adverse_events ({columns}) VALUES ({marks})",  # noqa: S608
        list(row.values()),
    ).lastrowid


def update_adverse_event(
    db: Database, ae_id: int, values: dict[str, Any], *, staff_id: int, now: datetime
) -> None:
    sets = ", ".join(f"{name} = ?" for name in values)
    db.execute(
        f"UPDATE adverse_events SET {sets}, version = version + 1, updated_by = ?,"  # noqa: S608
        " updated_at = ? WHERE id = ?",
        [*values.values(), staff_id, clock.iso(now), ae_id],
    )


_AE = """
SELECT a.id, a.participant_id, a.flag_id, a.source, a.term, a.onset_date, a.end_date,
       a.ctcae_grade, a.serious, a.seriousness_criteria, a.related, a.expected,
       a.action_taken, a.ae_outcome, a.note, a.version, st.email AS recorded_by,
       a.recorded_at, up.email AS updated_by, a.updated_at,
       p.study_id, p.site_id, s.code AS site
FROM adverse_events a
JOIN participants p ON p.id = a.participant_id
JOIN sites s ON s.id = p.site_id
JOIN staff st ON st.id = a.recorded_by
LEFT JOIN staff up ON up.id = a.updated_by
"""


def adverse_events(
    db: Database,
    *,
    participant_id: int | None = None,
    flag_ids: Iterable[int] | None = None,
    ae_id: int | None = None,
    site_ids=None,
) -> list[dict[str, Any]]:
    """Adverse events by participant, by flag, or by id; oldest onset first."""
    clauses, params = [], []
    if site_ids is not None:
        clauses.append(f"p.site_id IN ({', '.join('?' for _ in site_ids) or 'NULL'})")
        params.extend(sorted(site_ids))
    if participant_id is not None:
        clauses.append("a.participant_id = ?")
        params.append(participant_id)
    if flag_ids is not None:
        ids = sorted(set(flag_ids))
        clauses.append(f"a.flag_id IN ({', '.join('?' for _ in ids)})" if ids else "0")
        params.extend(ids)
    if ae_id is not None:
        clauses.append("a.id = ?")
        params.append(ae_id)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return list(db.query(_AE + where + " ORDER BY a.onset_date, a.id", params))


def staff_emails(db: Database, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    return {
        r[0]: r[1] for r in db.execute(f"SELECT id, email FROM staff WHERE id IN ({marks})", wanted)
    }


# --- the serious-adverse-event clock ----------------------------------------------------

_CLOCK = """
SELECT c.*, st.email AS reported_by_email
FROM sae_clocks c LEFT JOIN staff st ON st.id = c.reported_by
"""


def sae_clock(
    db: Database, *, flag_id: int | None = None, adverse_event_id: int | None = None
) -> dict[str, Any] | None:
    column, value = (
        ("c.flag_id", flag_id) if flag_id is not None else ("c.adverse_event_id", adverse_event_id)
    )
    return next(db.query(f"{_CLOCK} WHERE {column} = ?", [value]), None)


def sae_clocks(db: Database, ids: Iterable[int], column: str) -> dict[int, dict[str, Any]]:
    """Clocks by flag id or adverse event id (`column`: flag_id | adverse_event_id)."""
    wanted = sorted(set(ids))
    if not wanted or column not in ("flag_id", "adverse_event_id"):
        return {}
    marks = ", ".join("?" for _ in wanted)
    return {r[column]: r for r in db.query(f"{_CLOCK} WHERE c.{column} IN ({marks})", wanted)}


def start_sae_clock(
    db: Database,
    *,
    participant_id: int,
    flag_id: int | None,
    adverse_event_id: int | None,
    trigger: str,
    started_at: datetime,
    due_at: datetime,
) -> int | None:
    """A new running clock; None when the flag or event has one already."""
    row = db.execute(
        "INSERT INTO sae_clocks (participant_id, flag_id, adverse_event_id, trigger, started_at,"
        " due_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        [
            participant_id,
            flag_id,
            adverse_event_id,
            trigger,
            clock.iso(started_at),
            clock.iso(due_at),
        ],
    ).fetchone()
    return row[0] if row else None


def link_sae_clock(db: Database, clock_id: int, adverse_event_id: int) -> None:
    db.execute(
        "UPDATE sae_clocks SET adverse_event_id = ? WHERE id = ?", [adverse_event_id, clock_id]
    )


def stop_sae_clock(db: Database, clock_id: int, *, reason: str, now: datetime) -> None:
    db.execute(
        "UPDATE sae_clocks SET status = 'stopped', stopped_at = ?, stop_reason = ?"
        " WHERE id = ? AND status = 'running'",
        [clock.iso(now), reason, clock_id],
    )


def restart_sae_clock(db: Database, clock_id: int, *, now: datetime, due_at: datetime) -> None:
    """A stopped clock runs again from `now` (the site has just learned the event is
    serious), with its 12-hour and 24-hour notices to send anew."""
    db.execute(
        "UPDATE sae_clocks SET status = 'running', started_at = ?, due_at = ?,"
        " stopped_at = NULL, stop_reason = NULL, warned_at = NULL, overdue_at = NULL"
        " WHERE id = ? AND status = 'stopped'",
        [clock.iso(now), clock.iso(due_at), clock_id],
    )


def report_sae_clock(
    db: Database, clock_id: int, *, staff_id: int, reference: str, now: datetime
) -> None:
    db.execute(
        "UPDATE sae_clocks SET status = 'reported', reported_at = ?, reported_by = ?,"
        " reference = ? WHERE id = ?",
        [clock.iso(now), staff_id, reference, clock_id],
    )


def site_of_participant(db: Database, participant_id: int) -> int:
    return db.execute("SELECT site_id FROM participants WHERE id = ?", [participant_id]).fetchone()[
        0
    ]


def serious_events(db: Database, site_ids, *, include_closed: bool) -> list[dict[str, Any]]:
    """SAE clocks with their participant, flag and event; running ones first, soonest due."""
    where, params = [], []
    if site_ids is not None:
        where.append(f"p.site_id IN ({', '.join('?' for _ in site_ids) or 'NULL'})")
        params.extend(sorted(site_ids))
    if not include_closed:
        where.append("c.status = 'running'")
    sql = (
        f"{_CLOCK} JOIN participants p ON p.id = c.participant_id"
        " LEFT JOIN adverse_events a ON a.id = c.adverse_event_id"
        " LEFT JOIN flags f ON f.id = c.flag_id"
    ).replace("SELECT c.*,", "SELECT c.*, p.study_id, p.site_id, a.term, f.status AS flag_status,")
    sql += " WHERE " + " AND ".join(where) if where else ""
    sql += " ORDER BY c.status != 'running', c.due_at"
    return list(db.query(sql, params))


def sae_clocks_unnoticed(db: Database) -> list[dict[str, Any]]:
    """Running clocks with a 12-hour or 24-hour notice not yet sent (a handful at most)."""
    return list(
        db.query(
            "SELECT c.*, p.site_id, p.study_id FROM sae_clocks c"
            " JOIN participants p ON p.id = c.participant_id"
            " WHERE c.status = 'running' AND (c.warned_at IS NULL OR c.overdue_at IS NULL)"
            " ORDER BY c.due_at"
        )
    )


def mark_sae_notice(db: Database, clock_id: int, stage: str, *, now: datetime) -> bool:
    """Claim a clock's 12-hour (`warned_at`) or 24-hour (`overdue_at`) notice, once."""
    column = {"warning": "warned_at", "overdue": "overdue_at"}[stage]
    return (
        db.execute(
            f"UPDATE sae_clocks SET {column} = ? WHERE id = ? AND {column} IS NULL"  # noqa: S608
            " AND status = 'running' RETURNING id",
            [clock.iso(now), clock_id],
        ).fetchone()
        is not None
    )


def timezone_of(db: Database, participant_id: int) -> str:
    """The participant's time zone now (their latest zone history row)."""
    return db.execute(
        "SELECT current_timezone FROM participants WHERE id = ?", [participant_id]
    ).fetchone()[0]
