"""Scores from the methods in study.toml, with worked examples (SPEC §13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from questionnaire_support import CONTENT, ROOT

from diary.questionnaires import scoring
from diary.questionnaires.instruments import load_file, parse
from diary.study import Score, StudyError
from diary.study import parse as parse_study

PEG = load_file(ROOT / "instruments" / "peg.json")
ORD = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def five_point(n_items: int) -> object:
    """An ODI- or PROMIS-like instrument: n items scored 0–4 (ODI: 0–5)."""
    options = [
        {"valueCoding": {"code": str(v), "extension": [{"url": ORD, "valueDecimal": v}]}}
        for v in range(5)
    ]
    items = [
        {"linkId": f"q{i}", "type": "choice", "text": f"Q{i}", "answerOption": options}
        for i in range(1, n_items + 1)
    ]
    return parse(
        {"resourceType": "Questionnaire", "id": "five", "status": "draft", "item": items}, "five"
    )


def test_peg_is_the_mean_of_its_three_items():
    score = Score("peg_score", "mean", max_missing=0)
    assert scoring.compute(score, PEG, {"pain": "7", "enjoyment": "5", "activity": "6"}) == 6.0
    assert scoring.compute(score, PEG, {"pain": "7", "enjoyment": "4", "activity": "6"}) == 5.7
    # one item missing and none allowed: no score, never a guess
    assert scoring.compute(score, PEG, {"pain": "7", "enjoyment": "4"}) is None


def test_mean_over_the_answered_items_when_missing_items_are_allowed():
    score = Score("peg_score", "mean", max_missing=1)
    assert scoring.compute(score, PEG, {"pain": "7", "enjoyment": "4"}) == 5.5
    assert scoring.compute(score, PEG, {"pain": "7"}) is None


def test_a_sum_is_prorated_to_every_item():
    instrument = five_point(4)
    score = Score("total", "sum", max_missing=1, digits=1)
    assert scoring.compute(score, instrument, {"q1": "1", "q2": "2", "q3": "3", "q4": "4"}) == 10
    # 1 + 2 + 4 over three of four items → 7 × 4 / 3 = 9.33…
    assert scoring.compute(score, instrument, {"q1": "1", "q2": "2", "q4": "4"}) == 9.3
    assert scoring.compute(score, instrument, {"q1": "1", "q2": "2"}) is None


def test_percent_of_max_leaves_missing_items_out_of_the_denominator():
    """The ODI rule: total / (highest possible of the items answered) × 100."""
    instrument = five_point(10)
    score = Score("odi", "percent_of_max", max_missing=1, digits=0)
    answers = {f"q{i}": "2" for i in range(1, 11)}  # 20 of 40
    assert scoring.compute(score, instrument, answers) == 50
    del answers["q10"]  # 18 of 36
    assert scoring.compute(score, instrument, answers) == 50
    answers["q1"] = "4"  # 20 of 36 = 55.6 → 56
    assert scoring.compute(score, instrument, answers) == 56


TABLE = (
    (0, 30.0),
    (1, 35.5),
    (2, 39.0),
    (3, 42.2),
    (4, 44.8),
    (5, 47.0),
    (6, 49.1),
    (7, 51.2),
    (8, 53.4),
    (9, 56.0),
    (10, 58.7),
    (11, 61.9),
    (12, 66.0),
)


def test_a_lookup_maps_the_prorated_raw_sum_to_a_t_score():
    """PROMIS style: raw sum (prorated and rounded half up when an item is missing) → T."""
    instrument = five_point(3)
    score = Score("t", "lookup", max_missing=1, table=TABLE)
    assert scoring.check(score, instrument) is None
    assert scoring.compute(score, instrument, {"q1": "1", "q2": "2", "q3": "3"}) == 49.1
    # 1 + 2 over two of three items → 4.5 → 5 (half up) → 47.0
    assert scoring.compute(score, instrument, {"q1": "1", "q2": "2"}) == 47.0
    assert scoring.compute(score, instrument, {"q1": "1"}) is None


def test_a_lookup_table_must_cover_every_raw_score():
    instrument = five_point(4)  # raw 0–16, the table stops at 12
    problem = scoring.check(Score("t", "lookup", table=TABLE), instrument)
    assert problem == "the table must cover raw scores 0 to 16 (it has 0 to 12)"


@given(
    st.lists(st.integers(0, 4), min_size=3, max_size=3),
    st.integers(0, 2),
    st.integers(0, 4),
    st.sampled_from([None, 0, 1, 2]),
)
def test_a_lookup_score_never_falls_as_the_raw_score_rises(values, which, more, missing):
    """Raising one answer never lowers the T-score, with or without a missing item."""
    instrument = five_point(3)
    score = Score("t", "lookup", max_missing=1, table=TABLE)
    answers = {f"q{i + 1}": str(v) for i, v in enumerate(values)}
    raised = dict(answers, **{f"q{which + 1}": str(max(values[which], more))})
    if missing is not None and missing != which:
        answers.pop(f"q{missing + 1}")
        raised.pop(f"q{missing + 1}")
    low, high = (
        scoring.compute(score, instrument, answers),
        scoring.compute(score, instrument, raised),
    )
    assert low is not None and high is not None
    assert high >= low


def test_the_test_instruments_effort_score_counts_a_choice_and_a_number():
    instrument = load_file(CONTENT / "all-types.json")
    score = Score("effort", "sum", items=("walk", "days_off"), max_missing=1, digits=1)
    assert scoring.check(score, instrument) is None
    assert scoring.compute(score, instrument, {"walk": "none", "days_off": 3}) == 5
    assert scoring.compute(score, instrument, {"walk": "none"}) == 4  # 2 prorated to 2 items


def test_the_study_file_refuses_a_table_that_falls():

    text = (ROOT / "study.toml").read_text() + (
        '\n[[questionnaires]]\ninstrument = "peg"\nanchor = "enrollment"\noffsets_days = [0]\n'
        'window_before_days = 0\nwindow_after_days = 1\n[[questionnaires.scores]]\nname = "t"\n'
        'method = "lookup"\ntable = [[0, 40], [1, 39]]\n'
    )
    with pytest.raises(StudyError, match="must not decrease"):
        parse_study(text, "study.toml")
