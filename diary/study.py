"""Load and validate the study protocol file (SPEC §3) into plain dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from .schemas import Line, Text, TimeZoneField

# \Z, not $: "$" also matches before a final line break.
CODE = validate.Regexp(r"[a-z][a-z0-9_]{0,39}\Z", error="must be a lower_snake_case code")
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class StudyError(RuntimeError):
    """The protocol file is unusable; the message names each bad key."""


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds; defaults are SPEC §6, the protocol file may override each."""

    flare_abs_increase: float = 2
    flare_pct_increase: float = 30
    flare_consecutive: int = 2
    flare_absolute: int = 9
    # Two entries are "consecutive" for a flare when at most this many days apart
    # (2: one missing day between them does not break the run).
    flare_max_gap_days: int = 2
    mme_high: float = 50
    mme_urgent: float = 90
    increase_window_days: int = 3
    increase_abs: float = 10
    increase_pct: float = 50
    # Entered days (with a known MME) a window needs before its mean counts.
    increase_min_entries: int = 2
    missed_high_streak: int = 3
    fever_c: float = 38.0


@dataclass(frozen=True)
class Symptom:
    code: str
    label: str
    red_flag: bool


@dataclass(frozen=True)
class Drug:
    code: str
    label: str
    unit: str
    factor: float | None
    strengths: tuple[float, ...]
    max_strength: float
    max_units: float
    # Where the MME factor comes from (or, with no factor, why the drug is not converted).
    factor_source: str | None = None


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    low_anchor: str
    high_anchor: str


@dataclass(frozen=True)
class Score:
    """One score of a questionnaire (SPEC §13): `method` over `items` (None: every
    item with a numeric value), computed when at most `max_missing` of them are
    unanswered (prorated), else no score. `lookup` maps the raw sum to a table value
    (a T-score); `digits` rounds the result."""

    name: str
    method: str  # sum | mean | percent_of_max | lookup
    items: tuple[str, ...] | None = None
    max_missing: int = 0
    table: tuple[tuple[float, float], ...] = ()
    digits: int = 1


@dataclass(frozen=True)
class AnswerRule:
    """A flag rule on a questionnaire (SPEC §13): the score `score` or the answer to
    `item` at least `at_least`, at most `at_most`, or among `answer_in` raises a
    `questionnaire_answer` flag of `severity`, when the answer is sent."""

    name: str
    text: str
    severity: str
    score: str | None = None
    item: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    answer_in: tuple[str, ...] = ()

    def met(self, value: Any) -> bool:
        if value is None:
            return False
        if self.answer_in:
            return str(value).lower() in {a.lower() for a in self.answer_in}
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.at_least is not None and value < self.at_least:
            return False
        return not (self.at_most is not None and value > self.at_most)


@dataclass(frozen=True)
class QuestionnaireSchedule:
    """When an instrument is due: `offsets_days` from the anchor (and, when
    `repeat_every_days` is set, every so many days after the last offset through
    `repeat_until_day`), each open from `window_before_days` before its due date to
    `window_after_days` after it, in the participant's local dates."""

    instrument: str
    anchor: str  # first_injection | each_injection | enrollment
    offsets_days: tuple[int, ...]
    window_before_days: int
    window_after_days: int
    repeat_every_days: int | None = None
    repeat_until_day: int | None = None
    scores: tuple[Score, ...] = ()
    flags: tuple[AnswerRule, ...] = ()

    def days(self) -> tuple[int, ...]:
        """Every offset, repeats included, in order."""
        days = list(self.offsets_days)
        if self.repeat_every_days and self.repeat_until_day is not None:
            day = days[-1] + self.repeat_every_days
            while day <= self.repeat_until_day:
                days.append(day)
                day += self.repeat_every_days
        return tuple(days)


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    sponsor: str
    timezone: str
    study_team_contact: str
    emergency_number: str
    length_days: int
    window_closes_next_day_at: time
    reminder_default: time
    note_max_chars: int
    scales: dict[str, Scale]
    red_flag_title: str
    red_flag_advice: str
    symptoms: tuple[Symptom, ...]
    formulary: tuple[Drug, ...]
    thresholds: Thresholds
    escalation_after_minutes: int
    digest_time: time
    source: str = ""
    questionnaires: tuple[QuestionnaireSchedule, ...] = ()
    # SPEC §14: an applied data change request awaits the investigator's signature.
    change_requests_signed: bool = True

    def first_expected_date(self, first_injection: date, enrolled_on: date | None) -> date:
        """The first diary date an entry is due on: the later of the first injection and
        the day of enrollment (nobody can enter a day before they are in the study)."""
        return max(first_injection, enrolled_on) if enrolled_on else first_injection

    def last_diary_date(self, first_injection: date) -> date:
        """The last expected diary date: day `length_days` counted from the first injection."""
        return first_injection + timedelta(days=self.length_days)

    @property
    def symptom_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.symptoms)

    @property
    def red_flag_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.symptoms if s.red_flag)

    @property
    def factors(self) -> dict[str, float | None]:
        return {d.code: d.factor for d in self.formulary}

    def drug(self, code: str) -> Drug | None:
        return next((d for d in self.formulary if d.code == code), None)

    def symptom(self, code: str) -> Symptom | None:
        return next((s for s in self.symptoms if s.code == code), None)


class _TimeText(fields.String):
    """ "HH:MM" text → datetime.time."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not HHMM.fullmatch(text):
            raise ValidationError("must be a time as HH:MM (24-hour)")
        return time(int(text[:2]), int(text[3:]))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class StudySection(_Strict):
    # The API's text rule (diary.text): no control characters, and these are one line.
    id = Line(required=True, validate=validate.Length(1, 40))
    title = Line(required=True, validate=validate.Length(1, 300))
    sponsor = Line(load_default="", validate=validate.Length(max=300))
    timezone = TimeZoneField(required=True)
    study_team_contact = Line(required=True, validate=validate.Length(1, 300))
    emergency_number = Line(required=True, validate=validate.Length(1, 20))


class ScaleSection(_Strict):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)
    low_anchor = Line(required=True, validate=validate.Length(1, 100))
    high_anchor = Line(required=True, validate=validate.Length(1, 100))

    @post_load
    def _make(self, data, **kwargs):
        return Scale(**data)


class DiarySection(_Strict):
    length_days = fields.Integer(required=True, validate=validate.Range(1, 3660))
    window_closes_next_day_at = _TimeText(required=True)
    reminder_default = _TimeText(required=True)
    note_max_chars = fields.Integer(load_default=2000, validate=validate.Range(0, 10000))
    scales = fields.Dict(
        keys=fields.String(validate=validate.OneOf(["back_pain", "leg_pain"])),
        values=fields.Nested(ScaleSection),
        required=True,
    )


class AlertsSection(_Strict):
    red_flag_title = Line(required=True, validate=validate.Length(1, 200))
    red_flag_advice = Text(one_line=False, required=True, validate=validate.Length(1, 2000))


class SymptomSection(_Strict):
    code = fields.String(required=True, validate=CODE)
    label = Line(required=True, validate=validate.Length(1, 200))
    red_flag = fields.Boolean(required=True)

    @post_load
    def _make(self, data, **kwargs):
        return Symptom(**data)


class DrugSection(_Strict):
    code = fields.String(required=True, validate=CODE)
    label = Line(required=True, validate=validate.Length(1, 200))
    unit = fields.String(required=True, validate=validate.OneOf(["mg", "mcg", "mcg/hr"]))
    factor = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    factor_source = Line(load_default=None, validate=validate.Length(1, 500))
    strengths = fields.List(fields.Float(validate=validate.Range(min=0, min_inclusive=False)))
    max_strength = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    max_units = fields.Float(load_default=24, validate=validate.Range(min=0, min_inclusive=False))

    @validates_schema
    def _factor_has_a_source(self, data, **kwargs):
        # A factor is a clinical number: staff and statisticians must see where it is from.
        if data.get("factor") is not None and not (data.get("factor_source") or "").strip():
            raise ValidationError(
                f"{data.get('code', 'this drug')} has an MME factor: name where it comes "
                "from (e.g. the guideline and its table)",
                "factor_source",
            )

    @post_load
    def _make(self, data, **kwargs):
        data["strengths"] = tuple(data.get("strengths", ()))
        return Drug(**data)


class FlagsSection(_Strict):
    fever_c = fields.Float(required=True, validate=validate.Range(35, 43))
    flare_abs_increase = fields.Float(required=True, validate=validate.Range(min=0))
    flare_pct_increase = fields.Float(required=True, validate=validate.Range(min=0))
    flare_consecutive = fields.Integer(required=True, validate=validate.Range(1, 30))
    flare_absolute = fields.Integer(required=True, validate=validate.Range(0, 10))
    flare_max_gap_days = fields.Integer(load_default=2, validate=validate.Range(1, 14))
    mme_high = fields.Float(required=True, validate=validate.Range(min=0))
    mme_urgent = fields.Float(required=True, validate=validate.Range(min=0))
    increase_window_days = fields.Integer(required=True, validate=validate.Range(1, 30))
    increase_abs = fields.Float(required=True, validate=validate.Range(min=0))
    increase_pct = fields.Float(required=True, validate=validate.Range(min=0))
    increase_min_entries = fields.Integer(load_default=2, validate=validate.Range(1, 30))
    missed_high_streak = fields.Integer(required=True, validate=validate.Range(1, 60))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("mme_urgent", 0) < data.get("mme_high", 0):
            raise ValidationError("must be at least mme_high", "mme_urgent")
        if data.get("increase_min_entries", 0) > data.get("increase_window_days", 30):
            raise ValidationError("must not exceed increase_window_days", "increase_min_entries")


SCORE_METHODS = ("sum", "mean", "percent_of_max", "lookup")
ANCHORS = ("first_injection", "each_injection", "enrollment")


class ScoreSection(_Strict):
    name = fields.String(required=True, validate=CODE)
    method = fields.String(required=True, validate=validate.OneOf(SCORE_METHODS))
    items = fields.List(Line(validate=validate.Length(1, 100)), load_default=None)
    max_missing = fields.Integer(load_default=0, validate=validate.Range(0, 100))
    # [[raw, value], …]: the raw sum of the items → the reported value (e.g. a T-score).
    table = fields.List(fields.List(fields.Float(), validate=validate.Length(2, 2)))
    digits = fields.Integer(load_default=1, validate=validate.Range(0, 4))

    @validates_schema
    def _table(self, data, **kwargs):
        table = data.get("table")
        if data.get("method") == "lookup":
            if not table:
                raise ValidationError("a lookup score needs a table of [raw, value] pairs", "table")
            raws = [r for r, _ in table]
            values = [v for _, v in table]
            if any(b <= a for a, b in zip(raws, raws[1:], strict=False)):
                raise ValidationError("raw scores must increase from row to row", "table")
            if any(b < a for a, b in zip(values, values[1:], strict=False)):
                raise ValidationError("values must not decrease as the raw score rises", "table")
        elif table:
            raise ValidationError("only a lookup score has a table", "table")

    @post_load
    def _make(self, data, **kwargs):
        data["items"] = tuple(data["items"]) if data.get("items") is not None else None
        data["table"] = tuple((r, v) for r, v in data.get("table") or ())
        return Score(**data)


class AnswerRuleSection(_Strict):
    name = fields.String(required=True, validate=CODE)
    text = Line(required=True, validate=validate.Length(1, 300))
    severity = fields.String(required=True, validate=validate.OneOf(("low", "high", "urgent")))
    score = fields.String(validate=CODE)
    item = Line(validate=validate.Length(1, 100))
    at_least = fields.Float()
    at_most = fields.Float()
    answer_in = fields.List(Line(validate=validate.Length(1, 100)))

    @validates_schema
    def _one_test(self, data, **kwargs):
        if ("score" in data) == ("item" in data):
            raise ValidationError("name either a score or an item", "score")
        tests = [k for k in ("at_least", "at_most") if k in data]
        if bool(tests) == bool(data.get("answer_in")):
            raise ValidationError("give at_least / at_most, or answer_in", "answer_in")
        if "score" in data and data.get("answer_in"):
            raise ValidationError("a score is a number: use at_least / at_most", "answer_in")

    @post_load
    def _make(self, data, **kwargs):
        data["answer_in"] = tuple(data.get("answer_in", ()))
        return AnswerRule(**data)


class QuestionnaireSection(_Strict):
    instrument = Line(required=True, validate=validate.Length(1, 64))
    anchor = fields.String(required=True, validate=validate.OneOf(ANCHORS))
    offsets_days = fields.List(
        fields.Integer(validate=validate.Range(-60, 3650)),
        required=True,
        validate=validate.Length(min=1),
    )
    window_before_days = fields.Integer(required=True, validate=validate.Range(0, 60))
    window_after_days = fields.Integer(required=True, validate=validate.Range(0, 60))
    repeat_every_days = fields.Integer(validate=validate.Range(1, 3650))
    repeat_until_day = fields.Integer(validate=validate.Range(0, 3650))
    scores = fields.List(fields.Nested(ScoreSection), load_default=list)
    flags = fields.List(fields.Nested(AnswerRuleSection), load_default=list)

    @validates_schema
    def _days(self, data, **kwargs):
        offsets = data.get("offsets_days") or []
        if any(b <= a for a, b in zip(offsets, offsets[1:], strict=False)):
            raise ValidationError("offsets must increase", "offsets_days")
        if ("repeat_every_days" in data) != ("repeat_until_day" in data):
            raise ValidationError(
                "give repeat_every_days and repeat_until_day together", "repeat_every_days"
            )
        names = [s.name for s in data.get("scores", [])]
        if len(set(names)) != len(names):
            raise ValidationError("two scores share a name", "scores")
        for rule in data.get("flags", []):
            if rule.score is not None and rule.score not in names:
                raise ValidationError(f"{rule.name}: no score named {rule.score!r}", "flags")

    @post_load
    def _make(self, data, **kwargs):
        data["offsets_days"] = tuple(data["offsets_days"])
        data["scores"] = tuple(data.get("scores", ()))
        data["flags"] = tuple(data.get("flags", ()))
        return QuestionnaireSchedule(**data)


class NotificationsSection(_Strict):
    escalation_after_minutes = fields.Integer(required=True, validate=validate.Range(1, 10080))
    digest_time = _TimeText(required=True)


class SignoffSection(_Strict):
    change_requests_signed = fields.Boolean(load_default=True)


class ProtocolSchema(_Strict):
    study = fields.Nested(StudySection, required=True)
    diary = fields.Nested(DiarySection, required=True)
    alerts = fields.Nested(AlertsSection, required=True)
    symptoms = fields.List(fields.Nested(SymptomSection), required=True)
    formulary = fields.List(fields.Nested(DrugSection), required=True)
    flags = fields.Nested(FlagsSection, required=True)
    notifications = fields.Nested(NotificationsSection, required=True)
    questionnaires = fields.List(fields.Nested(QuestionnaireSection), load_default=list)
    signoff = fields.Nested(SignoffSection, load_default=lambda: {"change_requests_signed": True})

    @validates_schema
    def _one_schedule_per_anchor(self, data, **kwargs):
        seen = [(q.instrument, q.anchor) for q in data.get("questionnaires", [])]
        twice = sorted({f"{i} ({a})" for i, a in seen if seen.count((i, a)) > 1})
        if twice:
            raise ValidationError(
                f"{', '.join(twice)} scheduled twice from the same anchor: list every"
                " offset in one schedule",
                "questionnaires",
            )

    @validates_schema
    def _unique_codes(self, data, **kwargs):
        for section in ("symptoms", "formulary"):
            codes = [item.code for item in data.get(section, [])]
            duplicates = sorted({c for c in codes if codes.count(c) > 1})
            if duplicates:
                raise ValidationError(f"duplicate code(s): {', '.join(duplicates)}", section)
            if section in data and not codes:
                raise ValidationError("must list at least one item", section)
        scales = data.get("diary", {}).get("scales", {})
        missing = {"back_pain", "leg_pain"} - set(scales)
        if "diary" in data and missing:
            raise ValidationError(
                {"scales": [f"missing scale(s): {', '.join(sorted(missing))}"]}, "diary"
            )


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.append(f"{prefix or 'file'}: {'; '.join(messages)}")
    elif isinstance(messages, list):
        for item in messages:
            out.extend(_flatten(item, prefix))
    else:
        out.append(f"{prefix or 'file'}: {messages}")
    return out


def parse(text: str, source: str = "study.toml") -> Study:
    """Parse and validate protocol text; raise StudyError naming every bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{source}: not valid TOML: {exc}") from exc
    try:
        data = ProtocolSchema().load(raw)
    except ValidationError as exc:
        problems = "\n  ".join(_flatten(exc.messages))
        raise StudyError(f"{source} is invalid:\n  {problems}") from exc
    s, d, a, f, n = (data[k] for k in ("study", "diary", "alerts", "flags", "notifications"))
    return Study(
        id=s["id"],
        title=s["title"],
        sponsor=s["sponsor"],
        timezone=s["timezone"],
        study_team_contact=s["study_team_contact"],
        emergency_number=s["emergency_number"],
        length_days=d["length_days"],
        window_closes_next_day_at=d["window_closes_next_day_at"],
        reminder_default=d["reminder_default"],
        note_max_chars=d["note_max_chars"],
        scales=d["scales"],
        red_flag_title=a["red_flag_title"],
        red_flag_advice=a["red_flag_advice"],
        symptoms=tuple(data["symptoms"]),
        formulary=tuple(data["formulary"]),
        thresholds=Thresholds(**f),
        escalation_after_minutes=n["escalation_after_minutes"],
        digest_time=n["digest_time"],
        source=source,
        questionnaires=tuple(data["questionnaires"]),
        change_requests_signed=data["signoff"]["change_requests_signed"],
    )


def load(path: str | Path) -> Study:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise StudyError(f"cannot read the study protocol file {path}: {exc.strerror}") from exc
    return parse(text, str(path))


def current_study() -> Study:
    """The protocol the running app loaded at start-up (create_app; DIARY_STUDY_FILE)."""
    return current_app.extensions["diary.study"]
