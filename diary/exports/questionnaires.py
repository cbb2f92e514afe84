"""Questionnaire exports (SPEC §10, §13): questionnaires.csv (one row per answered or
missed occurrence, with its scores), questionnaire_items.csv (one row per answer),
questionnaire_responses.json (a FHIR R4 Bundle of QuestionnaireResponse resources),
and the SDTM QS rows of each instrument.

Scores are the stored ones, the same the API returns. Answers are written as
stored: a choice is its option's code (its display text and ordinal score
beside it in the long form); answers hidden by skip logic were never stored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..questionnaires.instruments import Instrument, Item
from ..questionnaires.scoring import value_of
from ..study import Study
from . import queries
from .tables import Table, study_day

BASE_COLUMNS = (
    "study_id",
    "site",
    "instrument",
    "occurrence_id",
    "anchor",
    "anchor_date",
    "offset_days",
    "due_date",
    "study_day",
    "window_opens",
    "window_closes",
    "status",
    "completed_at",
    "device_time",
    "synced_late",
    "version",
)


def decoded(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        r = dict(r)
        r["answers"] = json.loads(r["answers"]) if r["answers"] else {}
        r["scores"] = json.loads(r["scores"]) if r["scores"] else {}
        r["synced_late"] = bool(r["synced_late"]) if r["received_at"] else None
        out.append(r)
    return out


def score_names(study: Study) -> list[str]:
    names: list[str] = []
    for schedule in study.questionnaires:
        names += [s.name for s in schedule.scores if s.name not in names]
    return names


def responses_table(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_: Any
) -> Table:
    names = score_names(study)
    rows = []
    for r in decoded(queries.questionnaire_responses(db, site_ids, site_code, period)):
        rows.append(
            [
                r["study_id"],
                r["site"],
                r["instrument"],
                r["occurrence_id"],
                r["anchor"],
                r["anchor_date"],
                r["offset_days"],
                r["due_date"],
                study_day(r["first_injection"], r["due_date"]),
                r["window_opens"],
                r["window_closes"],
                r["status"],
                r["received_at"],
                r["device_time"],
                r["synced_late"],
                r["version"],
                *(r["scores"].get(n) for n in names),
            ]
        )
    return Table((*BASE_COLUMNS, *(f"score_{n}" for n in names)), rows)


ITEM_COLUMNS = (
    "study_id",
    "site",
    "instrument",
    "occurrence_id",
    "due_date",
    "link_id",
    "item_text",
    "answer",
    "answer_display",
    "answer_score",
)


def items_table(
    db: Database,
    study: Study,
    site_ids,
    site_code: str | None,
    *,
    instruments: Mapping[str, Instrument],
    period=None,
    **_: Any,
) -> Table:
    rows = []
    for r in decoded(queries.questionnaire_responses(db, site_ids, site_code, period)):
        instrument = instruments.get(r["instrument"])
        for link_id, value in r["answers"].items():
            item = instrument.item(link_id) if instrument else None
            option = item.option(value) if item and item.type == "choice" else None
            rows.append(
                [
                    r["study_id"],
                    r["site"],
                    r["instrument"],
                    r["occurrence_id"],
                    r["due_date"],
                    link_id,
                    item.text if item else None,
                    value,
                    option.display if option else None,
                    value_of(item, value) if item else None,
                ]
            )
    return Table(ITEM_COLUMNS, rows)


# --- FHIR ------------------------------------------------------------------------------


def bundle(
    db: Database,
    study: Study,
    site_ids,
    site_code: str | None,
    *,
    instruments: Mapping[str, Instrument],
    period=None,
) -> dict[str, Any]:
    """A FHIR R4 Bundle (collection) with one QuestionnaireResponse per answered one."""
    entries = []
    for r in decoded(queries.questionnaire_responses(db, site_ids, site_code, period)):
        instrument = instruments.get(r["instrument"])
        if r["status"] != "completed" or instrument is None:
            continue
        resource = response_resource(study, instrument, r)
        entries.append({"fullUrl": f"urn:uuid:{_uuid(study, r)}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def response_resource(study: Study, instrument: Instrument, r: dict[str, Any]) -> dict[str, Any]:
    canonical = instrument.resource.get("url") or f"Questionnaire/{instrument.id}"
    version = instrument.version
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"qr-{r['occurrence_id']}",
        "questionnaire": f"{canonical}|{version}" if version else canonical,
        "status": "completed" if r["version"] == 1 else "amended",
        "subject": {"identifier": {"system": f"urn:study:{study.id}", "value": r["study_id"]}},
        "authored": r["device_time"],
        "item": _items(instrument, None, r["answers"]),
    }


def _items(instrument: Instrument, parent: str | None, answers: Mapping[str, Any]) -> list[dict]:
    out = []
    for item in instrument.items:
        if item.parent != parent:
            continue
        if item.type == "group":
            children = _items(instrument, item.link_id, answers)
            if children:
                out.append({"linkId": item.link_id, "text": item.text, "item": children})
        elif item.link_id in answers:
            out.append(
                {
                    "linkId": item.link_id,
                    "text": item.text,
                    "answer": [_answer(item, answers[item.link_id])],
                }
            )
    return out


def _answer(item: Item, value: Any) -> dict[str, Any]:
    if item.type == "choice":
        option = item.option(value)
        if option is not None and option.coded:
            return {"valueCoding": {"code": value, "display": option.display}}
        return {"valueString": value}
    key = {
        "boolean": "valueBoolean",
        "integer": "valueInteger",
        "decimal": "valueDecimal",
        "date": "valueDate",
    }.get(item.type, "valueString")
    return {key: int(value) if item.type == "integer" else value}


def _uuid(study: Study, r: dict[str, Any]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{study.id}/questionnaire/{r['occurrence_id']}"))


# --- SDTM QS ---------------------------------------------------------------------------


def testcd(link_id: str, taken: set[str]) -> str:
    """An SDTM QSTESTCD from a linkId: capitals and digits, at most 8, unique."""
    base = re.sub(r"[^A-Z0-9]", "", link_id.upper())[:8] or "ITEM"
    if base[0].isdigit():
        base = f"Q{base}"[:8]
    code, n = base, 1
    while code in taken:
        suffix = str(n)
        code, n = f"{base[: 8 - len(suffix)]}{suffix}", n + 1
    taken.add(code)
    return code


def testcds(instrument: Instrument, score_names: Iterable[str]) -> dict[str, str]:
    """Every item's and score's QSTESTCD, assigned once per instrument in document
    order, so a code names the same question in every record."""
    taken: set[str] = set()
    codes = {
        item.link_id: testcd(item.link_id, taken) for item in instrument.items if item.answered
    }
    for name in score_names:
        codes.setdefault(name, testcd(name, taken))
    return codes


def qs_rows(
    study: Study, instrument: Instrument, r: dict[str, Any], usubjid: str, sdtm_day
) -> list[dict[str, Any]]:
    """One QS record per stored answer and per score of a completed questionnaire."""
    names = [
        s.name for q in study.questionnaires if q.instrument == instrument.id for s in q.scores
    ]
    codes = testcds(instrument, names)
    category = instrument.id.upper().replace("-", "")
    when = r["device_time"]
    # The participant's local date of the answers (the questionnaire's zone), as --DY counts.
    local = clock.local_date(clock.parse_iso(when), r["timezone"]).isoformat()
    day = sdtm_day(r["first_injection"], local)
    common = {"STUDYID": study.id, "DOMAIN": "QS", "USUBJID": usubjid, "QSCAT": category}
    rows = []
    for item in instrument.items:
        if item.link_id not in r["answers"]:
            continue
        value = r["answers"][item.link_id]
        option = item.option(value) if item.type == "choice" else None
        score = value_of(item, value)
        rows.append(
            {
                **common,
                "QSTESTCD": codes[item.link_id],
                "QSTEST": (item.text or item.link_id)[:40],
                "QSORRES": option.display if option else _text(value),
                "QSSTRESC": _text(value if score is None else score),
                "QSSTRESN": score,
                "QSDTC": when,
                "QSDY": day,
                "_synced_late": r["synced_late"],
            }
        )
    for name, value in r["scores"].items():
        rows.append(
            {
                **common,
                "QSTESTCD": codes[name],
                "QSTEST": f"{instrument.title} score {name}"[:40],
                "QSORRES": _text(value),
                "QSSTRESC": _text(value),
                "QSSTRESN": value,
                "QSDTC": when,
                "QSDY": day,
                "_synced_late": r["synced_late"],
            }
        )
    return rows


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
