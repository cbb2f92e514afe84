"""Instruments are FHIR R4 Questionnaires, validated at start-up; answers are checked
against them item by item (SPEC §13)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from questionnaire_support import CONTENT, ROOT, study_folder

from diary import create_app
from diary.questionnaires import catalog
from diary.questionnaires.instruments import (
    InstrumentError,
    check_answers,
    enabled,
    load_file,
    parse,
)
from diary.study import StudyError, load

ALL_TYPES = json.loads((CONTENT / "all-types.json").read_text())


def test_the_shipped_instruments_load_and_name_their_licence():
    found = catalog.for_study(load(ROOT / "study.toml"))
    assert set(found) == {"peg", "pgic"}
    for instrument in found.values():
        assert instrument.copyright  # each shipped file says where its text comes from
        assert all(o.score is not None for i in instrument.items for o in i.options)
    assert [i.link_id for i in found["peg"].items] == ["pain", "enjoyment", "activity"]


def test_the_test_instrument_has_every_item_type():
    instrument = load_file(CONTENT / "all-types.json")
    assert {i.type for i in instrument.items} == {
        "display",
        "choice",
        "boolean",
        "string",
        "group",
        "integer",
        "decimal",
        "date",
        "text",
    }
    assert instrument.item("days_off").parent == "work"
    assert (instrument.item("days_off").minimum, instrument.item("days_off").maximum) == (0, 7)


def broken(change) -> dict:
    data = copy.deepcopy(ALL_TYPES)
    change(data)
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["item"][1].update(type="slider"), "item 'walk': unknown item type 'slider'"),
        (lambda d: d["item"][2].update(linkId="walk"), "item 'walk': duplicate linkId"),
        (
            lambda d: d["item"][3]["enableWhen"][0].update(question="nope"),
            "item 'aid_kind': enableWhen names an unknown item 'nope'",
        ),
        (
            lambda d: d["item"][2]["enableWhen"][0].update(question="aid_kind"),
            "item 'aid': enableWhen names 'aid_kind', which comes after it",
        ),
        (lambda d: d["item"][1].update(required="perhaps"), "item[1] (walk).required"),
        (lambda d: d["item"][1].update(answerOption=[]), "item 'walk': a choice item needs"),
        (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda d: d.pop("id"), "needs an id"),
        (lambda d: d["item"][4]["item"][0].pop("linkId"), "item[4] (work).item[0].linkId"),
    ],
)
def test_a_bad_instrument_is_refused_naming_the_file_and_the_item(change, message):
    data = broken(change)
    with pytest.raises(InstrumentError) as refused:
        parse(data, "content/bad.json")
    assert str(refused.value).startswith("content/bad.json: ")
    assert message in str(refused.value)


def test_start_up_refuses_a_bad_file_in_the_content_pack(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "all-types.json").write_text(
        json.dumps(broken(lambda d: d["item"][1].update(type="x")))
    )
    with pytest.raises(StudyError, match=r"pack/all-types.json: item 'walk': unknown item type"):
        create_app(_config(tmp_path, study_folder(tmp_path), pack))


def test_start_up_refuses_a_schedule_naming_an_unknown_instrument(tmp_path):
    study = study_folder(tmp_path)  # schedules all-types, but no content pack is given
    with pytest.raises(StudyError, match=r"questionnaires\[2\]: unknown instrument 'all-types'"):
        create_app(_config(tmp_path, study, None))


def test_start_up_refuses_a_score_its_instrument_cannot_give(tmp_path):
    extra = (
        '\n[[questionnaires]]\ninstrument = "all-types"\nanchor = "enrollment"\n'
        "offsets_days = [0]\nwindow_before_days = 0\nwindow_after_days = 1\n"
        '[[questionnaires.scores]]\nname = "bad"\nmethod = "sum"\nitems = ["comment"]\n'
    )
    with pytest.raises(StudyError, match=r"score 'bad': item 'comment' is a text item"):
        create_app(_config(tmp_path, study_folder(tmp_path, extra), CONTENT))


def _config(tmp_path: Path, study: Path, content: Path | None) -> dict:
    return {
        "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
        "DIARY_STUDY_FILE": str(study),
        "DIARY_CONTENT_DIR": str(content) if content else None,
    }


# --- answers -----------------------------------------------------------------------

INSTRUMENT = load_file(CONTENT / "all-types.json")
COMPLETE = {
    "walk": "some",
    "aid": True,
    "aid_kind": "  a stick ",
    "days_off": 2,
    "hours": 3.5,
    "last_visit": "2026-02-01",
    "comment": "",
}


def test_a_complete_answer_set_is_kept_trimmed():
    kept, problems = check_answers(INSTRUMENT, COMPLETE)
    assert problems == {}
    assert kept == {
        "walk": "some",
        "aid": True,
        "aid_kind": "a stick",
        "days_off": 2,
        "hours": 3.5,
        "last_visit": "2026-02-01",
    }


def test_skip_logic_hides_items_and_their_answers_are_not_stored():
    answers = {**COMPLETE, "walk": "far"}  # walking far: no walking-aid questions
    assert {"aid", "aid_kind"} - enabled(INSTRUMENT, answers) == {"aid", "aid_kind"}
    kept, problems = check_answers(INSTRUMENT, answers)
    assert problems == {}
    assert "aid" not in kept and "aid_kind" not in kept
    # a hidden required item is not required; a shown one is
    assert check_answers(INSTRUMENT, {"walk": "far", "days_off": 0})[1] == {}
    assert check_answers(INSTRUMENT, {"walk": "none", "days_off": 0})[1] == {
        "aid": ["an answer is required"]
    }
    # a chain: no aid → no "which aid" even when the text was typed earlier
    kept, _ = check_answers(INSTRUMENT, {**COMPLETE, "aid": False})
    assert "aid_kind" not in kept


@pytest.mark.parametrize(
    "link_id, value, problem",
    [
        ("walk", "fast", "must be one of the options: far, some, none"),
        ("aid", "yes", "must be true or false"),
        ("days_off", 8, "must be at most 7"),
        ("days_off", -1, "must be at least 0"),
        ("days_off", 1.5, "must be a whole number"),
        ("days_off", True, "must be a number"),
        ("hours", "3", "must be a number"),
        ("hours", 24.5, "must be at most 24"),
        ("last_visit", "1999-12-31", "must not be before 2000-01-01"),
        ("last_visit", "2026-02-30", "must be a date as YYYY-MM-DD"),
        ("aid_kind", "x" * 81, "must be at most 80 characters"),
        ("intro", "hello", "a display item takes no answer"),
        ("work", 1, "a group item takes no answer"),
        ("shoe_size", 42, "not an item of this questionnaire"),
    ],
)
def test_a_wrong_answer_is_named_by_its_link_id(link_id, value, problem):
    _, problems = check_answers(INSTRUMENT, {**COMPLETE, link_id: value})
    assert problems == {link_id: [problem]}
