"""SQL for the exports: one set-based statement per table, scoped to the caller's sites.

Every statement joins participants and sites and filters on `p.site_id IN (...)`
(None: every site) and, optionally, on one site code; a code outside the
caller's sites therefore yields no rows, never another site's data. A period
(first and last diary date) keeps the rows dated in it: entries and doses by
their date, flags that overlap it, adverse events by onset, questionnaires by
due date, signatures by when they were signed (in the study's time zone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock


@dataclass(frozen=True)
class Period:
    """Diary dates first..last (both included); `timezone` (the study's) cuts instants."""

    first: date
    last: date
    timezone: str

    @classmethod
    def asked(cls, first: date | None, last: date | None, timezone: str) -> Period | None:
        """The period a query string's `from`/`to` name (either may be left open)."""
        if first is None and last is None:
            return None
        return cls(
            first or date(clock.FIRST_YEAR, 1, 1), last or date(clock.LAST_YEAR, 12, 31), timezone
        )

    def dates(self) -> list[str]:
        return [self.first.isoformat(), self.last.isoformat()]

    def instants(self) -> list[str]:
        """[start, end): the study zone's midnight before `first` and after `last`."""
        return [
            clock.iso(clock.local_instant(day, time(0), self.timezone))
            for day in (self.first, self.last + timedelta(days=1))
        ]


def _dated(
    where: str, params: list[Any], period: Period | None, clause: str, values: list[Any]
) -> tuple[str, list[Any]]:
    """`where` narrowed to the period (`clause` with `values` bound) when there is one."""
    if period is None:
        return where, params
    return f"{where} AND {clause}", [*params, *values]


_FIRST_INJECTION = "p.first_injection_date"  # kept on the row from the injections
# When the participant's data was closed at export time: their lock, else the study freeze.
_LOCKED_AT = "coalesce(p.locked_at, (SELECT frozen_at FROM study_freezes WHERE lifted_at IS NULL))"
# The latest valid signature of an adverse event (SPEC §14), and its SAE clock.
_AE_SIGNATURE = (
    "(SELECT {col} FROM signatures g WHERE g.record_type = 'adverse_event'"
    " AND g.record_id = a.id AND g.status = 'valid' ORDER BY g.id DESC LIMIT 1)"
)


def _scope(site_ids: Iterable[int] | None, site_code: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if site_ids is not None:
        ids = sorted(site_ids)
        clauses.append(f"p.site_id IN ({', '.join('?' for _ in ids)})" if ids else "0 = 1")
        params.extend(ids)
    if site_code is not None:
        clauses.append("s.code = ?")
        params.append(site_code)
    return (" AND ".join(clauses) or "1 = 1"), params


def participants(db: Database, site_ids, site_code: str | None) -> list[dict[str, Any]]:
    where, params = _scope(site_ids, site_code)
    return list(
        db.query(
            f"SELECT p.id, p.study_id, s.code AS site, p.status, {_FIRST_INJECTION}"
            " AS first_injection FROM participants p JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} ORDER BY p.study_id",
            params,
        )
    )


def entries(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    where, params = _scope(site_ids, site_code)
    where, params = _dated(
        where, params, period, "e.date BETWEEN ? AND ?", period and period.dates()
    )
    return list(
        db.query(
            f"SELECT p.study_id, s.code AS site, {_FIRST_INJECTION} AS first_injection, e.*,"
            " (SELECT count(*) FROM doses d WHERE d.entry_id = e.id) AS dose_count,"
            f" {_LOCKED_AT} AS locked_at"
            " FROM entries e JOIN participants p ON p.id = e.participant_id"
            f" JOIN sites s ON s.id = p.site_id WHERE {where} ORDER BY p.study_id, e.date",
            params,
        )
    )


def doses(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    where, params = _scope(site_ids, site_code)
    where, params = _dated(
        where, params, period, "e.date BETWEEN ? AND ?", period and period.dates()
    )
    return list(
        db.query(
            f"SELECT p.study_id, s.code AS site, {_FIRST_INJECTION} AS first_injection,"
            " e.date, e.mme AS day_mme, e.mme_unconverted, d.position, d.drug, d.strength,"
            " d.units FROM doses d JOIN entries e ON e.id = d.entry_id"
            " JOIN participants p ON p.id = e.participant_id JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} ORDER BY p.study_id, e.date, d.position",
            params,
        )
    )


def flags(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    where, params = _scope(site_ids, site_code)
    # A flag whose dates overlap the period.
    where, params = _dated(
        where,
        params,
        period,
        "f.first_date <= ? AND f.last_date >= ?",
        period and period.dates()[::-1],
    )
    return list(
        db.query(
            "SELECT f.id, p.study_id, s.code AS site, f.kind, f.severity, f.status,"
            " f.first_date, f.last_date, f.detail, f.opened_at, f.updated_at,"
            " f.acknowledged_at, ack.email AS acknowledged_by, f.resolved_at,"
            " res.email AS resolved_by,"
            # A non-clinical flag a coordinator closed has no clinical outcome: 'closed'.
            " coalesce(f.outcome, CASE WHEN f.status = 'resolved' THEN 'closed' END) AS outcome,"
            " a.id AS adverse_event_id"
            " FROM flags f JOIN participants p ON p.id = f.participant_id"
            " JOIN sites s ON s.id = p.site_id"
            " LEFT JOIN staff ack ON ack.id = f.acknowledged_by"
            " LEFT JOIN staff res ON res.id = f.resolved_by"
            " LEFT JOIN adverse_events a ON a.flag_id = f.id"
            f" WHERE {where} ORDER BY p.study_id, f.first_date, f.id",
            params,
        )
    )


def adverse_events(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    where, params = _scope(site_ids, site_code)
    where, params = _dated(
        where, params, period, "a.onset_date BETWEEN ? AND ?", period and period.dates()
    )
    return list(
        db.query(
            f"SELECT a.id, p.study_id, s.code AS site, {_FIRST_INJECTION} AS first_injection,"
            " a.source, a.flag_id, a.term, a.onset_date, a.end_date, a.ctcae_grade, a.serious,"
            " a.seriousness_criteria, a.related, a.expected, a.action_taken, a.ae_outcome,"
            " a.note, a.version, st.email AS recorded_by, a.recorded_at, a.updated_at,"
            " EXISTS (SELECT 1 FROM signatures g WHERE g.record_type = 'adverse_event'"
            "   AND g.record_id = a.id) AS ever_signed,"
            f" {_AE_SIGNATURE.format(col='signer_name')} AS signed_by,"
            f" {_AE_SIGNATURE.format(col='signer_email')} AS signed_by_email,"
            f" {_AE_SIGNATURE.format(col='signed_at')} AS signed_at,"
            f" {_AE_SIGNATURE.format(col='meaning')} AS signature_meaning,"
            " c.started_at AS sae_clock_started_at, c.due_at AS sae_clock_due_at,"
            " c.reported_at AS sponsor_reported_at, c.reference AS sponsor_reference,"
            f" {_LOCKED_AT} AS locked_at"
            " FROM adverse_events a JOIN participants p ON p.id = a.participant_id"
            " JOIN sites s ON s.id = p.site_id JOIN staff st ON st.id = a.recorded_by"
            " LEFT JOIN sae_clocks c ON c.adverse_event_id = a.id"
            f" WHERE {where} ORDER BY p.study_id, a.onset_date, a.id",
            params,
        )
    )


def questionnaire_responses(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    """Every answered or missed questionnaire occurrence in scope, with its response."""
    where, params = _scope(site_ids, site_code)
    where, params = _dated(
        where, params, period, "o.due_date BETWEEN ? AND ?", period and period.dates()
    )
    return list(
        db.query(
            f"SELECT p.study_id, s.code AS site, {_FIRST_INJECTION} AS first_injection,"
            " o.id AS occurrence_id, o.instrument, o.anchor, o.anchor_date, o.offset_days,"
            " o.due_date, o.window_opens, o.window_closes, o.status, o.timezone,"
            " r.answers, r.scores,"
            " r.device_time, r.received_at, r.synced_late, r.version"
            " FROM questionnaire_occurrences o"
            " JOIN participants p ON p.id = o.participant_id JOIN sites s ON s.id = p.site_id"
            " LEFT JOIN questionnaire_responses r ON r.occurrence_id = o.id"
            f" WHERE o.status IN ('completed', 'missed') AND {where}"
            " ORDER BY p.study_id, o.due_date, o.instrument, o.id",
            params,
        )
    )


def data_state(db: Database, site_ids, site_code: str | None) -> dict[str, Any]:
    """The study freeze in force and the participants locked, at export time."""
    where, params = _scope(site_ids, site_code)
    freeze = next(
        db.query("SELECT frozen_at, reason FROM study_freezes WHERE lifted_at IS NULL"), None
    )
    locked = [
        dict(r)
        for r in db.query(
            "SELECT p.study_id, p.locked_at FROM participants p JOIN sites s ON s.id = p.site_id"
            f" WHERE {where} AND p.locked_at IS NOT NULL ORDER BY p.study_id",
            params,
        )
    ]
    return {
        "study_frozen_at": freeze["frozen_at"] if freeze else None,
        "freeze_reason": freeze["reason"] if freeze else None,
        "locked_participants": locked,
    }


def signatures(
    db: Database, site_ids, site_code: str | None, period: Period | None = None
) -> list[dict[str, Any]]:
    """Every electronic signature in scope, oldest first, with what invalidated it."""
    where, params = _scope(site_ids, site_code)
    where, params = _dated(
        where, params, period, "g.signed_at >= ? AND g.signed_at < ?", period and period.instants()
    )
    return list(
        db.query(
            "SELECT g.id, p.study_id, s.code AS site, g.record_type, g.record_id, g.up_to,"
            " g.meaning, g.signer_name, g.signer_email, g.signed_at, g.record_hash, g.status,"
            " g.invalidated_at, a.action AS invalidated_by_action,"
            " g.invalidated_by_audit_id"
            " FROM signatures g JOIN participants p ON p.id = g.participant_id"
            " JOIN sites s ON s.id = p.site_id"
            " LEFT JOIN audit_log a ON a.id = g.invalidated_by_audit_id"
            f" WHERE {where} ORDER BY g.id",
            params,
        )
    )
