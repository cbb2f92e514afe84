"""Questionnaire exports: the CSV scores are the API's, the FHIR Bundle validates, SDTM QS
has a record per answer and score; all site-scoped (SPEC §10, §13)."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime

import pytest
import time_machine
from fhir.resources.R4B.bundle import Bundle

from diary import clock
from diary.jobs import questionnaires as schedule_job

DAY0 = date(2026, 3, 1)
ALL = {"walk": "none", "aid": True, "aid_kind": "a stick", "days_off": 3, "hours": 2.5}


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def answer(answers):
    return {
        "client_id": str(uuid.uuid4()),
        "answers": answers,
        "device_time": clock.iso(clock.now()),
    }


@pytest.fixture
def answered(participant_client):
    """LBP-001 (SITE-A) answered the day-0 test questionnaire and the PEG; LBP-101 is
    at SITE-B."""
    with at(2026, 3, 1, 15):
        phone = participant_client("LBP-001", injection_date=DAY0)
        other = participant_client("LBP-101", site="SITE-B", injection_date=DAY0)
    results = {}
    with at(2026, 3, 1, 16):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
        first = next(q for q in listed if q["instrument"] == "all-types")
        results["all-types"] = phone.put(
            f"questionnaires/{first['id']}/response", answer(ALL)
        ).get_json()
        theirs = next(
            q
            for q in other.get("questionnaires").get_json()["questionnaires"]
            if q["instrument"] == "all-types"
        )
        assert other.put(f"questionnaires/{theirs['id']}/response", answer(ALL)).status_code == 201
    with at(2026, 3, 8, 16):
        peg = next(q for q in listed if q["instrument"] == "peg")
        body = answer({"pain": "6", "enjoyment": "5", "activity": "4"})
        results["peg"] = phone.put(f"questionnaires/{peg['id']}/response", body).get_json()
    return results


def download(client, name):
    response = client.get(f"staff/exports/{name}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def rows(client, name):
    return list(csv.DictReader(io.StringIO(download(client, name).get_data(as_text=True))))


def test_questionnaires_csv_scores_equal_the_apis(answered, staff_client):
    with at(2026, 3, 9, 16):
        coordinator = staff_client("coordinator", ("SITE-A",))
        table = rows(coordinator, "questionnaires.csv")
    done = {r["instrument"]: r for r in table if r["status"] == "completed"}
    assert {r["study_id"] for r in table} == {"LBP-001"}  # SITE-B stays out
    assert float(done["peg"]["score_peg_score"]) == answered["peg"]["scores"]["peg_score"] == 5.0
    assert (
        float(done["all-types"]["score_effort"]) == answered["all-types"]["scores"]["effort"] == 5.0
    )
    assert done["peg"]["study_day"] == "7" and done["peg"]["synced_late"] == "false"


def test_items_csv_has_one_row_per_stored_answer_with_its_text_and_score(answered, staff_client):
    with at(2026, 3, 9, 16):
        coordinator = staff_client("coordinator", ("SITE-A",))
        table = rows(coordinator, "questionnaire_items.csv")
    peg = {r["link_id"]: r for r in table if r["instrument"] == "peg"}
    assert set(peg) == {"pain", "enjoyment", "activity"}
    assert peg["pain"]["answer"] == "6" and float(peg["pain"]["answer_score"]) == 6
    assert peg["pain"]["item_text"].startswith("What number best describes your pain")
    walk = next(r for r in table if r["link_id"] == "walk")
    assert (walk["answer"], walk["answer_display"]) == ("none", "Not at all")


def test_the_fhir_bundle_validates_and_carries_each_answer(answered, staff_client):
    with at(2026, 3, 9, 16):
        coordinator = staff_client("coordinator", ("SITE-A",))
        response = download(coordinator, "questionnaire_responses.json")
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    data = json.loads(response.get_data())
    bundle = Bundle.model_validate(data)  # the same FHIR library that checks instruments
    assert len(bundle.entry) == 2
    resources = {e["resource"]["questionnaire"].split("|")[0]: e["resource"] for e in data["entry"]}
    peg = resources["Questionnaire/peg"]
    assert peg["subject"]["identifier"]["value"] == "LBP-001"
    assert peg["item"][0]["answer"][0]["valueCoding"]["code"] == "6"
    every = resources["Questionnaire/all-types"]
    work = next(i for i in every["item"] if i["linkId"] == "work")
    assert [i["linkId"] for i in work["item"]] == ["days_off", "hours"]
    assert work["item"][0]["answer"] == [{"valueInteger": 3}]
    assert any(
        i["answer"] == [{"valueBoolean": True}] for i in every["item"] if i["linkId"] == "aid"
    )


def test_sdtm_qs_has_a_record_per_answer_and_score(answered, staff_client):
    with at(2026, 3, 9, 16):
        coordinator = staff_client("coordinator", ("SITE-A",))
        package = zipfile.ZipFile(io.BytesIO(download(coordinator, "sdtm.zip").get_data()))
    qs = list(csv.DictReader(io.StringIO(package.read("QS.csv").decode())))
    peg = {r["QSTESTCD"]: r for r in qs if r["QSCAT"] == "PEG"}
    assert set(peg) == {"PAIN", "ENJOYMEN", "ACTIVITY", "PEGSCORE"}
    assert float(peg["PEGSCORE"]["QSSTRESN"]) == 5 and float(peg["PAIN"]["QSSTRESN"]) == 6
    assert peg["PAIN"]["QSDY"] == "8"  # SDTM: day 1 is the first injection
    seqs = [int(r["QSSEQ"]) for r in qs if r["USUBJID"].endswith("LBP-001")]
    assert seqs == list(range(1, len(seqs) + 1))
    supp = list(csv.DictReader(io.StringIO(package.read("SUPPQS.csv").decode())))
    peg_seq = peg["PAIN"]["QSSEQ"]
    assert [
        s["QNAM"] for s in supp if s["IDVARVAL"] == peg_seq and s["USUBJID"].endswith("LBP-001")
    ] == ["SYNCLATE"]


def test_adherence_counts_closed_questionnaires_answered_or_not(answered, staff_client, app, db):
    when = datetime(2026, 3, 20, 16, tzinfo=UTC)
    with time_machine.travel(when, tick=False), app.app_context():
        schedule_job.run(db, now=when, study=app.extensions["diary.study"], config=app.config)
    with at(2026, 3, 20, 16):
        coordinator = staff_client("coordinator", ("SITE-A",))
        report = coordinator.get("staff/adherence").get_json()
        table = rows(coordinator, "adherence.csv")
    # closed by 20 March: the day-0 and day-14 test questionnaires and the day-7 PEG
    [mine] = report["participants"]
    assert mine["questionnaires"] == {
        "expected": 3,
        "entered": 2,
        "entered_on_time": 2,
        "entered_synced_late": 0,
        "rate": 0.6667,
    }
    assert report["sites"][0]["questionnaires"]["expected"] == 3
    assert (table[0]["questionnaires_expected"], table[0]["questionnaires_answered"]) == ("3", "2")


def test_qs_codes_are_fixed_per_instrument_and_the_study_day_is_local():
    from questionnaire_support import ROOT

    from diary.exports import sdtm
    from diary.exports.questionnaires import qs_rows, testcds
    from diary.questionnaires.instruments import parse
    from diary.study import load

    items = [{"linkId": f"question{i}", "type": "integer", "text": f"Q{i}"} for i in (1, 2)]
    instrument = parse(
        {"resourceType": "Questionnaire", "id": "two", "status": "draft", "item": items}, "two"
    )
    assert testcds(instrument, []) == {"question1": "QUESTION", "question2": "QUESTIO1"}
    row = {
        "answers": {"question2": 3},  # question1 skipped: question2 keeps its code
        "scores": {},
        "device_time": "2026-04-01T01:30:00.000000+00:00",  # 20:30 on 31 March in Chicago
        "timezone": "America/Chicago",
        "first_injection": "2026-03-01",
        "synced_late": False,
    }
    [record] = qs_rows(load(ROOT / "study.toml"), instrument, row, "S-1", sdtm.sdtm_day)
    assert record["QSTESTCD"] == "QUESTIO1"
    assert record["QSDY"] == 31  # 31 March is SDTM day 31 when 1 March is day 1
