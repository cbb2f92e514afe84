"""Enrollment, activation codes, injections and profiles: each change audited."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import segno
from sqlite_utils import Database

from .. import audit, clock
from ..auth import codes
from ..auth import queries as auth_queries
from ..errors import APIError, invalid
from ..study import Study
from . import queries


@dataclass(frozen=True)
class IssuedCode:
    code: str
    url: str
    qr_svg: str
    expires_at: datetime


def activation_url(base_url: str, code: str) -> str:
    # In the fragment, so the code never reaches server or proxy logs.
    return f"{base_url.rstrip('/')}/#/activate?code={code}"


def qr_svg(url: str) -> str:
    """A standalone SVG (with its namespace and a viewBox), usable as markup or as an image."""
    qr = segno.make(url, error="m")
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        xmldecl=False,
        nl=False,
        omitsize=True,
        scale=4,
        border=2,
        dark="#000",
        light="#fff",
        title="Activation code",
    )
    return out.getvalue().decode()


def _issue_code(
    db: Database,
    participant_id: int,
    *,
    secret_key: str,
    base_url: str,
    lifetime: timedelta,
    staff_id: int | None,
    now: datetime,
) -> IssuedCode:
    code = codes.new_code()
    expires = now + lifetime
    queries.insert_activation_code(
        db,
        participant_id,
        codes.code_hash(code, secret_key),
        expires_at=expires,
        staff_id=staff_id,
        now=now,
    )
    url = activation_url(base_url, code)
    return IssuedCode(code, url, qr_svg(url), expires)


def _audit_view(p: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "study_id",
        "site",
        "baseline_back_pain",
        "baseline_mme",
        "reminder_time",
        "notifications_enabled",
        "status",
        "timezone",
    )
    return {k: p.get(k) for k in keys}


def enroll(
    db: Database,
    study: Study,
    *,
    actor: audit.Actor,
    site: dict,
    study_id: str,
    timezone: str,
    injection_date: date,
    baseline_back_pain: int,
    baseline_mme: float,
    secret_key: str,
    base_url: str,
    code_lifetime: timedelta,
    staff_id: int | None,
    now: datetime,
) -> tuple[dict, IssuedCode]:
    """Enroll one participant (inside the caller's transaction) and issue a code."""
    try:
        pid = queries.insert_participant(
            db,
            study_id=study_id,
            site_id=site["id"],
            baseline_back_pain=baseline_back_pain,
            baseline_mme=baseline_mme,
            reminder_time=None,
            now=now,
        )
    except sqlite3.IntegrityError as exc:
        raise APIError(
            409,
            f"Study ID {study_id} is already enrolled.",
            fields={"study_id": ["already enrolled"]},
        ) from exc
    queries.add_timezone(db, pid, timezone, now=now)
    queries.add_injection(db, pid, injection_date, now=now)
    issued = _issue_code(
        db,
        pid,
        secret_key=secret_key,
        base_url=base_url,
        lifetime=code_lifetime,
        staff_id=staff_id,
        now=now,
    )
    participant = queries.get_by_id(db, pid)
    audit.record(
        db,
        actor=actor,
        action="participant.enroll",
        object_type="participant",
        object_id=study_id,
        site_id=site["id"],
        participant_id=pid,
        after={**_audit_view(participant), "injection_date": injection_date.isoformat()},
        at=now,
    )
    return participant, issued


def reissue_code(
    db: Database,
    *,
    actor: audit.Actor,
    participant: dict,
    secret_key: str,
    base_url: str,
    code_lifetime: timedelta,
    staff_id: int | None,
    now: datetime,
) -> IssuedCode:
    """Revoke unused codes, end the participant's sessions, issue a new code."""
    revoked = queries.revoke_activation_codes(db, participant["id"], now=now)
    ended = auth_queries.end_participant_sessions(db, participant["id"], "code_reissued", now=now)
    issued = _issue_code(
        db,
        participant["id"],
        secret_key=secret_key,
        base_url=base_url,
        lifetime=code_lifetime,
        staff_id=staff_id,
        now=now,
    )
    audit.record(
        db,
        actor=actor,
        action="participant.activation_code_reissued",
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        after={
            "codes_revoked": revoked,
            "sessions_ended": ended,
            "expires_at": clock.iso(issued.expires_at),
        },
        at=now,
    )
    return issued


def add_injection(
    db: Database, *, actor: audit.Actor, participant: dict, day: date, now: datetime
) -> list[date]:
    existing = queries.injections(db, participant["id"])
    if existing and day < existing[0]:
        raise invalid("date", "must not be before the first injection (day 0 is fixed)")
    if not queries.add_injection(db, participant["id"], day, now=now):
        raise APIError(
            409,
            f"An injection on {day} is already recorded.",
            fields={"date": ["already recorded"]},
        )
    audit.record(
        db,
        actor=actor,
        action="participant.injection_added",
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={"injections": [d.isoformat() for d in existing]},
        after={"injections": [d.isoformat() for d in sorted([*existing, day])]},
        at=now,
    )
    return queries.injections(db, participant["id"])


def update(
    db: Database,
    *,
    actor: audit.Actor,
    participant: dict,
    changes: dict[str, Any],
    reason: str | None,
    now: datetime,
) -> dict:
    """Apply profile/baseline changes and a time-zone change; audit old and new values."""
    changes = dict(changes)
    timezone = changes.pop("timezone", None)
    real = {k: v for k, v in changes.items() if participant.get(k) != v}
    if real:
        queries.update_participant(db, participant["id"], real)
    if timezone and timezone != participant["timezone"]:
        queries.add_timezone(db, participant["id"], timezone, now=now)
        real["timezone"] = timezone
    if real:
        audit.record(
            db,
            actor=actor,
            action="participant.update",
            object_type="participant",
            object_id=participant["study_id"],
            site_id=participant["site_id"],
            participant_id=participant["id"],
            before={k: participant.get(k) for k in real},
            after=real,
            reason=reason,
            at=now,
        )
    return queries.get_by_id(db, participant["id"])


def activate(
    db: Database,
    *,
    code: str,
    client_key: str,
    secret_key: str,
    max_failures: int,
    window: timedelta,
    now: datetime,
) -> int:
    """Claim a code for a new participant session; 429 after too many failures."""
    failures, oldest = auth_queries.recent_activation_failures(db, client_key, since=now - window)
    if failures >= max_failures:
        retry = int((clock.parse_iso(oldest) + window - now).total_seconds()) + 1
        raise APIError(
            429,
            "Too many attempts. Wait 15 minutes, or ask your study team for help.",
            headers={"Retry-After": str(max(retry, 1))},
        )
    canonical = codes.normalise(code)
    participant_id = (
        queries.claim_activation_code(db, codes.code_hash(canonical, secret_key), now=now)
        if canonical
        else None
    )
    if participant_id is None:
        auth_queries.record_activation_failure(db, client_key, now=now, keep_after=now - window)
        return 0
    participant = queries.get_by_id(db, participant_id)
    first = participant["activated_at"] is None
    if first:
        queries.update_participant(db, participant_id, {"activated_at": clock.iso(now)})
    audit.record(
        db,
        actor=audit.Actor("participant", str(participant_id), participant["study_id"]),
        action="participant.activate",
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant_id,
        after={"first_activation": first},
        at=now,
    )
    return participant_id


def profile(db: Database, study: Study, participant: dict, *, now: datetime) -> dict[str, Any]:
    """The participant's own view (Appendix A: GET /me)."""
    tz = participant["timezone"]
    today = clock.local_date(now, tz)
    first = date.fromisoformat(participant["first_injection"])
    return {
        "study_id": participant["study_id"],
        "timezone": tz,
        "reminder_time": participant["reminder_time"],
        "reminder_default": study.reminder_default.strftime("%H:%M"),
        "notifications_enabled": bool(participant["notifications_enabled"]),
        "today": today,
        "day": (today - first).days,
        "window": {"first_date": first, "last_date": study.last_diary_date(first)},
        "injections": queries.injections(db, participant["id"]),
    }
