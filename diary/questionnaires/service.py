"""Questionnaires for participants (SPEC §13): scheduling occurrences, closing missed
ones, and writing responses (window, replay, correction, scores, audit)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..errors import APIError, not_found
from ..flags import episodes
from ..flags import queries as flag_queries
from ..flags.rules import Finding
from ..participants import queries as participant_queries
from ..signoff import locks, signatures
from ..study import QuestionnaireSchedule, Study
from . import queries, schedule, scoring
from .instruments import Instrument, check_answers

MISSED = "questionnaire_missed"
ANSWER = "questionnaire_answer"


def due_for(study: Study, participant: dict[str, Any], injections) -> list[schedule.Due]:
    """The occurrences the schedule gives a participant (none without a zone)."""
    if not participant["timezone"]:
        return []
    tz = participant["timezone"]
    ended = participant.get("ended_at")
    enrolled_at = clock.parse_iso(participant["enrolled_at"])
    return schedule.occurrences(
        study.questionnaires,
        injections=injections,
        enrolled_on=clock.local_date(enrolled_at, tz),
        tz=tz,
        ended_at=clock.parse_iso(ended) if ended else None,
        enrolled_at=enrolled_at,
    )


def schedule_participant(
    db: Database, study: Study, participant: dict[str, Any], injections, *, now: datetime
) -> tuple[int, int]:
    """Bring one participant's occurrences in line with the schedule; returns (added,
    dropped). Reads first and writes, in a transaction of its own, only when something
    changed: a run over every participant then takes the write lock for the few."""
    if not participant["timezone"]:
        return 0, 0
    due = due_for(study, participant, injections)
    if queries.in_step(db, participant["id"], due):
        return 0, 0
    with transaction(db):
        return queries.sync_occurrences(
            db, participant["id"], due, participant["timezone"], now=now
        )


def status_of(row: dict[str, Any], now: datetime) -> str:
    """upcoming | open | completed | missed: a pending occurrence by the clock."""
    if row["status"] != "pending":
        return row["status"]
    if now < clock.parse_iso(row["window_opens"]):
        return "upcoming"
    return "open" if now < clock.parse_iso(row["window_closes"]) else "missed"


def present(
    row: dict[str, Any], instruments: dict[str, Instrument], now: datetime
) -> dict[str, Any]:
    instrument = instruments.get(row["instrument"])
    return {
        "id": row["id"],
        "instrument": row["instrument"],
        "title": instrument.title if instrument else row["instrument"],
        "status": status_of(row, now),
        "due_date": row["due_date"],
        "window_opens": row["window_opens"],
        "window_closes": row["window_closes"],
        "completed_at": row["received_at"],
        "synced_late": row["synced_late"],
        "scores": row["scores"],
    }


def with_response(
    row: dict[str, Any], instruments: dict[str, Instrument], now: datetime
) -> dict[str, Any]:
    """The occurrence with its FHIR Questionnaire and its response, if any."""
    instrument = instruments.get(row["instrument"])
    response = None
    if row["response_id"]:
        response = {
            "answers": row["answers"],
            "scores": row["scores"],
            "device_time": row["device_time"],
            "received_at": row["received_at"],
            "synced_late": row["synced_late"],
            "version": row["version"],
        }
    return {
        **present(row, instruments, now),
        "questionnaire": dict(instrument.resource) if instrument else None,
        "response": response,
    }


def for_staff(
    row: dict[str, Any], instruments: dict[str, Instrument], now: datetime
) -> dict[str, Any]:
    """The occurrence as staff review it: its response with each answer beside the
    question's text, the chosen option's text and its score."""
    out = with_response(row, instruments, now)
    out["questionnaire"] = None
    instrument = instruments.get(row["instrument"])
    if out["response"] is not None:
        items = []
        for item in instrument.items if instrument else ():
            if item.link_id not in row["answers"]:
                continue
            value = row["answers"][item.link_id]
            option = item.option(value) if item.type == "choice" else None
            items.append(
                {
                    "link_id": item.link_id,
                    "text": item.text,
                    "answer": value,
                    "display": option.display if option else None,
                    "score": scoring.value_of(item, value),
                }
            )
        out["response"]["items"] = items
    return out


def put_response(
    db: Database,
    study: Study,
    instruments: dict[str, Instrument],
    *,
    participant_id: int,
    occurrence_id: int,
    body: dict[str, Any],
    actor: audit.Actor,
    now: datetime,
    by_staff: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Create, correct or replay the response to one occurrence; (occurrence, status).

    One write transaction: the response, its scores, the occurrence's status, the
    write log, any flag and the audit row commit together or not at all. `by_staff`
    (the staff member's label): a data clarification, allowed once the window has
    opened and after it closed, always with a reason; it leaves the synced-late mark
    as it was."""
    client_id = str(body["client_id"])
    request_hash = _request_hash(occurrence_id, body)
    with transaction(db):
        prior = queries.write_by_client_id(db, client_id)
        if prior is not None:
            _check_replay(prior, participant_id, occurrence_id, request_hash)
            row = queries.occurrence(db, occurrence_id, participant_id)
            return with_response(row, instruments, now), 200
        row = queries.occurrence(db, occurrence_id, participant_id)
        if row is None:
            raise not_found(f"No questionnaire {occurrence_id} for you.")
        signed = locks.ensure_writable(db, participant_id)
        instrument = instruments.get(row["instrument"])
        if instrument is None:
            raise APIError(409, "This questionnaire is no longer part of the study.")
        answers = _accepted(db, row, instrument, body, now=now, by_staff=by_staff)
        schedule_entry = _schedule_of(study, row)
        scores = scoring.compute_all(
            instrument, schedule_entry.scores if schedule_entry else (), answers
        )
        values = {
            "answers": json.dumps(answers, sort_keys=True),
            "scores": json.dumps(scores, sort_keys=True),
            "device_time": clock.iso(body["device_time"]),
            "received_at": clock.iso(now),
            "synced_late": int(now >= clock.parse_iso(row["window_closes"]))
            if by_staff is None
            else int(bool(row["synced_late"])),
            "entered_by": by_staff,
            "updated_at": clock.iso(now),
        }
        before, version = _store(db, row, values, body, participant_id=participant_id)
        status = 201 if version == 1 else 200
        queries.mark_completed(db, occurrence_id)
        queries.record_write(
            db,
            client_id=client_id,
            participant_id=participant_id,
            occurrence_id=occurrence_id,
            request_hash=request_hash,
            version=version,
            received_at=clock.iso(now),
        )
        after = queries.occurrence(db, occurrence_id, participant_id)
        _raise_and_resolve(
            db,
            study,
            schedule_entry,
            instrument,
            row,
            after,
            actor=actor,
            now=now,
            by_staff=by_staff,
        )
        audit_id = audit.record(
            db,
            actor=actor,
            action="questionnaire.clarify"
            if by_staff is not None
            else "questionnaire.respond"
            if version == 1
            else "questionnaire.correct",
            object_type="questionnaire",
            object_id=str(occurrence_id),
            site_id=queries.site_of(db, participant_id),
            participant_id=participant_id,
            before=before,
            after=_audited(after),
            reason=(body.get("reason") or "").strip() or None,
            at=now,
        )
        signatures.recheck(
            db, participant_id, cause_audit_id=audit_id, actor=actor, now=now, signed=signed
        )
    return with_response(after, instruments, now), status


def _check_replay(
    prior: dict[str, Any], participant_id: int, occurrence_id: int, request_hash: str
) -> None:
    """A client_id seen before: the same write again is a replay; anything else a 409."""
    if (prior["participant_id"], prior["occurrence_id"], prior["request_hash"]) != (
        participant_id,
        occurrence_id,
        request_hash,
    ):
        raise APIError(
            409,
            "This client_id was already used for different content; "
            "generate a new client_id for a new write.",
            code="client_id_conflict",
        )


def _accepted(
    db: Database,
    row: dict[str, Any],
    instrument: Instrument,
    body: dict[str, Any],
    *,
    now: datetime,
    by_staff: str | None,
) -> dict[str, Any]:
    """The answers to store, once the window allows the write (409) and every answer
    fits its item (422 naming the linkIds)."""
    if by_staff is None:
        _check_window(db, row, _made_at(body["device_time"], row, now), now)
        if row["response_id"] is not None and now >= clock.parse_iso(row["window_closes"]):
            raise APIError(
                409,
                "The time to change these answers has ended. Your study team can correct them.",
                code="window_closed",
            )
    elif now < clock.parse_iso(row["window_opens"]):
        raise APIError(409, "This questionnaire has not opened yet.", code="window_not_open")
    answers, problems = check_answers(instrument, body["answers"])
    if problems:
        raise APIError(422, "Some answers need attention.", fields={"answers": problems})
    return answers


def _store(
    db: Database,
    row: dict[str, Any],
    values: dict[str, Any],
    body: dict[str, Any],
    *,
    participant_id: int,
) -> tuple[dict[str, Any] | None, int]:
    """Insert the first response, or correct the one there (a reason is required);
    return the response as it was (for the audit row) and the new version."""
    if row["response_id"] is None:
        inserted = queries.insert_response(
            db, {**values, "occurrence_id": row["id"], "participant_id": participant_id}
        )
        if inserted is not None:
            return None, 1
        row = queries.occurrence(db, row["id"], participant_id)  # a racing first write won
    if not (body.get("reason") or "").strip():
        raise APIError(
            422,
            "A reason is required to change a questionnaire you already sent.",
            fields={"reason": ["a reason is required to change an existing response"]},
        )
    version = row["version"] + 1
    # A change keeps when the answers first reached the server, and whether that was
    # after the window: adherence counts the first arrival (updated_at dates the change).
    kept = {k: v for k, v in values.items() if k not in ("received_at", "synced_late")}
    queries.update_response(db, row["response_id"], {**kept, "version": version})
    return _audited(row), version


def _raise_and_resolve(
    db: Database,
    study: Study,
    schedule_entry: QuestionnaireSchedule | None,
    instrument: Instrument,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    actor: audit.Actor,
    now: datetime,
    by_staff: str | None,
) -> None:
    """The flags an answer changes: a missed one resolves (the answer arrived after the
    window: made in time offline, or entered by staff), and the protocol's rules run."""
    participant = participant_queries.get_by_id(db, after["participant_id"])
    if before["status"] == "missed":
        note = (
            "The questionnaire was answered in its window on the phone and sent later."
            if by_staff is None
            else "The study team entered the answers later (a data clarification)."
        )
        _resolve_missed(db, participant, after["id"], actor=actor, now=now, note=note)
    if schedule_entry is not None:
        raise_answer_flags(
            db, study, schedule_entry, instrument, after, participant, actor=actor, now=now
        )


def close_missed(
    db: Database, study: Study, *, now: datetime, actor: audit.Actor, titles=None
) -> int:
    """Mark missed, exactly once, every pending occurrence whose window has closed, and
    raise its (low) questionnaire_missed flag for the site's daily digest."""
    with transaction(db):
        closed = queries.close_missed(db, now=now)
        for row in closed:
            participant = participant_queries.get_by_id(db, row["participant_id"])
            due = clock.parse_date(row["due_date"])
            episodes.upsert(
                db,
                study.thresholds,
                participant=participant,
                finding=Finding(
                    MISSED,
                    "low",
                    due,
                    due,
                    {
                        "instrument": row["instrument"],
                        "title": (titles or {}).get(row["instrument"], row["instrument"]),
                        "occurrence_id": row["id"],
                        "window_closes": row["window_closes"],
                    },
                ),
                episode_key=f"q{row['id']}",
                actor=actor,
                now=now,
            )
            audit.record(
                db,
                actor=actor,
                action="questionnaire.missed",
                object_type="questionnaire",
                object_id=str(row["id"]),
                site_id=queries.site_of(db, row["participant_id"]),
                participant_id=row["participant_id"],
                after={
                    "instrument": row["instrument"],
                    "due_date": row["due_date"],
                    "window_closes": row["window_closes"],
                },
                at=now,
            )
    return len(closed)


def raise_answer_flags(
    db: Database,
    study: Study,
    schedule_entry: QuestionnaireSchedule,
    instrument: Instrument,
    row: dict[str, Any],
    participant: dict[str, Any],
    *,
    actor: audit.Actor,
    now: datetime,
) -> int:
    """The protocol's flag rules over the stored answers and scores: each one met opens
    (or updates) a questionnaire_answer flag, urgent ones noticed at once. A correction
    that no longer meets a rule leaves its flag for staff to resolve."""
    raised = 0
    due = clock.parse_date(row["due_date"])
    for rule in schedule_entry.flags:
        item = instrument.item(rule.item) if rule.item else None
        if rule.score is not None:
            value = (row["scores"] or {}).get(rule.score)
        else:
            value = (row["answers"] or {}).get(rule.item)
            if item is not None and item.type == "choice" and not rule.answer_in:
                value = scoring.value_of(item, value)  # a threshold on the option's score
        if not rule.met(value):
            continue
        detail = {
            "instrument": row["instrument"],
            "title": instrument.title,
            "occurrence_id": row["id"],
            "rule": rule.name,
            "text": rule.text,
            "score" if rule.score else "item": rule.score or rule.item,
        }
        if item is None or item.type not in ("string", "text"):  # never free text
            detail["value"] = value
        episodes.upsert(
            db,
            study.thresholds,
            participant=participant,
            finding=Finding(ANSWER, rule.severity, due, due, detail),
            episode_key=f"q{row['id']}:{rule.name}",
            actor=actor,
            now=now,
        )
        raised += 1
    return raised


def _resolve_missed(
    db: Database, participant: dict[str, Any], occurrence_id: int, *, actor, now, note: str
) -> None:
    flag = flag_queries.open_episode(db, participant["id"], MISSED, f"q{occurrence_id}")
    if flag is not None:
        episodes.resolve_by_data(
            db,
            flag,
            participant=participant,
            actor=actor,
            now=now,
            note=note,
        )


def _schedule_of(study: Study, row: dict[str, Any]) -> QuestionnaireSchedule | None:
    return next((q for q in study.questionnaires if q.instrument == row["instrument"]), None)


def _made_at(device_time: datetime, row: dict[str, Any], now: datetime) -> datetime:
    """When the phone says the answers were given; 422 for a clock that cannot be right."""
    if device_time > now + clock.CLOCK_SKEW:
        raise APIError(
            422,
            "The date and time on this device are ahead of the real time. Check the date "
            "and time settings of this device, then send the questionnaire again.",
            fields={"device_time": ["is ahead of the server's clock"]},
        )
    return min(device_time, now)


def _check_window(db: Database, row: dict[str, Any], made_at: datetime, now: datetime) -> None:
    opens = clock.parse_iso(row["window_opens"])
    closes = clock.parse_iso(row["window_closes"])
    if now < opens or made_at < opens - clock.CLOCK_SKEW:
        raise APIError(
            409,
            f"This questionnaire opens on {row['window_opens'][:10]}; answer it then.",
            code="window_not_open",
        )
    if made_at >= closes or locks.synced_too_late(db, made_at, now):
        raise APIError(
            409,
            "The time to answer this questionnaire has ended. Your study team can help.",
            code="window_closed",
        )


def _request_hash(occurrence_id: int, body: dict[str, Any]) -> str:
    canonical = {
        "occurrence": occurrence_id,
        "answers": body["answers"],
        "device_time": clock.iso(body["device_time"]),
        "reason": body.get("reason"),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _audited(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if not row or not row["response_id"]:
        return None
    return {"answers": row["answers"], "scores": row["scores"], "version": row["version"]}
