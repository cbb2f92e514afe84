"""Each MME factor of the formulary names its source (SPEC §3, §5)."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from diary.study import StudyError, load, parse

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "study.toml").read_text()
CDC_2022 = {
    "codeine": 0.15,
    "fentanyl_patch": 2.4,
    "hydrocodone": 1,
    "hydromorphone": 5,
    "methadone": 4.7,
    "morphine": 1,
    "oxycodone": 1.5,
    "oxymorphone": 3,
    "tapentadol": 0.4,
    "tramadol": 0.2,
}


def without_source(code: str) -> str:
    """The seed protocol with `code`'s factor_source line taken out."""
    block = re.search(rf'\[\[formulary\]\]\ncode = "{code}"\n(?:[^\[].*\n)*', GOOD).group(0)
    assert "factor_source = " in block
    return GOOD.replace(block, re.sub(r"factor_source = .*\n", "", block), 1)


def test_the_default_factors_are_the_cdc_2022_table_each_with_its_source():
    study = load(ROOT / "study.toml")
    drugs = {d.code: d for d in study.formulary}
    for code, factor in CDC_2022.items():
        assert drugs[code].factor == factor
        assert "Clinical Practice Guideline for Prescribing Opioids for Pain" in (
            drugs[code].factor_source
        )
        assert "2022" in drugs[code].factor_source


def test_dihydrocodeine_names_the_older_cdc_analytic_file_not_the_2022_table():
    dihydrocodeine = load(ROOT / "study.toml").drug("dihydrocodeine")
    assert dihydrocodeine.factor == 0.25
    assert "analytic file" in dihydrocodeine.factor_source
    assert "not in the CDC 2022 guideline table" in dihydrocodeine.factor_source


def test_buprenorphine_has_no_factor_and_says_why():
    buprenorphine = load(ROOT / "study.toml").drug("buprenorphine")
    assert buprenorphine.factor is None
    assert buprenorphine.factor_source.startswith("Not converted")


def test_a_factor_without_a_source_is_refused_naming_the_key_and_the_drug():
    with pytest.raises(StudyError) as error:
        parse(without_source("dihydrocodeine"), "study.toml")
    message = str(error.value)
    assert "formulary.1.factor_source" in message and "dihydrocodeine" in message


def test_an_empty_source_is_no_source():
    text = GOOD.replace('factor = 1.5\nfactor_source = "', 'factor = 1.5\nfactor_source = ""\n#', 1)
    with pytest.raises(StudyError, match=r"formulary\.7\.factor_source"):
        parse(text, "study.toml")


def test_a_drug_without_a_factor_needs_no_source():
    study = parse(without_source("buprenorphine"), "study.toml")
    assert study.drug("buprenorphine").factor_source is None


def test_staff_see_each_factor_with_its_source_and_participants_see_neither(
    staff_client, participant_client
):
    protocol = staff_client().get("staff/protocol").get_json()
    sources = {d["code"]: d["factor_source"] for d in protocol["formulary"]}
    assert "2022" in sources["oxycodone"] and "analytic file" in sources["dihydrocodeine"]
    assert sources["buprenorphine"].startswith("Not converted")
    phone = participant_client("LBP-001")
    drug = phone.get("protocol").get_json()["formulary"][0]
    assert "factor" not in drug and "factor_source" not in drug


def test_the_sdtm_dictionary_lists_each_factor_with_its_source(staff_client):
    response = staff_client("investigator", ("SITE-A",)).get("staff/exports/sdtm.zip")
    define = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("define.json"))
    factors = {f["drug"]: f for f in define["mme_conversion_factors"]}
    assert factors["dihydrocodeine"]["factor"] == 0.25
    assert "analytic file" in factors["dihydrocodeine"]["source"]
    assert factors["buprenorphine"]["factor"] is None
    assert "2022" in factors["tramadol"]["source"]
