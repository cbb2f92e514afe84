"""Instruments: HL7 FHIR R4 Questionnaire resources, read and checked (SPEC §13).

A file is first validated as a FHIR resource by `fhir.resources` (R4B, whose
Questionnaire is R4's): wrong field names, wrong value types and missing
required elements are refused there. Then the rules this diary relies on:
item types it can show and store, linkIds unique, `enableWhen` naming an item
that exists (and not the item itself), choice items with answer options that
carry a code, numeric limits that are numbers. Every problem names the file and
the item's linkId.

Instruments come from the study's `instruments/` folder (committed, openly
usable text) and from a content pack outside git (`DIARY_CONTENT_DIR`, for
licensed text). Pure: no database, no Flask.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from .. import clock
from ..study import StudyError
from ..text import problem

# Item types the PWA shows and the API stores; `display` and `group` take no answer.
ANSWERED = ("choice", "integer", "decimal", "boolean", "string", "text", "date")
TYPES = (*ANSWERED, "display", "group")
OPERATORS = ("exists", "=", "!=", ">", "<", ">=", "<=")
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
# An answer option's score: R4's ordinalValue extension (R5 calls it itemWeight).
ORDINAL = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
)
STRING_MAX = 2000


class InstrumentError(StudyError):
    """A questionnaire file that cannot be used; the message names the file and item."""


@dataclass(frozen=True)
class Option:
    code: str
    display: str
    score: float | None
    coded: bool = True  # a valueCoding (False: a valueString, whose text is its code)


@dataclass(frozen=True)
class Condition:
    """One enableWhen: the item is shown when `question`'s answer `operator` `answer`."""

    question: str
    operator: str
    answer: Any


@dataclass(frozen=True)
class Item:
    link_id: str
    type: str
    text: str
    required: bool
    parent: str | None = None  # the group it is in
    options: tuple[Option, ...] = ()
    enable_when: tuple[Condition, ...] = ()
    enable_behavior: str = "all"
    minimum: float | str | None = None  # a number, or an ISO date for date items
    maximum: float | str | None = None
    max_length: int | None = None

    @property
    def answered(self) -> bool:
        return self.type in ANSWERED

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class Instrument:
    id: str
    title: str
    version: str | None
    copyright: str | None
    items: tuple[Item, ...]  # document order, groups before the items in them
    resource: Mapping[str, Any]  # the FHIR Questionnaire as JSON, for the phone and exports
    source: str

    def item(self, link_id: str) -> Item | None:
        return next((i for i in self.items if i.link_id == link_id), None)

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(i.link_id for i in self.items)


def parse(data: Any, source: str) -> Instrument:
    """One Questionnaire resource (already decoded JSON) as an Instrument."""
    if not isinstance(data, dict) or data.get("resourceType") != "Questionnaire":
        raise InstrumentError(f"{source}: not a FHIR Questionnaire (resourceType)")
    try:
        resource = Questionnaire.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_pydantic_problem(data, e) for e in exc.errors()[:10])
        raise InstrumentError(f"{source}: not a valid FHIR R4 Questionnaire: {problems}") from None
    if not resource.id:
        raise InstrumentError(f"{source}: the Questionnaire needs an id (the instrument's code)")
    items: list[Item] = []
    for raw in data.get("item") or []:
        _read_item(raw, None, items, source)
    if not any(i.answered for i in items):
        raise InstrumentError(f"{source}: the Questionnaire has no item to answer")
    _check_links(items, source)
    return Instrument(
        id=resource.id,
        title=resource.title or resource.name or resource.id,
        version=resource.version,
        copyright=resource.copyright,
        items=tuple(items),
        resource=data,
        source=source,
    )


def load_file(path: Path) -> Instrument:
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise InstrumentError(f"{path}: cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstrumentError(f"{path}: not valid JSON: {exc}") from None
    return parse(data, str(path))


def load_dirs(folders: Iterable[Path]) -> dict[str, Instrument]:
    """Every `*.json` Questionnaire in the folders (missing folders are skipped); an id
    found twice is refused, naming both files."""
    found: dict[str, Instrument] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            instrument = load_file(path)
            if instrument.id in found:
                raise InstrumentError(
                    f"{path}: instrument id {instrument.id!r} is also in "
                    f"{found[instrument.id].source}"
                )
            found[instrument.id] = instrument
    return found


# --- answers ---------------------------------------------------------------------


def enabled(instrument: Instrument, answers: Mapping[str, Any]) -> set[str]:
    """The linkIds shown for these answers: enableWhen applied in document order, an item
    inside a hidden group hidden too, and a hidden item's answer counting as absent."""
    shown: set[str] = set()
    for item in instrument.items:
        if item.parent is not None and item.parent not in shown:
            continue
        if item.enable_when:
            tests = [
                _holds(c, answers.get(c.question) if c.question in shown else None)
                for c in item.enable_when
            ]
            if not (all(tests) if item.enable_behavior == "all" else any(tests)):
                continue
        shown.add(item.link_id)
    return shown


def check_answers(
    instrument: Instrument, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The answers to store (hidden items' answers dropped, text trimmed), and the
    problems by linkId: unknown items, missing required answers, wrong types, values out
    of range or not among the options."""
    problems: dict[str, list[str]] = {}
    for link_id in answers:
        item = instrument.item(link_id)
        if item is None:
            problems[link_id] = ["not an item of this questionnaire"]
        elif not item.answered:
            problems[link_id] = [f"a {item.type} item takes no answer"]
    shown = enabled(instrument, answers)
    kept: dict[str, Any] = {}
    for item in instrument.items:
        if not item.answered or item.link_id not in shown:
            continue
        value = answers.get(item.link_id)
        if isinstance(value, str) and item.type in ("string", "text"):
            value = value.strip() or None
        if value is None:
            if item.required:
                problems[item.link_id] = ["an answer is required"]
            continue
        problem = _check_value(item, value)
        if problem:
            problems[item.link_id] = [problem]
        else:
            kept[item.link_id] = value
    return kept, problems


def _check_value(item: Item, value: Any) -> str | None:
    if item.type == "choice":
        if not isinstance(value, str) or item.option(value) is None:
            codes = ", ".join(o.code for o in item.options)
            return f"must be one of the options: {codes}"
        return None
    if item.type == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if item.type in ("string", "text"):
        if not isinstance(value, str):
            return "must be text"
        trouble = problem(value)
        if trouble:
            return trouble
        limit = item.max_length or STRING_MAX
        return f"must be at most {limit} characters" if len(value) > limit else None
    if item.type == "date":
        if not isinstance(value, str) or clock.parse_date(value, bounded=False) is None:
            return "must be a date as YYYY-MM-DD"
        if item.minimum is not None and value < str(item.minimum):
            return f"must not be before {item.minimum}"
        if item.maximum is not None and value > str(item.maximum):
            return f"must not be after {item.maximum}"
        return None if clock.parse_date(value) else clock.DATE_RULE
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if isinstance(value, int) and abs(value) > 10**15:  # beyond what a float holds exactly
        return "is out of range"
    if item.type == "integer" and not float(value).is_integer():
        return "must be a whole number"
    if value != value or value in (float("inf"), float("-inf")):
        return "must be a number"
    if item.minimum is not None and value < item.minimum:
        return f"must be at least {_num(item.minimum)}"
    if item.maximum is not None and value > item.maximum:
        return f"must be at most {_num(item.maximum)}"
    return None


def _holds(condition: Condition, value: Any) -> bool:
    if condition.operator == "exists":
        return (value is not None) == bool(condition.answer)
    if value is None:
        return condition.operator == "!="
    try:
        return {
            "=": lambda: value == condition.answer,
            "!=": lambda: value != condition.answer,
            ">": lambda: value > condition.answer,
            "<": lambda: value < condition.answer,
            ">=": lambda: value >= condition.answer,
            "<=": lambda: value <= condition.answer,
        }[condition.operator]()
    except TypeError:  # an answer of another type than the condition's: not met
        return False


# --- reading the resource --------------------------------------------------------


def _read_item(raw: dict, parent: str | None, out: list[Item], source: str) -> None:
    link_id, kind = raw["linkId"], raw["type"]
    where = f"{source}: item {link_id!r}"
    if kind not in TYPES:
        raise InstrumentError(
            f"{where}: unknown item type {kind!r} (use one of {', '.join(TYPES)})"
        )
    if raw.get("repeats"):
        raise InstrumentError(f"{where}: repeating items are not supported")
    if kind != "group" and raw.get("item"):
        raise InstrumentError(f"{where}: only a group may contain items")
    if kind == "group" and not raw.get("item"):
        raise InstrumentError(f"{where}: a group needs items")
    options = tuple(_option(o, where) for o in raw.get("answerOption") or [])
    if kind == "choice" and not options:
        raise InstrumentError(
            f"{where}: a choice item needs answerOption (answerValueSet is not supported)"
        )
    if kind != "choice" and options:
        raise InstrumentError(f"{where}: only a choice item has answerOption")
    codes = [o.code for o in options]
    if len(set(codes)) != len(codes):
        raise InstrumentError(f"{where}: two answer options share a code")
    minimum, maximum = _limit(raw, MIN_VALUE, kind, where), _limit(raw, MAX_VALUE, kind, where)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InstrumentError(f"{where}: minValue is above maxValue")
    out.append(
        Item(
            link_id=link_id,
            type=kind,
            text=raw.get("text") or "",
            required=bool(raw.get("required")) and kind in ANSWERED,
            parent=parent,
            options=options,
            enable_when=tuple(_condition(c, where) for c in raw.get("enableWhen") or []),
            enable_behavior=raw.get("enableBehavior") or "all",
            minimum=minimum,
            maximum=maximum,
            max_length=raw.get("maxLength"),
        )
    )
    for child in raw.get("item") or []:
        _read_item(child, link_id, out, source)


def _option(raw: dict, where: str) -> Option:
    coding = raw.get("valueCoding")
    if coding is not None:
        if not coding.get("code"):
            raise InstrumentError(f"{where}: an answer option's valueCoding needs a code")
        code, display = coding["code"], coding.get("display") or coding["code"]
        extensions = [*(coding.get("extension") or []), *(raw.get("extension") or [])]
    elif raw.get("valueString") is not None:
        code = display = raw["valueString"]
        extensions = raw.get("extension") or []
    else:
        raise InstrumentError(f"{where}: answer options must be valueCoding or valueString")
    score = None
    for ext in extensions:
        if ext.get("url") in ORDINAL:
            score = ext.get("valueDecimal", ext.get("valueInteger"))
    return Option(code=code, display=display, score=score, coded=coding is not None)


def _condition(raw: dict, where: str) -> Condition:
    operator = raw["operator"]
    if operator not in OPERATORS:
        raise InstrumentError(f"{where}: unknown enableWhen operator {operator!r}")
    answer = next((v for k, v in raw.items() if k.startswith("answer") and k[6:]), None)
    if isinstance(answer, dict):  # answerCoding: compared by code, as answers are stored
        answer = answer.get("code")
    return Condition(question=raw["question"], operator=operator, answer=answer)


def _limit(raw: dict, url: str, kind: str, where: str) -> float | str | None:
    for ext in raw.get("extension") or []:
        if ext.get("url") != url:
            continue
        name = "minValue" if url == MIN_VALUE else "maxValue"
        if kind in ("integer", "decimal"):
            value = ext.get("valueInteger", ext.get("valueDecimal"))
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InstrumentError(f"{where}: {name} must be valueInteger or valueDecimal")
            return value
        if kind == "date":
            value = ext.get("valueDate")
            if not isinstance(value, str) or clock.parse_date(value) is None:
                raise InstrumentError(f"{where}: {name} must be a valueDate")
            return value
        raise InstrumentError(f"{where}: {name} applies to integer, decimal and date items only")
    return None


def _check_links(items: list[Item], source: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.link_id in seen:
            raise InstrumentError(f"{source}: item {item.link_id!r}: duplicate linkId")
        seen.add(item.link_id)
    by_id = {i.link_id: i for i in items}
    position = {i.link_id: n for n, i in enumerate(items)}
    for item in items:
        for c in item.enable_when:
            target = by_id.get(c.question)
            where = f"{source}: item {item.link_id!r}"
            if target is None:
                raise InstrumentError(f"{where}: enableWhen names an unknown item {c.question!r}")
            if target is item:
                raise InstrumentError(f"{where}: enableWhen names the item itself")
            if position[target.link_id] > position[item.link_id]:
                raise InstrumentError(
                    f"{where}: enableWhen names {c.question!r}, which comes after it"
                    " (a question can only depend on one asked before it)"
                )
            if not target.answered:
                raise InstrumentError(
                    f"{where}: enableWhen names {c.question!r}, a {target.type} item with no answer"
                )


def _pydantic_problem(data: Any, error: Mapping[str, Any]) -> str:
    """'item[2] (pain).type: Input should be a valid string' — the item named by linkId."""
    parts: list[str] = []
    node: Any = data
    for key in error.get("loc", ()):
        if isinstance(key, int):
            parts[-1:] = [f"{parts[-1]}[{key}]"] if parts else [f"[{key}]"]
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and node.get("linkId"):
                parts[-1] += f" ({node['linkId']})"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return f"{'.'.join(parts) or 'resource'}: {error.get('msg', 'invalid')}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
