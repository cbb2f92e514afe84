import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diary.mme import DEFAULT_FACTORS, Dose, MMEResult, daily_mme


@pytest.mark.parametrize(
    ("doses", "expected"),
    [
        ([Dose("oxycodone", 5, 6)], 45),
        ([Dose("hydrocodone", 10, 4)], 40),
        ([Dose("tramadol", 50, 4)], 40),
        ([Dose("fentanyl_patch", 25, 1)], 60),
        ([Dose("morphine", 15, 2), Dose("oxycodone", 10, 2)], 60),
        ([Dose("codeine", 30, 3)], 13.5),
        ([Dose("methadone", 2.5, 3)], 35.25),
    ],
)
def test_worked_cases_give_cdc_mme(doses, expected):
    result = daily_mme(doses, DEFAULT_FACTORS)
    assert result == MMEResult(mme=expected, unconverted=())
    assert not result.incomplete


def test_buprenorphine_alone_is_unknown_not_zero():
    result = daily_mme([Dose("buprenorphine", 8, 2)], DEFAULT_FACTORS)
    assert result.mme is None
    assert result.unconverted == ("buprenorphine",)
    assert result.incomplete


def test_buprenorphine_with_oxycodone_counts_oxycodone_and_marks_incomplete():
    result = daily_mme([Dose("oxycodone", 10, 2), Dose("buprenorphine", 2, 1)], DEFAULT_FACTORS)
    assert result.mme == 30
    assert result.unconverted == ("buprenorphine",)
    assert result.incomplete


def test_unconverted_drugs_are_listed_once_and_sorted():
    factors = {**DEFAULT_FACTORS, "zz_new": None}
    doses = [Dose("zz_new", 1, 1), Dose("buprenorphine", 2, 1), Dose("zz_new", 1, 2)]
    assert daily_mme(doses, factors).unconverted == ("buprenorphine", "zz_new")


def test_day_without_doses_is_zero_mme():
    result = daily_mme([], DEFAULT_FACTORS)
    assert result == MMEResult(mme=0.0, unconverted=())
    assert not result.incomplete


def test_unknown_drug_is_a_programming_error():
    with pytest.raises(KeyError):
        daily_mme([Dose("aspirin", 500, 2)], DEFAULT_FACTORS)


def test_result_is_rounded_without_float_noise():
    # 0.1 × 3 × 1.5 is 0.45000000000000007 in binary floating point.
    assert daily_mme([Dose("oxycodone", 0.1, 3)], DEFAULT_FACTORS).mme == 0.45


@pytest.mark.parametrize("drug", sorted(DEFAULT_FACTORS))
def test_every_formulary_drug_converts_by_its_factor(drug):
    factor = DEFAULT_FACTORS[drug]
    result = daily_mme([Dose(drug, 10, 2)], DEFAULT_FACTORS)
    if factor is None:
        assert result == MMEResult(mme=None, unconverted=(drug,))
    else:
        assert result == MMEResult(mme=round(20 * factor, 2), unconverted=())


doses_strategy = st.lists(
    st.builds(
        Dose,
        drug=st.sampled_from(sorted(DEFAULT_FACTORS)),
        strength=st.floats(min_value=0.1, max_value=1000),
        units=st.floats(min_value=0.5, max_value=50),
    ),
    max_size=8,
)


@settings(database=None)  # keep the test from writing a .hypothesis directory
@given(doses_strategy)
def test_mme_is_the_rounded_sum_over_convertible_doses(doses):
    result = daily_mme(doses, DEFAULT_FACTORS)
    terms = [
        d.strength * d.units * DEFAULT_FACTORS[d.drug]
        for d in doses
        if DEFAULT_FACTORS[d.drug] is not None
    ]
    if doses and not terms:
        assert result.mme is None
    else:
        # The app rounds half up in decimal; float round() may round a half the other
        # way: at most one cent apart (a hair more, in binary).
        assert result.mme == pytest.approx(round(math.fsum(terms), 2), abs=0.01 + 1e-9)
    assert set(result.unconverted) == {d.drug for d in doses if DEFAULT_FACTORS[d.drug] is None}
    assert list(result.unconverted) == sorted(set(result.unconverted))
    assert result.incomplete == bool(result.unconverted)
