"""Shared marshmallow pieces for request and response schemas."""

from __future__ import annotations

import re

import flask_smorest
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import BaseConverter, IntegerConverter

from . import clock
from .bodies import CheckedParser
from .text import blank, problem

# \Z, not $: "$" also matches before a final line break, so "LBP-014\n" would pass.
STUDY_ID = validate.Regexp(
    r"[A-Z0-9][A-Z0-9-]{1,31}\Z", error="use capital letters, digits and dashes (e.g. LBP-014)"
)
SITE_CODE = validate.Regexp(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z", error="not a valid site code")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


# What a person reads next to a field when what they entered is refused (SPEC §7): the
# field is named by where the message is shown (the API's `fields` key), so each says
# what to enter. These replace marshmallow's defaults ("Missing data for required
# field.", "Not a valid integer."…) for every field and validator the schemas use; a
# schema may still say more for its own field (`error=`, `error_messages=`).


def _in_peoples_words() -> None:
    words = {
        fields.Field: {
            "required": "Required: enter a value.",
            "null": "Required: this cannot be left empty.",
            "validator_failed": "This value is not accepted.",
        },
        fields.String: {"invalid": "Enter text.", "invalid_utf8": "Enter text."},
        fields.Integer: {"invalid": "Enter a whole number."},
        fields.Number: {"invalid": "Enter a number.", "too_large": "Enter a smaller number."},
        fields.Float: {"special": "Enter a number."},
        fields.Boolean: {"invalid": "Answer yes or no."},
        fields.Date: {"invalid": clock.DATE_RULE[0].upper() + clock.DATE_RULE[1:] + "."},
        fields.Email: {"invalid": "Enter an e-mail address, such as name@example.org."},
        fields.UUID: {"invalid_uuid": "Send the identifier the app made for this (a UUID)."},
        fields.List: {"invalid": "Send a list."},
        fields.Mapping: {"invalid": "Send an object with its fields."},
        fields.Nested: {"type": "Send an object with its fields."},
    }
    for cls, messages in words.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}
    Schema._default_error_messages = {
        "type": "Send a JSON object.",
        "unknown": "This is not a field of this form: leave it out.",
    }
    validate.Length.message_min = "Enter at least {min} characters."
    validate.Length.message_max = "Enter at most {max} characters."
    validate.Length.message_all = "Enter {min} to {max} characters."
    validate.Length.message_equal = "Enter exactly {equal} characters."
    validate.Range.message_all = "Enter a number from {{min}} to {{max}}."
    validate.Range.message_min = "Enter a number of at least {{min}}."
    validate.Range.message_max = "Enter a number of at most {{max}}."
    validate.OneOf.default_message = "Choose one of: {choices}."
    validate.Regexp.default_message = "This is not in the expected form."
    validate.Email.default_message = fields.Email.default_error_messages["invalid"]
    validate.ContainsOnly.default_message = "Choose only among: {choices}."


_in_peoples_words()


class StrictSchema(Schema):
    """Unknown fields are an error: a typo must not be silently dropped."""

    class Meta:
        unknown = RAISE


class Day(fields.Date):
    """A calendar date, as every input of the API takes one: exactly YYYY-MM-DD, in the
    years clock.FIRST_YEAR–LAST_YEAR (no week dates, no year 1 or 9999)."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = clock.parse_date(value) if isinstance(value, str) else None
        if day is None:
            raise ValidationError(clock.DATE_RULE)
        return day


class DateRangeQuery(StrictSchema):
    """`from` and `to` dates of a query string, `to` never before `from` (both optional
    here; a subclass may require them)."""

    from_ = Day(data_key="from")
    to = Day()

    @validates_schema
    def _order(self, data, **kwargs):
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            raise ValidationError("must not be before 'from'", "to")


class IdConverter(IntegerConverter):
    """`<int:…>` in a URL: a record id, at most 2^53 (larger cannot be a row id, nor be
    bound as an SQLite integer); anything else is a 404 like an id that does not exist."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**53, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class DateConverter(BaseConverter):
    """`<date:day>` in a URL: a calendar date exactly as YYYY-MM-DD (clock.parse_date),
    given to the view as a `date`. Any other text in that place is a 422 naming the date,
    before the view runs, so no view parses a date of its own."""

    # Any one path segment: a malformed date is answered, not routed to a 404.
    regex = "[^/]+"

    bounded = True

    def to_python(self, value: str):
        day = clock.parse_date(value, bounded=self.bounded)
        if day is None:
            # An HTTPException, because Flask keeps only those from routing for the
            # error handlers; `data` is where webargs puts field messages too.
            error = UnprocessableEntity()
            error.data = {"messages": {"view_args": {"date": [clock.DATE_RULE]}}}
            raise error
        return day

    def to_url(self, value) -> str:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    @staticmethod
    def openapi(converter) -> dict[str, str]:
        return {"type": "string", "format": "date"}


class AnyDateConverter(DateConverter):
    """`<anydate:day>`: a date of any year, for the one route that must reach a stored
    date outside the rule (voiding an injection recorded before dates were checked);
    its view does no date arithmetic."""

    bounded = False


# Text fields that may span lines, by name: free text someone explains something in.
MULTI_LINE = frozenset({"note", "reason", "why"})


class JsonNumber(fields.Float):
    """A number in a JSON body, as JSON writes one: a string is refused (even "5"), so
    that "1_0", " 5 " or "١" (an Arabic-Indic one) is never stored as 10, 5 or 1. Query
    strings, where every value is text, keep marshmallow's own Float and Integer."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A yes or no in a JSON body, as JSON writes one: true or false. marshmallow's own
    Boolean reads "yes", "on", "0", 1 or 0 as one, so a client's slip (or a form's text)
    would be stored as an answer nobody gave."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class Text(fields.String):
    """Text a person wrote: refused when it cannot be written as UTF-8, or holds a
    control character, so that no export or message fails on it later. One line (a
    name, a site name, a term, a reference) unless `one_line=False`; when not said, a
    field named in MULTI_LINE (a note, a reason) may span lines and any other is one
    line, so that a new field is one line until someone decides otherwise."""

    def __init__(self, *, one_line: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.one_line = one_line

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        one_line = self.one_line
        if one_line is None:
            one_line = (self.name or attr) not in MULTI_LINE
        trouble = problem(text, one_line=one_line)
        if trouble:
            raise ValidationError(trouble)
        least = _least_length(self)
        # (an empty one is left to the Length validator's own words, when it has one)
        if blank(text) and (self.required or least > 0) and (text or not least):
            raise ValidationError(BLANK)
        return text


BLANK = "Enter at least one visible character: this is blank."


def _least_length(field: fields.Field) -> int:
    """The shortest text the field's Length validators allow (0: no minimum)."""
    return max((v.min or 0 for v in field.validators if isinstance(v, validate.Length)), default=0)


class Line(Text):
    """A value that is one line: a name, a site name, an AE term, a reference."""

    def __init__(self, **kwargs):
        super().__init__(one_line=True, **kwargs)


class DeviceTime(fields.AwareDateTime):
    """When a phone says something was made: an ISO instant with its UTC offset, as
    clock.parse_instant takes one (the CLI's --at follows the same rule): a clock set to
    year 1 or 9999, or an offset no zone has, is not believed and would not convert to
    UTC."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        instant = clock.parse_instant(value) if isinstance(value, str) else None
        if instant is None:
            raise ValidationError(clock.INSTANT_RULE)
        return instant


class TimeZoneField(fields.String):
    """A time zone as input names one: canonical IANA names only (clock.is_valid_zone)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 64 or not clock.is_valid_zone(text):
            raise ValidationError(clock.zone_problem(text))
        return text


class HHMMField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _HHMM.fullmatch(text):
            raise ValidationError("must be a time as HH:MM (24-hour)")
        return text


class OkSchema(Schema):
    ok = fields.Boolean(required=True)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose parser lets each schema decide about unknown
    fields: webargs would otherwise drop unknown query parameters silently, so a
    mistyped filter (?stauts=open) would list everything instead of answering 422."""

    ARGUMENTS_PARSER = CheckedParser(unknown=None)
