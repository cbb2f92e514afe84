"""Questionnaire request and response schemas (SPEC §13)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import DeviceTime, StrictSchema, Text

STATUSES = ("upcoming", "open", "completed", "missed")


def _answers() -> fields.Dict:
    """{linkId: value}: checked against the instrument by the service (422 naming the
    linkId)."""
    return fields.Dict(
        keys=fields.String(validate=validate.Length(1, 100)),
        values=fields.Raw(allow_none=True),
        required=True,
        validate=validate.Length(max=500),
    )


class ResponseIn(StrictSchema):
    client_id = fields.UUID(required=True)
    answers = _answers()
    device_time = DeviceTime(required=True)
    reason = Text(validate=validate.Length(3, 500))


class QuestionnaireClarificationIn(StrictSchema):
    """Staff enter or correct a participant's answers: a data clarification, with why."""

    client_id = fields.UUID(required=True)
    answers = _answers()
    reason = Text(required=True, validate=validate.Length(3, 500))


class OccurrenceOut(Schema):
    id = fields.Integer(required=True)
    instrument = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    due_date = fields.String(required=True, metadata={"description": "participant's local date"})
    window_opens = fields.String(required=True, metadata={"description": "instant, UTC"})
    window_closes = fields.String(required=True, metadata={"description": "instant, UTC"})
    completed_at = fields.String(allow_none=True)
    synced_late = fields.Boolean(allow_none=True)
    scores = fields.Dict(
        keys=fields.String(), values=fields.Float(allow_none=True), allow_none=True
    )


class ResponseOut(Schema):
    answers = fields.Dict(required=True)
    scores = fields.Dict(required=True)
    device_time = fields.String(required=True)
    received_at = fields.String(required=True)
    synced_late = fields.Boolean(required=True)
    version = fields.Integer(required=True)


class OccurrenceDetailOut(OccurrenceOut):
    questionnaire = fields.Dict(
        allow_none=True, metadata={"description": "the FHIR R4 Questionnaire resource"}
    )
    response = fields.Nested(ResponseOut, allow_none=True)


class OccurrenceListOut(Schema):
    questionnaires = fields.List(fields.Nested(OccurrenceOut), required=True)


class AnswerOut(Schema):
    link_id = fields.String(required=True)
    text = fields.String(required=True)
    answer = fields.Raw(required=True)
    display = fields.String(allow_none=True, metadata={"description": "a choice's text"})
    score = fields.Float(allow_none=True)


class StaffResponseOut(ResponseOut):
    items = fields.List(fields.Nested(AnswerOut), required=True)


class StaffOccurrenceOut(OccurrenceOut):
    response = fields.Nested(StaffResponseOut, allow_none=True)


class StaffOccurrenceDetailOut(StaffOccurrenceOut):
    questionnaire = fields.Dict(
        allow_none=True, metadata={"description": "the FHIR R4 Questionnaire resource"}
    )


class StaffOccurrenceListOut(Schema):
    questionnaires = fields.List(fields.Nested(StaffOccurrenceOut), required=True)
