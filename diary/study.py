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

from . import clock

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="must be a lower_snake_case code")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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
        if not HHMM.match(text):
            raise ValidationError("must be a time as HH:MM (24-hour)")
        return time(int(text[:2]), int(text[3:]))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class StudySection(_Strict):
    id = fields.String(required=True, validate=validate.Length(1, 40))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    sponsor = fields.String(load_default="")
    timezone = fields.String(required=True)
    study_team_contact = fields.String(required=True, validate=validate.Length(1, 300))
    emergency_number = fields.String(required=True, validate=validate.Length(1, 20))

    @validates_schema
    def _zone(self, data, **kwargs):
        if "timezone" in data and not clock.is_valid_zone(data["timezone"]):
            raise ValidationError("unknown IANA time zone", "timezone")


class ScaleSection(_Strict):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)
    low_anchor = fields.String(required=True)
    high_anchor = fields.String(required=True)

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
    red_flag_title = fields.String(required=True, validate=validate.Length(1, 200))
    red_flag_advice = fields.String(required=True, validate=validate.Length(1, 2000))


class SymptomSection(_Strict):
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(1, 200))
    red_flag = fields.Boolean(required=True)

    @post_load
    def _make(self, data, **kwargs):
        return Symptom(**data)


class DrugSection(_Strict):
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(1, 200))
    unit = fields.String(required=True, validate=validate.OneOf(["mg", "mcg", "mcg/hr"]))
    factor = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    factor_source = fields.String(load_default=None, validate=validate.Length(1, 500))
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


class NotificationsSection(_Strict):
    escalation_after_minutes = fields.Integer(required=True, validate=validate.Range(1, 10080))
    digest_time = _TimeText(required=True)


class ProtocolSchema(_Strict):
    study = fields.Nested(StudySection, required=True)
    diary = fields.Nested(DiarySection, required=True)
    alerts = fields.Nested(AlertsSection, required=True)
    symptoms = fields.List(fields.Nested(SymptomSection), required=True)
    formulary = fields.List(fields.Nested(DrugSection), required=True)
    flags = fields.Nested(FlagsSection, required=True)
    notifications = fields.Nested(NotificationsSection, required=True)

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
