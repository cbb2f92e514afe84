"""Questionnaire endpoints: a participant's own, and staff's view of a participant's."""

from __future__ import annotations

from flask_login import current_user

from .. import clock
from ..access import participant_required, staff_required
from ..db import get_db
from ..errors import not_found
from ..participants import queries as participant_queries
from ..participants.scope import scoped_participant
from ..schemas import Blueprint
from ..study import current_study
from . import catalog, queries, service
from .schemas import (
    OccurrenceDetailOut,
    OccurrenceListOut,
    QuestionnaireClarificationIn,
    ResponseIn,
    StaffOccurrenceDetailOut,
    StaffOccurrenceListOut,
    StaffOccurrenceOut,
)

blp = Blueprint("questionnaires", __name__, description="Questionnaires (scheduled instruments)")


def _occurrences(participant: dict) -> list[dict]:
    """The participant's occurrences, brought in line with the schedule first when the
    job has not yet done it (a participant enrolled or injected since it last ran)."""
    db = get_db()
    injections = participant_queries.injections(db, participant["id"])
    service.schedule_participant(db, current_study(), participant, injections, now=clock.now())
    return queries.occurrences(db, participant["id"])


@blp.route("/questionnaires", methods=["GET"])
@participant_required
@blp.response(200, OccurrenceListOut)
def list_questionnaires():
    """The signed-in participant's questionnaires: upcoming, open, completed, missed."""
    participant = participant_queries.get_by_id(get_db(), current_user.participant_id)
    now, instruments = clock.now(), catalog.current()
    return {
        "questionnaires": [service.present(r, instruments, now) for r in _occurrences(participant)]
    }


@blp.route("/questionnaires/<int:occurrence_id>", methods=["GET"])
@participant_required
@blp.response(200, OccurrenceDetailOut)
def get_questionnaire(occurrence_id):
    """One questionnaire with its FHIR Questionnaire and the response, if any."""
    row = queries.occurrence(get_db(), occurrence_id, current_user.participant_id)
    if row is None:
        raise not_found(f"No questionnaire {occurrence_id} for you.")
    return service.with_response(row, catalog.current(), clock.now())


@blp.route("/questionnaires/<int:occurrence_id>/response", methods=["PUT"])
@participant_required
@blp.arguments(ResponseIn())
@blp.response(200, OccurrenceDetailOut)
@blp.alt_response(201, schema=OccurrenceDetailOut, description="Created")
@blp.alt_response(409, description="Outside the window, or client_id reused for other content")
@blp.alt_response(422, description="Answers that do not fit the questionnaire; nothing written")
def put_response(body, occurrence_id):
    return service.put_response(
        get_db(),
        current_study(),
        catalog.current(),
        participant_id=current_user.participant_id,
        occurrence_id=occurrence_id,
        body=body,
        actor=current_user.actor,
        now=clock.now(),
    )


@blp.route("/staff/participants/<study_id>/questionnaires", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, StaffOccurrenceListOut)
def list_staff_questionnaires(study_id):
    """A participant's questionnaires with status, scores and each response."""
    participant = scoped_participant(study_id)
    now, instruments = clock.now(), catalog.current()
    return {
        "questionnaires": [
            service.for_staff(r, instruments, now)
            for r in queries.occurrences(get_db(), participant["id"])
        ]
    }


@blp.route("/staff/participants/<study_id>/questionnaires/<int:occurrence_id>", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, StaffOccurrenceDetailOut)
def get_staff_questionnaire(study_id, occurrence_id):
    """One of a participant's questionnaires with its FHIR Questionnaire and response."""
    participant = scoped_participant(study_id)
    row = queries.occurrence(get_db(), occurrence_id, participant["id"])
    if row is None:
        raise not_found(f"No questionnaire {occurrence_id} for {study_id}.")
    now, instruments = clock.now(), catalog.current()
    instrument = instruments.get(row["instrument"])
    return {
        **service.for_staff(row, instruments, now),
        "questionnaire": dict(instrument.resource) if instrument else None,
    }


@blp.route(
    "/staff/participants/<study_id>/questionnaires/<int:occurrence_id>/response",
    methods=["PUT"],
)
@staff_required("entries.clarify")
@blp.arguments(QuestionnaireClarificationIn)
@blp.response(200, StaffOccurrenceOut)
@blp.alt_response(201, schema=StaffOccurrenceOut, description="Created")
@blp.alt_response(409, description="Not open yet, or client_id reused for other content")
@blp.alt_response(422, description="Answers that do not fit the questionnaire; nothing written")
def clarify_response(body, study_id, occurrence_id):
    """A data clarification: staff enter or correct the answers, with the reason."""
    participant = scoped_participant(study_id)
    now, instruments = clock.now(), catalog.current()
    _, status = service.put_response(
        get_db(),
        current_study(),
        instruments,
        participant_id=participant["id"],
        occurrence_id=occurrence_id,
        body={**body, "device_time": now},
        actor=current_user.actor,
        now=now,
        by_staff=current_user.email,
    )
    row = queries.occurrence(get_db(), occurrence_id, participant["id"])
    return service.for_staff(row, instruments, now), status
