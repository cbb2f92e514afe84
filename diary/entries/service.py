"""Writing diary entries: the entry window, idempotent replays, corrections, MME, red flags."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..errors import APIError, invalid
from ..flags import engine as flag_engine
from ..flags.rules import FEVER, red_flag_findings
from ..mme import Dose, daily_mme
from ..participants import queries as participant_queries
from ..signoff import locks, signatures
from ..study import Study
from . import queries

CLOCK_SKEW = clock.CLOCK_SKEW


def expected_range(study: Study, participant: dict) -> tuple[date, date]:
    first = date.fromisoformat(participant["first_injection"])
    return first, study.last_diary_date(first)


def _request_hash(day: date, body: dict[str, Any]) -> str:
    canonical = {
        "date": day.isoformat(),
        "back_pain": body["back_pain"],
        "leg_pain": body["leg_pain"],
        "doses": [
            {"drug": d["drug"], "strength": float(d["strength"]), "units": float(d["units"])}
            for d in body["doses"]
        ],
        "symptoms": sorted(body["symptoms"]),
        "temperature_c": body["temperature_c"],
        "note": body["note"],
        "device_time": clock.iso(body["device_time"]),
        "reason": body.get("reason"),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _check_window(
    db: Database,
    study: Study,
    participant: dict,
    day: date,
    tz: str,
    made_at: datetime,
    now: datetime,
    by_staff: bool,
) -> None:
    first, last = expected_range(study, participant)
    if day < first:
        raise invalid("date", f"is before day 0 of the diary ({first.isoformat()})")
    if day > last:
        raise invalid("date", f"is after the end of the diary ({last.isoformat()})")
    if now < clock.day_start(day, tz):
        raise invalid("date", f"has not begun yet in your time zone ({tz})")
    if by_staff:
        return
    closes = window_closes(study, day, tz)
    if made_at > closes or locks.synced_too_late(db, made_at, now):
        raise APIError(
            409,
            f"The diary for {day.isoformat()} closed at "
            f"{study.window_closes_next_day_at.strftime('%H:%M')} on "
            f"{(day + timedelta(days=1)).isoformat()} ({tz}). Your study team can correct it.",
            code="window_closed",
        )


def window_closes(study: Study, day: date, tz: str) -> datetime:
    """The instant the entry window of diary date `day` closes in zone `tz`."""
    return clock.local_instant(day + timedelta(days=1), study.window_closes_next_day_at, tz)


def _wrong_clock(message: str, detail: str) -> APIError:
    return APIError(
        422,
        f"{message} Check the date and time settings of this device (set them "
        "automatically from the network), then save the entry again.",
        fields={"device_time": [detail]},
    )


def _made_at(device_time: datetime, day: date, tz: str, now: datetime) -> datetime:
    """When the entry was made, by the device's clock; 422 for a clock that cannot be
    right (ahead of the server's, or before the diary date began), never a guess."""
    skew = int(CLOCK_SKEW.total_seconds() // 60)
    if device_time > now + CLOCK_SKEW:
        ahead = round((device_time - now).total_seconds() / 60)
        raise _wrong_clock(
            "The date and time on this device are ahead of the real time.",
            f"is {ahead} minutes ahead of the server's clock; at most {skew} are allowed",
        )
    begins = clock.day_start(day, tz)
    # A date that has not begun yet is the date's error (_check_window), not the clock's.
    if now >= begins and device_time < begins - CLOCK_SKEW:
        raise _wrong_clock(
            f"The date and time on this device are before {day.isoformat()} began, "
            "so the entry cannot have been made for that date.",
            f"is before {day.isoformat()} began in {tz} ({clock.iso(begins)}); "
            "an entry cannot be made before its date",
        )
    return min(device_time, now)


def alerts_for(study: Study, codes: list[str], *, site_phone: str | None) -> list[dict[str, Any]]:
    """The advice for red-flag `codes`: whom to call, the participant's own site first."""
    if not codes:
        return []
    labels = [study.symptom(c).label if study.symptom(c) else c for c in codes]
    return [
        {
            "kind": "red_flag",
            "title": study.red_flag_title,
            "message": study.red_flag_advice,
            "symptoms": labels,
            "emergency_number": study.emergency_number,
            "study_team_contact": study.study_team_contact,
            "site_phone": site_phone,
        }
    ]


def _red_flags(study: Study, symptoms: list[str], temperature_c: float | None) -> list[str]:
    return red_flag_findings(
        symptoms, temperature_c, red_flag_codes=study.red_flag_codes, t=study.thresholds
    )


def _alerts(
    db: Database, study: Study, participant_id: int, entry: dict, *, already: list[str] = ()
) -> list[dict[str, Any]]:
    """The advice for the entry's red flags, none when it reports no red flag beyond
    `already` (those of the version it corrects)."""
    codes = _red_flags(study, entry["symptoms"], entry["temperature_c"])
    if not set(codes) - set(already):
        return []
    return alerts_for(study, codes, site_phone=participant_queries.site_phone(db, participant_id))


def _public(study: Study, entry: dict[str, Any], tz: str) -> dict[str, Any]:
    """An entry as the API shows it; `tz` is the participant's zone now, whose clock
    closes the entry window (as _check_window reads it)."""
    units = {d.code: d.unit for d in study.formulary}
    day = date.fromisoformat(entry["date"])
    return {
        **entry,
        "date": day,
        "doses": [{**d, "unit": units.get(d["drug"], "")} for d in entry["doses"]],
        "editable_until": window_closes(study, day, tz),
    }


def _zone(db: Database, participant_id: int) -> str:
    return participant_queries.get_by_id(db, participant_id)["timezone"]


def get(db: Database, study: Study, participant_id: int, day: date) -> dict[str, Any] | None:
    entry = queries.get_entry(db, participant_id, day)
    return _public(study, entry, _zone(db, participant_id)) if entry else None


def between(db: Database, study: Study, participant_id: int, start: date, end: date) -> list:
    tz = _zone(db, participant_id)
    return [_public(study, e, tz) for e in queries.entries_between(db, participant_id, start, end)]


def put_entry(
    db: Database,
    study: Study,
    *,
    participant_id: int,
    day: date,
    body: dict[str, Any],
    actor: audit.Actor,
    now: datetime,
    by_staff: bool = False,
) -> tuple[dict[str, Any], int]:
    """Create, correct or replay the entry for `day`; return (entry, HTTP status).

    Runs as one write transaction: the entry, its doses, the write log, the audit
    rows and any red-flag flag commit together or not at all.
    """
    client_id = str(body["client_id"])
    request_hash = _request_hash(day, body)
    # Worked out before the write lock is taken: other writers wait while it is held.
    doses = [
        {"drug": d["drug"], "strength": d["strength"], "units": d["units"]} for d in body["doses"]
    ]
    values = _stored(study, body, doses, client_id=client_id, by_staff=by_staff, now=now)
    with transaction(db):
        participant = participant_queries.get_by_id(db, participant_id)
        prior = queries.write_by_client_id(db, client_id)
        if prior is not None:
            return _replayed(db, study, prior, participant, day, request_hash), 200
        signed = locks.ensure_writable(db, participant_id)

        tz = participant["timezone"]
        made_at = _made_at(body["device_time"], day, tz, now)
        _check_window(db, study, participant, day, tz, made_at, now, by_staff)

        # Received after the window closed: the participant's write synced late. A staff
        # clarification is not a participant sync: it leaves the mark as it was.
        synced_late = int(not by_staff and now > window_closes(study, day, tz))
        if not by_staff:
            values["synced_late"] = synced_late
        existing, row = _create_or_correct(
            db, participant, day, values, body=body, made_at=made_at, now=now
        )
        status, action = (200, "entry.correct") if existing else (201, "entry.create")
        stored_doses = queries.replace_doses(
            db, row["id"], doses, before=existing["doses"] if existing else []
        )
        queries.record_write(
            db,
            client_id=client_id,
            participant_id=participant_id,
            entry_id=row["id"],
            day=day,
            request_hash=request_hash,
            version=row["version"],
            received_at=clock.iso(now),
        )
        # As written, not read back: the statements a PUT runs are its cost (tests pin them).
        entry = queries.written_entry(row, stored_doses)
        audit_id = audit.record(
            db,
            actor=actor,
            action=action,
            object_type="entry",
            object_id=f"{participant['study_id']}/{day.isoformat()}",
            site_id=participant["site_id"],
            participant_id=participant_id,
            before=_audited(existing),
            after=_audited(entry),
            reason=body.get("reason"),
            at=now,
        )
        signatures.recheck(
            db, participant_id, cause_audit_id=audit_id, actor=actor, now=now, signed=signed
        )
        flag_engine.on_entry(
            db,
            study,
            participant=participant,
            day=day,
            entry=entry,
            actor=actor,
            now=now,
            before=existing,
        )
        # A correction that adds no red flag to the day's shows no alarm again: the
        # participant saw it when the day first reported one.
        already = (
            _red_flags(study, existing["symptoms"], existing["temperature_c"]) if existing else []
        )
        alerts = _alerts(db, study, participant_id, entry, already=already)
    return {**_public(study, entry, tz), "alerts": alerts}, status


def _create_or_correct(
    db: Database,
    participant: dict[str, Any],
    day: date,
    values: dict[str, Any],
    *,
    body: dict[str, Any],
    made_at: datetime,
    now: datetime,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Insert the day's first entry, or correct the one there (a reason is required);
    return the entry as it was (None when new) and its row as now stored."""
    tz = participant["timezone"]
    existing = queries.get_entry(db, participant["id"], day)
    if existing is None:
        row = queries.insert_entry(
            db,
            {
                **values,
                "participant_id": participant["id"],
                "date": day.isoformat(),
                "timezone": tz,
                "received_at": clock.iso(now),
                "late": int(made_at >= clock.day_end(day, tz)),
                "synced_late": values.get("synced_late", 0),
                "version": 1,
            },
        )
        if row is not None:
            return None, row
        existing = queries.get_entry(db, participant["id"], day)  # another write came first
    if not body.get("reason"):
        raise invalid("reason", "a reason is required to change an existing entry")
    version = existing["version"] + 1
    return existing, queries.update_entry(db, existing["id"], {**values, "version": version})


def _replayed(
    db: Database, study: Study, prior: dict, participant: dict, day: date, request_hash: str
) -> dict[str, Any]:
    """A write already applied (the phone retried): the entry as it is, or 409 when the
    client_id was used for other content."""
    if (
        prior["participant_id"] != participant["id"]
        or prior["date"] != day.isoformat()
        or prior["request_hash"] != request_hash
    ):
        raise APIError(
            409,
            "This client_id was already used for different content; "
            "generate a new client_id for a new write.",
            code="client_id_conflict",
        )
    entry = queries.get_entry(db, participant["id"], day)
    alerts = _alerts(db, study, participant["id"], entry)
    return {**_public(study, entry, participant["timezone"]), "alerts": alerts}


def _stored(
    study: Study,
    body: dict[str, Any],
    doses: list[dict[str, Any]],
    *,
    client_id: str,
    by_staff: bool,
    now: datetime,
) -> dict[str, Any]:
    """The entry's columns as stored, with the day's MME from the protocol's factors."""
    mme = daily_mme([Dose(**d) for d in doses], study.factors)
    return {
        "back_pain": body["back_pain"],
        "leg_pain": body["leg_pain"],
        "symptoms": json.dumps(body["symptoms"]),
        "temperature_c": body["temperature_c"],
        "note": body["note"],
        "mme": mme.mme,
        "mme_unconverted": json.dumps(list(mme.unconverted)),
        "device_time": body["device_time"].isoformat(),
        "updated_at": clock.iso(now),
        "client_id": client_id,
        "entered_by": "staff" if by_staff else "participant",
    }


_AUDITED = (
    "back_pain",
    "leg_pain",
    "doses",
    "symptoms",
    "temperature_c",
    "note",
    "mme",
    "mme_unconverted",
    "device_time",
    "late",
    "synced_late",
    "version",
    "client_id",
    "entered_by",
)


def _audited(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: entry[k] for k in _AUDITED} if entry else None


def audited_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry (as queries read it) as its audit rows record it: `audit verify`
    compares every stored entry with its last audit row."""
    return _audited(entry)


def protocol(
    db: Database, study: Study, participant_id: int, *, vapid_public_key: str | None
) -> dict[str, Any]:
    """What the PWA needs to draw the diary: scales, checklist, formulary, recent drugs."""
    recent = queries.recent_doses(db, participant_id)
    recent_drugs = list(dict.fromkeys(r["drug"] for r in recent))
    last_date = recent[0]["date"] if recent else None
    symptoms = sorted(study.symptoms, key=lambda s: not s.red_flag)
    return {
        "study": {"id": study.id, "title": study.title},
        "scales": {name: vars(scale) for name, scale in study.scales.items()},
        "symptoms": [vars(s) for s in symptoms],
        "formulary": [
            {"code": d.code, "label": d.label, "unit": d.unit, "strengths": list(d.strengths)}
            for d in study.formulary
        ],
        "window_closes_next_day_at": study.window_closes_next_day_at.strftime("%H:%M"),
        "red_flag": red_flag_rule(study),
        "note_max_chars": study.note_max_chars,
        "emergency_number": study.emergency_number,
        "study_team_contact": study.study_team_contact,
        # For the advice the phone builds offline: the participant's own site only.
        "site_phone": participant_queries.site_phone(db, participant_id),
        "recent_drugs": recent_drugs,
        "last_doses": [
            {"drug": r["drug"], "strength": r["strength"], "units": r["units"]}
            for r in recent
            if r["date"] == last_date
        ],
        "vapid_public_key": vapid_public_key,
    }


def red_flag_rule(study: Study) -> dict[str, Any]:
    """The rule the phone applies to an entry it cannot send yet: the same codes and
    fever threshold as `red_flag_findings`, and the advice the server would return."""
    return {
        "codes": sorted(study.red_flag_codes),
        "fever_code": FEVER,
        "fever_c": study.thresholds.fever_c,
        "title": study.red_flag_title,
        "advice": study.red_flag_advice,
    }


def staff_protocol(study: Study) -> dict[str, Any]:
    """What the staff console shows of the protocol: words, factors and thresholds."""
    return {
        "study": {"id": study.id, "title": study.title},
        "symptoms": [vars(s) for s in sorted(study.symptoms, key=lambda s: not s.red_flag)],
        "formulary": [
            {
                "code": d.code,
                "label": d.label,
                "unit": d.unit,
                "strengths": list(d.strengths),
                "factor": d.factor,
                "factor_source": d.factor_source,
            }
            for d in study.formulary
        ],
        "thresholds": vars(study.thresholds),
        "window_closes_next_day_at": study.window_closes_next_day_at.strftime("%H:%M"),
        "length_days": study.length_days,
    }
