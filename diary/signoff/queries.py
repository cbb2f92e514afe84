"""SQL of sign-off: the records a signature covers, read straight from their tables
so that signing and checking hash the same canonical content, and the signature,
lock and freeze rows themselves."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

# What a signature covers of each record: its content and version, never bookkeeping
# (sync times, client ids), so only a change a reader of the record would see counts.
_ENTRY = (
    "SELECT e.id, e.date, e.version, e.back_pain, e.leg_pain, e.symptoms, e.temperature_c,"
    " e.note, e.mme, e.mme_unconverted, e.entered_by FROM entries e"
)
_DOSES = "SELECT drug, strength, units FROM doses WHERE entry_id = ? ORDER BY position"
_RESPONSE = (
    "SELECT o.id AS occurrence_id, o.instrument, o.due_date, r.answers, r.scores, r.version,"
    " r.entered_by FROM questionnaire_responses r"
    " JOIN questionnaire_occurrences o ON o.id = r.occurrence_id"
)
AE_CONTENT = (
    "id",
    "participant_id",
    "flag_id",
    "source",
    "term",
    "onset_date",
    "end_date",
    "ctcae_grade",
    "serious",
    "seriousness_criteria",
    "related",
    "expected",
    "action_taken",
    "ae_outcome",
    "note",
    "version",
)
_AE = f"SELECT {', '.join(AE_CONTENT)} FROM adverse_events"  # noqa: S608


def digest(content: Any) -> str:
    """SHA-256 of the canonical JSON of a record's content."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_content(db: Database, row: dict[str, Any]) -> dict[str, Any]:
    doses = [dict(d) for d in db.query(_DOSES, [row["id"]])]
    return {**{k: v for k, v in row.items() if k != "id"}, "doses": doses}


def adverse_event(db: Database, ae_id: int) -> dict[str, Any] | None:
    return next(db.query(f"{_AE} WHERE id = ?", [ae_id]), None)


def casebook(db: Database, participant_id: int, up_to: date) -> dict[str, Any]:
    """A participant's injection dates and baselines, and all their entries,
    questionnaire responses and adverse events dated up to `up_to`: what a casebook
    signature signs."""
    day = up_to.isoformat()
    entries = [
        _entry_content(db, r)
        for r in db.query(
            f"{_ENTRY} WHERE e.participant_id = ? AND e.date <= ? ORDER BY e.date",
            [participant_id, day],
        )
    ]
    responses = list(
        db.query(
            f"{_RESPONSE} WHERE r.participant_id = ? AND o.due_date <= ? ORDER BY o.id",
            [participant_id, day],
        )
    )
    events = list(
        db.query(
            f"{_AE} WHERE participant_id = ? AND onset_date <= ? ORDER BY id", [participant_id, day]
        )
    )
    # Day 0 and the baselines: every study day, window and flag is judged from them.
    basis = next(
        db.query(
            "SELECT baseline_back_pain, baseline_mme, baseline_opioids,"
            " (SELECT json_group_array(date) FROM (SELECT date FROM injections"
            "   WHERE participant_id = ? ORDER BY date)) AS injections"
            " FROM participants WHERE id = ?",
            [participant_id, participant_id],
        )
    )
    return {
        "basis": basis,
        "entries": entries,
        "questionnaires": responses,
        "adverse_events": events,
    }


def clarified_record(db: Database, audit_row: dict[str, Any]) -> dict[str, Any] | None:
    """The current version of the entry or questionnaire response a clarification wrote."""
    if audit_row["object_type"] == "entry":
        study_id, day = audit_row["object_id"].rsplit("/", 1)
        row = next(
            db.query(
                f"{_ENTRY} JOIN participants p ON p.id = e.participant_id"
                " WHERE p.study_id = ? AND e.date = ?",
                [study_id, day],
            ),
            None,
        )
        return None if row is None else _entry_content(db, row)
    return next(
        db.query(f"{_RESPONSE} WHERE r.occurrence_id = ?", [int(audit_row["object_id"])]), None
    )


def clarification(db: Database, audit_id: int) -> dict[str, Any] | None:
    """A staff write of an entry or questionnaire response (a data clarification)."""
    row = next(
        db.query(
            "SELECT id, at, actor_label, action, object_type, object_id, participant_id, site_id,"
            " after, reason FROM audit_log WHERE id = ? AND actor_type = 'staff'"
            " AND action IN ('entry.create', 'entry.correct', 'questionnaire.clarify')",
            [audit_id],
        ),
        None,
    )
    if row is not None:
        row["after"] = json.loads(row["after"]) if row["after"] else {}
    return row


def participant(db: Database, study_id: str, site_ids) -> dict[str, Any] | None:
    """id, study id, site, time zone and lock state of a participant at `site_ids`
    (None: all)."""
    sql = (
        "SELECT p.id, p.study_id, p.site_id, p.status, p.locked_at, p.locked_by, p.lock_reason,"
        " p.first_injection_date AS first_injection,"
        " coalesce(p.current_timezone, s.timezone) AS timezone"
        " FROM participants p JOIN sites s ON s.id = p.site_id WHERE p.study_id = ?"
    )
    params: list[Any] = [study_id]
    if site_ids is not None:
        sql += f" AND p.site_id IN ({', '.join('?' for _ in site_ids) or 'NULL'})"
        params += sorted(site_ids)
    return next(db.query(sql, params), None)


def participant_by_id(db: Database, participant_id: int) -> dict[str, Any] | None:
    return next(
        db.query(
            "SELECT p.id, p.study_id, p.site_id, p.locked_at, p.locked_by, p.lock_reason"
            " FROM participants p WHERE p.id = ?",
            [participant_id],
        ),
        None,
    )


def write_state(db: Database, participant_id: int) -> dict[str, Any] | None:
    """What a write to a participant's data must know first, in one statement: their
    lock, the study freeze in force (at most one: study_freezes_in_force) and whether
    they have a valid signature to recheck; None for an unknown participant."""
    return next(
        db.query(
            "SELECT p.locked_at, p.locked_by, p.lock_reason,"
            " f.frozen_at AS freeze_frozen_at, f.frozen_by AS freeze_frozen_by,"
            " f.reason AS freeze_reason,"
            " EXISTS (SELECT 1 FROM signatures g"
            "  WHERE g.participant_id = p.id AND g.status = 'valid') AS signed"
            " FROM participants p LEFT JOIN study_freezes f ON f.lifted_at IS NULL"
            " WHERE p.id = ?",
            [participant_id],
        ),
        None,
    )


# --- signatures ------------------------------------------------------------------

_SIGNATURE = """
SELECT g.*, p.study_id, a.action AS invalidated_by_action, a.actor_label AS invalidated_by_actor,
       a.at AS invalidated_by_at, a.reason AS invalidated_by_reason
FROM signatures g
JOIN participants p ON p.id = g.participant_id
LEFT JOIN audit_log a ON a.id = g.invalidated_by_audit_id
"""


def insert_signature(db: Database, values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return db.execute(
        f"INSERT INTO signatures ({columns}) VALUES ({marks})",  # noqa: S608
        list(values.values()),
    ).lastrowid


def signatures(
    db: Database,
    *,
    record_type: str | None = None,
    record_id: int | None = None,
    participant_id: int | None = None,
    site_ids=None,
    status: str | None = None,
    record_ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    where, params = [], []
    if record_ids is not None:
        where.append(f"g.record_id IN ({', '.join('?' for _ in record_ids) or 'NULL'})")
        params += list(record_ids)
    for column, value in (
        ("g.record_type", record_type),
        ("g.record_id", record_id),
        ("g.participant_id", participant_id),
        ("g.status", status),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if site_ids is not None:
        where.append(f"p.site_id IN ({', '.join('?' for _ in site_ids) or 'NULL'})")
        params += sorted(site_ids)
    sql = _SIGNATURE + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY g.id"
    return list(db.query(sql, params))


def has_valid_signatures(db: Database, participant_id: int) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM signatures WHERE participant_id = ? AND status = 'valid' LIMIT 1",
            [participant_id],
        ).fetchone()
        is not None
    )


def invalidate(db: Database, signature_id: int, *, audit_id: int, now: datetime) -> None:
    db.execute(
        "UPDATE signatures SET status = 'invalidated', invalidated_at = ?,"
        " invalidated_by_audit_id = ? WHERE id = ? AND status = 'valid'",
        [clock.iso(now), audit_id, signature_id],
    )


def signing_audit_rows(db: Database) -> dict[int, dict[str, Any]]:
    """signature id → the `after` of the audit row that recorded its signing."""
    return {
        int(r["object_id"]): json.loads(r["after"])
        for r in db.query(
            "SELECT object_id, after FROM audit_log"
            " WHERE object_type = 'signature' AND action = 'signature.sign'"
        )
    }


# --- locks and freezes -----------------------------------------------------------


def freezes_between(db: Database, start: datetime, end: datetime) -> list[tuple[str, str | None]]:
    """(frozen_at, lifted_at) of every study freeze that held at some instant in [start, end]."""
    return db.execute(
        "SELECT frozen_at, lifted_at FROM study_freezes"
        " WHERE frozen_at <= ? AND (lifted_at IS NULL OR lifted_at >= ?)",
        [clock.iso(end), clock.iso(start)],
    ).fetchall()


def freeze_in_force(db: Database) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM study_freezes WHERE lifted_at IS NULL"), None)


def set_lock(
    db: Database, participant_id: int, *, at: str | None, by: str | None, reason: str | None
):
    db.execute(
        "UPDATE participants SET locked_at = ?, locked_by = ?, lock_reason = ? WHERE id = ?",
        [at, by, reason, participant_id],
    )


def insert_freeze(db: Database, *, by: str, reason: str, now: datetime) -> int:
    return db.execute(
        "INSERT INTO study_freezes (frozen_at, frozen_by, reason) VALUES (?, ?, ?)",
        [clock.iso(now), by, reason],
    ).lastrowid


def lift_freeze(db: Database, freeze_id: int, *, by: str, reason: str, now: datetime) -> None:
    db.execute(
        "UPDATE study_freezes SET lifted_at = ?, lifted_by = ?, lift_reason = ? WHERE id = ?",
        [clock.iso(now), by, reason, freeze_id],
    )


# --- what awaits an investigator's signature -------------------------------------


def _sites(site_ids, column: str = "p.site_id") -> tuple[str, list[Any]]:
    if site_ids is None:
        return "1 = 1", []
    return f"{column} IN ({', '.join('?' for _ in site_ids) or 'NULL'})", sorted(site_ids)


def unsigned_adverse_events(db: Database, site_ids) -> list[dict[str, Any]]:
    """Adverse events without a valid signature, with whether one was invalidated."""
    where, params = _sites(site_ids)
    return list(
        db.query(
            "SELECT a.id, a.term, a.recorded_at, coalesce(a.updated_at, a.recorded_at) AS since,"
            " p.study_id, s.code AS site,"
            " EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'adverse_event'"
            "   AND g.record_id = a.id) AS was_signed"
            " FROM adverse_events a JOIN participants p ON p.id = a.participant_id"
            " JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} AND NOT EXISTS (SELECT 1 FROM signatures g"  # noqa: S608
            "   WHERE g.record_type = 'adverse_event' AND g.record_id = a.id"
            "   AND g.status = 'valid')"
            " ORDER BY since",
            params,
        )
    )


# A casebook's last dated record: a signature must reach it to cover the casebook.
_LAST_DATA = (
    "(SELECT max(d) FROM ("
    " SELECT max(e.date) AS d FROM entries e WHERE e.participant_id = p.id"
    " UNION ALL SELECT max(o.due_date) FROM questionnaire_responses r"
    "   JOIN questionnaire_occurrences o ON o.id = r.occurrence_id"
    "   WHERE r.participant_id = p.id"
    " UNION ALL SELECT max(a.onset_date) FROM adverse_events a WHERE a.participant_id = p.id))"
)


def unsigned_casebooks(db: Database, site_ids) -> list[dict[str, Any]]:
    """Participants whose diary ended (completed, withdrawn) or is locked, with no valid
    casebook signature reaching their last dated record; `partly_signed` when a valid
    one covers only part of it, `was_signed` when any signature exists."""
    where, params = _sites(site_ids)
    return list(
        db.query(
            "SELECT p.id, p.study_id, s.code AS site, p.status,"
            " coalesce(p.locked_at, p.ended_at) AS since,"
            " EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'participant'"
            "   AND g.record_id = p.id) AS was_signed,"
            " EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'participant'"
            "   AND g.record_id = p.id AND g.status = 'valid') AS partly_signed"
            " FROM participants p JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} AND (p.status != 'active' OR p.locked_at IS NOT NULL)"  # noqa: S608
            " AND NOT EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'participant'"
            "   AND g.record_id = p.id AND g.status = 'valid'"
            f"   AND g.up_to >= coalesce({_LAST_DATA}, ''))"
            " ORDER BY since",
            params,
        )
    )


def unsigned_change_requests(db: Database, site_ids) -> list[dict[str, Any]]:
    """Applied change requests whose clarification has no valid signature."""
    where, params = _sites(site_ids)
    return list(
        db.query(
            "SELECT c.id, c.date, c.clarification_audit_id, c.decided_at AS since, p.study_id,"
            " s.code AS site,"
            " EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'clarification'"
            "   AND g.record_id = c.clarification_audit_id) AS was_signed"
            " FROM change_requests c JOIN participants p ON p.id = c.participant_id"
            " JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} AND c.status = 'applied'"  # noqa: S608
            " AND NOT EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'clarification'"
            "   AND g.record_id = c.clarification_audit_id AND g.status = 'valid')"
            " ORDER BY since",
            params,
        )
    )
