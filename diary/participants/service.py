"""Enrollment, activation codes, injections and profiles: each change audited."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import segno
from sqlite_utils import Database

from .. import audit, clock
from ..auth import codes
from ..auth import queries as auth_queries
from ..errors import APIError, invalid, not_found
from ..flags import engine as flag_engine
from ..signoff import locks, signatures
from ..study import Study
from . import queries, rules


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
        "baseline_opioids",
        "reminder_time",
        "notifications_enabled",
        "status",
        "timezone",
    )
    return {k: p.get(k) for k in keys}


def study_id_unusable() -> APIError:
    """The 409 for a study ID that is taken anywhere in the study, by anyone."""
    return APIError(
        409,
        "This study ID cannot be used for a new enrollment. Check it against the enrollment"
        " log; the study's data manager can tell you which ID to use.",
        fields={"study_id": ["cannot be used for a new enrollment"]},
    )


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
    baseline_opioids: Iterable[str] = (),
) -> tuple[dict, IssuedCode]:
    """Enroll one participant (inside the caller's transaction) and issue a code."""
    today = clock.local_date(now, timezone)
    problem = rules.first_injection_problem(injection_date, today=today, enrolled=today)
    if problem:
        raise invalid("injection_date", problem)
    try:
        pid = queries.insert_participant(
            db,
            study_id=study_id,
            site_id=site["id"],
            baseline_back_pain=baseline_back_pain,
            baseline_mme=baseline_mme,
            baseline_opioids=baseline_opioids,
            reminder_time=None,
            now=now,
        )
    except sqlite3.IntegrityError as exc:
        # Study IDs are unique study-wide. One answer, naming neither the ID nor a site
        # or status, so a coordinator cannot learn who is enrolled at another site.
        raise study_id_unusable() from exc
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


def _today(participant: dict, now: datetime) -> date:
    return clock.local_date(now, participant["timezone"])


def _enrolled(participant: dict) -> date:
    return clock.local_date(clock.parse_iso(participant["enrolled_at"]), participant["timezone"])


def _already_recorded(day: date) -> APIError:
    return APIError(
        409, f"An injection on {day} is already recorded.", fields={"date": ["already recorded"]}
    )


def _audit_injections(
    db: Database,
    *,
    actor: audit.Actor,
    participant: dict,
    action: str,
    before: list[date],
    reason: str | None,
    now: datetime,
) -> list[date]:
    """Audit a change of injection dates (inside its transaction): refused while the
    participant's data is locked, and it invalidates casebook signatures (day 0 moves
    every study day and window)."""
    locks.ensure_writable(db, participant["id"])
    after = queries.injections(db, participant["id"])
    audit_id = audit.record(
        db,
        actor=actor,
        action=action,
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={"injections": [d.isoformat() for d in before]},
        after={"injections": [d.isoformat() for d in after]},
        reason=reason,
        at=now,
    )
    signatures.recheck(db, participant["id"], cause_audit_id=audit_id, actor=actor, now=now)
    return after


def add_injection(
    db: Database, study: Study, *, actor: audit.Actor, participant: dict, day: date, now: datetime
) -> list[date]:
    """Record a later injection (the crossover); day 0 stays the first."""
    existing = queries.injections(db, participant["id"])
    today = _today(participant, now)
    if existing:
        problem = rules.later_injection_problem(
            day, first=existing[0], today=today, last_diary_date=study.last_diary_date
        )
    else:  # never left so by enrollment or voiding; checked as day 0 all the same
        problem = rules.first_injection_problem(day, today=today, enrolled=_enrolled(participant))
    if problem:
        raise invalid("date", problem)
    if not queries.add_injection(db, participant["id"], day, now=now):
        raise _already_recorded(day)
    return _audit_injections(
        db,
        actor=actor,
        participant=participant,
        action="participant.injection_added",
        before=existing,
        reason=None,
        now=now,
    )


def _live(existing: list[date], participant: dict, day: date) -> None:
    if day not in existing:
        raise not_found(f"No injection on {day.isoformat()} for {participant['study_id']}.")


def void_injection(
    db: Database,
    study: Study,
    *,
    actor: audit.Actor,
    participant: dict,
    day: date,
    reason: str,
    staff_id: int | None,
    now: datetime,
) -> list[date]:
    """Void an injection recorded by mistake; the next one becomes day 0 if it was the first."""
    existing = queries.injections(db, participant["id"])
    _live(existing, participant, day)
    if len(existing) == 1:
        raise APIError(
            409,
            "The only injection cannot be voided: a participant always has day 0."
            " Correct its date instead.",
        )
    queries.void_injection(
        db, participant["id"], day, staff_id=staff_id, reason=reason, corrected_to=None, now=now
    )
    after = _audit_injections(
        db,
        actor=actor,
        participant=participant,
        action="participant.injection_voided",
        before=existing,
        reason=reason,
        now=now,
    )
    _day_zero_moved(db, study, participant, existing[0], after[0], actor=actor, now=now)
    return after


def correct_injection(
    db: Database,
    study: Study,
    *,
    actor: audit.Actor,
    participant: dict,
    day: date,
    new_day: date,
    reason: str,
    staff_id: int | None,
    now: datetime,
) -> list[date]:
    """Replace an injection's date (void the old, record the new) under the same rules
    as recording it; the first injection stays the first."""
    existing = queries.injections(db, participant["id"])
    _live(existing, participant, day)
    if new_day == day:
        raise invalid("date", "is the date already recorded: nothing to correct")
    others = [d for d in existing if d != day]
    today = _today(participant, now)
    if day == existing[0]:
        problem = rules.corrected_first_problem(
            new_day,
            later=others,
            today=today,
            enrolled=_enrolled(participant),
            last_diary_date=study.last_diary_date,
        )
    else:
        problem = rules.later_injection_problem(
            new_day, first=existing[0], today=today, last_diary_date=study.last_diary_date
        )
    if problem:
        raise invalid("date", problem)
    if new_day in others:
        raise _already_recorded(new_day)
    queries.void_injection(
        db, participant["id"], day, staff_id=staff_id, reason=reason, corrected_to=new_day, now=now
    )
    queries.add_injection(db, participant["id"], new_day, now=now)
    after = _audit_injections(
        db,
        actor=actor,
        participant=participant,
        action="participant.injection_corrected",
        before=existing,
        reason=reason,
        now=now,
    )
    _day_zero_moved(db, study, participant, existing[0], after[0], actor=actor, now=now)
    return after


def _day_zero_moved(
    db: Database, study: Study, participant: dict, before: date, after: date, *, actor, now
) -> None:
    if after != before:
        flag_engine.day_zero_moved(
            db,
            study,
            participant=queries.get_by_id(db, participant["id"]),
            before=before,
            actor=actor,
            now=now,
        )


BASELINES = frozenset({"baseline_back_pain", "baseline_mme", "baseline_opioids"})


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
    if "baseline_opioids" in changes:
        changes["baseline_opioids"] = sorted(set(changes["baseline_opioids"]))
    timezone = changes.pop("timezone", None)
    real = {k: v for k, v in changes.items() if participant.get(k) != v}
    if BASELINES & set(real):  # what the flags judge against: diary data
        locks.ensure_writable(db, participant["id"])
    if real:
        stopped = {}
        if "status" in real:
            # When they stopped: nothing is expected of them after it, while what they
            # entered before it is still evaluated.
            stopped = {"ended_at": None if real["status"] == "active" else clock.iso(now)}
        queries.update_participant(db, participant["id"], {**real, **stopped})
    if timezone and timezone != participant["timezone"]:
        queries.add_timezone(db, participant["id"], timezone, now=now)
        real["timezone"] = timezone
    if real:
        audit_id = audit.record(
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
        if BASELINES & set(real):
            signatures.recheck(db, participant["id"], cause_audit_id=audit_id, actor=actor, now=now)
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
        "diary_closed": {"since": closed["locked_at"]}
        if (closed := locks.state(db, participant))
        else None,
    }
