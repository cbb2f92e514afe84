"""Entry request and response schemas; the formulary and checklist come from the study."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..schemas import DateRangeQuery, Day, DeviceTime, JsonNumber, StrictSchema, Text
from ..study import current_study

MAX_DOSES = 30


def _positive(maximum: float) -> list:
    return [validate.Range(min=0, min_inclusive=False, max=maximum)]


def _known_drug(code: str) -> None:
    if current_study().drug(code) is None:
        raise ValidationError("not a drug of the study formulary")


def _known_symptom(code: str) -> None:
    if current_study().symptom(code) is None:
        raise ValidationError("not a symptom of the checklist")


def _note_length(note: str | None) -> None:
    limit = current_study().note_max_chars
    if note is not None and len(note) > limit:
        raise ValidationError(f"at most {limit} characters")


class DoseIn(StrictSchema):
    drug = fields.String(required=True, validate=_known_drug)
    strength = JsonNumber(required=True, allow_nan=False, validate=_positive(10_000))
    units = JsonNumber(required=True, allow_nan=False, validate=_positive(100))

    @validates_schema
    def _within_drug_limits(self, data, **kwargs):
        drug = current_study().drug(data.get("drug", ""))
        if drug is None:
            return
        if "strength" in data and data["strength"] > drug.max_strength:
            raise ValidationError(
                f"at most {drug.max_strength:g} {drug.unit} for {drug.code}", "strength"
            )
        if "units" in data and data["units"] > drug.max_units:
            raise ValidationError(f"at most {drug.max_units:g} for {drug.code}", "units")


class EntryIn(StrictSchema):
    """PUT /entries/{date}: drugs and symptoms are checked against the study protocol."""

    client_id = fields.UUID(required=True)
    back_pain = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10))
    leg_pain = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10))
    doses = fields.List(
        fields.Nested(DoseIn), load_default=list, validate=validate.Length(max=MAX_DOSES)
    )
    symptoms = fields.List(
        fields.String(validate=_known_symptom),
        load_default=list,
        validate=validate.Length(max=50),
    )
    temperature_c = JsonNumber(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(30, 45, error="must be a body temperature in °C (30–45)"),
    )
    note = Text(load_default=None, allow_none=True, validate=_note_length)
    device_time = DeviceTime(required=True)
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(3, 500))

    @validates_schema
    def _unique_symptoms(self, data, **kwargs):
        symptoms = data.get("symptoms") or []
        if len(set(symptoms)) != len(symptoms):
            raise ValidationError("each symptom at most once", "symptoms")


class DoseOut(Schema):
    drug = fields.String(required=True)
    strength = fields.Float(required=True)
    units = fields.Float(required=True)
    unit = fields.String(required=True)


class AlertSchema(Schema):
    kind = fields.String(required=True)
    title = fields.String(required=True)
    message = fields.String(required=True)
    symptoms = fields.List(fields.String(), required=True)
    emergency_number = fields.String(required=True)
    study_team_contact = fields.String(required=True)
    site_phone = fields.String(
        allow_none=True,
        metadata={
            "description": "the phone number of the participant's own site, as written"
            " (null when the site has none: show study_team_contact instead)"
        },
    )


class EntryOut(Schema):
    date = Day(required=True)
    client_id = fields.String(required=True)
    back_pain = fields.Integer(required=True)
    leg_pain = fields.Integer(required=True)
    doses = fields.List(fields.Nested(DoseOut), required=True)
    symptoms = fields.List(fields.String(), required=True)
    temperature_c = fields.Float(allow_none=True)
    note = fields.String(allow_none=True)
    device_time = fields.String(required=True)
    timezone = fields.String(required=True)
    mme = fields.Float(allow_none=True, required=True)
    mme_unconverted = fields.List(fields.String(), required=True)
    late = fields.Boolean(
        required=True, metadata={"description": "made (device time) after its local day ended"}
    )
    synced_late = fields.Boolean(
        required=True,
        metadata={
            "description": "the participant's latest write of it reached the server after "
            "the entry window closed (made offline in time, sent later)"
        },
    )
    version = fields.Integer(required=True)
    received_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    entered_by = fields.String()
    editable_until = fields.DateTime(
        metadata={
            "description": "when the participant's entry window for this date closes: until"
            " then they may change it themselves, after it only staff can"
        }
    )
    alerts = fields.List(
        fields.Nested(AlertSchema),
        metadata={
            "description": "advice to show the participant at once: the entry reports a red"
            " flag (on a change, only when the change adds one)"
        },
    )


class EntryListOut(Schema):
    entries = fields.List(fields.Nested(EntryOut), required=True)


class RangeQuery(DateRangeQuery):
    from_ = Day(required=True, data_key="from")
    to = Day(required=True)

    @validates_schema
    def _span(self, data, **kwargs):
        if "from_" in data and "to" in data and (data["to"] - data["from_"]).days > 366:
            raise ValidationError("at most 366 days per request", "to")


class ScaleOut(Schema):
    min = fields.Integer()
    max = fields.Integer()
    low_anchor = fields.String()
    high_anchor = fields.String()


class SymptomOut(Schema):
    code = fields.String()
    label = fields.String()
    red_flag = fields.Boolean()


class DrugOut(Schema):
    code = fields.String()
    label = fields.String()
    unit = fields.String()
    strengths = fields.List(fields.Float())


class LastDose(Schema):
    drug = fields.String()
    strength = fields.Float()
    units = fields.Float()


class RedFlagRuleOut(Schema):
    codes = fields.List(
        fields.String(), metadata={"description": "symptom codes that are red flags"}
    )
    fever_code = fields.String(metadata={"description": "the code a measured fever reports"})
    fever_c = fields.Float(metadata={"description": "a temperature at or above this is a fever"})
    title = fields.String()
    advice = fields.String()


class ProtocolOut(Schema):
    study = fields.Dict()
    scales = fields.Dict(keys=fields.String(), values=fields.Nested(ScaleOut))
    symptoms = fields.List(fields.Nested(SymptomOut))
    formulary = fields.List(fields.Nested(DrugOut))
    window_closes_next_day_at = fields.String()
    red_flag = fields.Nested(RedFlagRuleOut)
    note_max_chars = fields.Integer()
    emergency_number = fields.String()
    study_team_contact = fields.String()
    site_phone = fields.String(
        allow_none=True,
        metadata={
            "description": "the phone number of the participant's own site, for the advice"
            " shown offline (null when the site has none)"
        },
    )
    recent_drugs = fields.List(fields.String())
    last_doses = fields.List(fields.Nested(LastDose))
    vapid_public_key = fields.String(allow_none=True)


class ZoneChoice(Schema):
    zone = fields.String(required=True, metadata={"description": "canonical IANA name"})
    city = fields.String(required=True, metadata={"description": "the city it is named after"})
    area = fields.String(
        allow_none=True,
        metadata={"description": "the part of the country it covers, when there are several"},
    )


class CountryZones(Schema):
    country = fields.String(allow_none=True, metadata={"description": "ISO 3166 code"})
    name = fields.String(required=True)
    zones = fields.List(fields.Nested(ZoneChoice), required=True)


class TimeZonesQuery(StrictSchema):
    device = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "the zone the phone reports, perhaps an old alias"},
    )


class TimeZonesOut(Schema):
    countries = fields.List(fields.Nested(CountryZones), required=True)
    device = fields.String(
        allow_none=True,
        metadata={"description": "the canonical zone of `device` (null when unknown)"},
    )


class StaffDrugOut(DrugOut):
    factor = fields.Float(allow_none=True)
    factor_source = fields.String(
        allow_none=True,
        metadata={"description": "where the MME factor comes from, or why there is none"},
    )


class StaffProtocolOut(Schema):
    study = fields.Dict()
    symptoms = fields.List(fields.Nested(SymptomOut))
    formulary = fields.List(fields.Nested(StaffDrugOut))
    thresholds = fields.Dict()
    window_closes_next_day_at = fields.String()
    length_days = fields.Integer()


# --- a participant's entries (staff) ------------------------------------------


ENTRY_PAGE_MAX = 366  # a year of diary: what the console's longest chart shows


class StaffRangeQuery(DateRangeQuery):
    """Both optional: the diary's first and last dates by default. A page holds the
    newest `limit` entries of the range dated before `before` (a 24-month diary has 730)."""

    before = Day(metadata={"description": "entries dated before this date (next_before)"})
    limit = fields.Integer(load_default=ENTRY_PAGE_MAX, validate=validate.Range(1, ENTRY_PAGE_MAX))


class ClarificationIn(EntryIn):
    """The participant's entry body; a reason is required for every staff write."""

    reason = Text(required=True, validate=validate.Length(3, 500))


class CorrectionSchema(Schema):
    version = fields.Integer(allow_none=True)
    at = fields.String(required=True)
    actor = fields.String(allow_none=True, metadata={"description": "staff e-mail or study ID"})
    actor_type = fields.String(required=True)
    action = fields.String(required=True, metadata={"description": "entry.correct|entry.create"})
    reason = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True, metadata={"description": "changed values before"})
    after = fields.Dict(required=True, metadata={"description": "changed values after"})


class StaffEntrySchema(EntryOut):
    corrections = fields.List(fields.Nested(CorrectionSchema), required=True)
    change_requests = fields.List(
        fields.Nested(lambda: ChangeRequestSchema()),
        metadata={"description": "requests to change this date's entry, oldest first"},
    )


class StaffEntryListSchema(Schema):
    entries = fields.List(
        fields.Nested(StaffEntrySchema),
        required=True,
        metadata={"description": "one page, oldest first"},
    )
    total = fields.Integer(
        required=True, metadata={"description": "entries in from..to, all pages"}
    )
    next_before = Day(
        allow_none=True,
        metadata={"description": "pass as `before` for older entries (null: none left)"},
    )


class EntryChanges(EntryIn):
    """The values a change request asks for: any of the entry's fields, the others kept."""

    class Meta:
        exclude = ("client_id", "device_time", "reason")

    back_pain = fields.Integer(strict=True, validate=validate.Range(0, 10))
    leg_pain = fields.Integer(strict=True, validate=validate.Range(0, 10))
    doses = fields.List(fields.Nested(DoseIn), validate=validate.Length(max=MAX_DOSES))
    symptoms = fields.List(fields.String(validate=_known_symptom), validate=validate.Length(max=50))
    temperature_c = JsonNumber(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(30, 45, error="must be a body temperature in °C (30–45)"),
    )
    note = Text(allow_none=True, validate=_note_length)


CHANGE_SOURCES = ("participant_call", "participant_visit", "participant_message", "source_document")


class ChangeRequestIn(StrictSchema):
    date = Day(required=True, metadata={"description": "the diary date to change"})
    changes = fields.Nested(EntryChanges, required=True)
    why = Text(required=True, validate=validate.Length(3, 1000))
    source = fields.String(required=True, validate=validate.OneOf(CHANGE_SOURCES))

    @validates_schema
    def _something(self, data, **kwargs):
        if "changes" in data and not data["changes"]:
            raise ValidationError({"changes": ["name at least one field to change"]})


class ChangeDecisionIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(3, 500))


class ChangeRequestSchema(Schema):
    id = fields.Integer(required=True)
    study_id = fields.String(required=True)
    date = Day(required=True)
    changes = fields.Dict(required=True)
    why = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open | applied | declined"})
    requested_by = fields.String(required=True)
    requested_at = fields.DateTime(required=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    clarification_id = fields.Integer(
        allow_none=True, metadata={"description": "the applied change's audit row: sign it"}
    )


class ChangeRequestListSchema(Schema):
    change_requests = fields.List(fields.Nested(ChangeRequestSchema), required=True)
