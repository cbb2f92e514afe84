"""CSV exports and the SDTM package (SPEC §10): they round-trip what the API shows."""

import csv
import io
import json
import logging
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

CHICAGO = ZoneInfo("America/Chicago")
NOTE = 'Slept badly, "worse" after the walk;\nbetter by evening, 5/10'


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def study(participant_client, staff_client):
    """LBP-001: a fever on day 0 (resolved as AE grade 2, not serious), opioids and a note
    on day 1, an AE from an interview; LBP-002 at the same site with no entries."""
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
        participant_client("LBP-002", injection_date=date(2026, 3, 1))
    with at(2026, 3, 1, 21, 0):
        assert (
            phone.put(
                "entries/2026-03-01",
                entry(back_pain=6, symptoms=["fever", "nausea"], temperature_c=38.4),
            ).status_code
            == 201
        )
    with at(2026, 3, 2, 20, 0):
        doses = [
            {"drug": "oxycodone", "strength": 5, "units": 3},
            {"drug": "fentanyl_patch", "strength": 12, "units": 1},
            {"drug": "buprenorphine", "strength": 2, "units": 1},
        ]
        assert (
            phone.put(
                "entries/2026-03-02", entry(back_pain=7, leg_pain=5, doses=doses, note=NOTE)
            ).status_code
            == 201
        )
    with at(2026, 3, 4, 10, 0):
        investigator = staff_client("investigator", ("SITE-A",))
        flags = investigator.get("staff/flags").get_json()["flags"]
        # Day 1's opioids may raise flags of their own; the fever is the one resolved.
        flag = next(f for f in flags if f["kind"] == "red_flag_symptom")
        resolved = investigator.post(
            f"staff/flags/{flag['id']}/resolve",
            {
                "outcome": "adverse_event",
                "ctcae_grade": 2,
                "serious": False,
                "related": "possible",
                "note": "seen in clinic; paracetamol",
            },
        )
        assert resolved.status_code == 200
        recorded = investigator.post(
            "staff/participants/LBP-001/adverse-events",
            {
                "source": "interview",
                "term": "Injection site bruising",
                "onset_date": "2026-03-02",
                "ctcae_grade": 1,
                "serious": False,
                "related": "probable",
            },
        )
        assert recorded.status_code == 201
    return investigator


def download(client, name, **query):
    path = f"staff/exports/{name}"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    with at(2026, 3, 4, 10, 0):
        return client.get(path)


def test_entries_csv_round_trips_the_entries_the_api_returns(study):
    exported = rows(download(study, "entries.csv"))
    with at(2026, 3, 4, 10, 0):
        api = study.get("staff/participants/LBP-001/entries").get_json()["entries"]
    assert [r["study_id"] for r in exported] == ["LBP-001", "LBP-001"]
    for row, shown in zip(exported, api, strict=True):
        assert row["date"] == shown["date"]
        assert int(row["back_pain"]) == shown["back_pain"]
        assert int(row["leg_pain"]) == shown["leg_pain"]
        assert float(row["mme"]) == shown["mme"]
        assert (row["mme_incomplete"] == "true") == bool(shown["mme_unconverted"])
        assert row["mme_unconverted"].split(";") == (shown["mme_unconverted"] or [""])
        assert (row["symptoms"].split(";") if row["symptoms"] else []) == shown["symptoms"]
        assert (float(row["temperature_c"]) if row["temperature_c"] else None) == shown[
            "temperature_c"
        ]
        assert (row["note"] or None) == shown["note"]
        assert (row["late"] == "true") == shown["late"]
        assert (row["synced_late"] == "true") == shown["synced_late"]
        assert int(row["version"]) == shown["version"]
        assert row["entered_by"] == shown["entered_by"]
        assert instant(row["device_time"]) == instant(shown["device_time"])
        assert instant(row["received_at"]) == instant(shown["received_at"])
        assert int(row["dose_count"]) == len(shown["doses"])
    day1 = exported[1]
    assert day1["note"] == NOTE  # commas, quotes and the line break survive
    assert day1["study_day"] == "1" and day1["mme"] == "51.3"  # 5*3*1.5 + 12*2.4
    assert day1["mme_incomplete"] == "true" and day1["mme_unconverted"] == "buprenorphine"


def test_doses_csv_has_one_row_per_dose_with_its_mme(study):
    exported = rows(download(study, "doses.csv"))
    with at(2026, 3, 4, 10, 0):
        api = study.get("staff/participants/LBP-001/entries").get_json()["entries"]
    shown = [(e["date"], d) for e in api for d in e["doses"]]
    assert len(exported) == len(shown) == 3
    for row, (day, dose) in zip(exported, shown, strict=True):
        assert row["date"] == day
        assert row["drug"] == dose["drug"] and row["unit"] == dose["unit"]
        assert float(row["strength"]) == dose["strength"]
        assert float(row["units"]) == dose["units"]
    assert [r["dose_mme"] for r in exported] == ["22.5", "28.8", ""]
    assert [r["mme_factor"] for r in exported] == ["1.5", "2.4", ""]
    assert {r["day_mme"] for r in exported} == {"51.3"}
    assert [r["dose_number"] for r in exported] == ["1", "2", "3"]


def test_flags_csv_round_trips_the_flag_inbox_without_free_text(study):
    exported = rows(download(study, "flags.csv"))
    with at(2026, 3, 4, 10, 0):
        api = study.get("staff/flags").get_json()["flags"]
    assert len(exported) == len(api) >= 1
    shown = {f["id"]: f for f in api}
    for row in exported:
        flag = shown[int(row["flag_id"])]
        for key in (
            "study_id",
            "site",
            "kind",
            "severity",
            "status",
            "first_date",
            "last_date",
        ):
            assert row[key] == flag[key], key
        assert (row["outcome"] or None) == flag["outcome"]
        assert (row["resolved_by"] or None) == flag["resolved_by"]
        assert instant(row["opened_at"]) == instant(flag["opened_at"])
        assert json.loads(row["detail"]) == flag["detail"]
    (row,) = [r for r in exported if r["kind"] == "red_flag_symptom"]
    flag = shown[int(row["flag_id"])]
    assert (row["outcome"], row["resolved_by"]) == ("adverse_event", flag["resolved_by"])
    assert int(row["adverse_event_id"]) == flag["adverse_event"]["id"]
    assert "resolution_note" not in row and "note" not in row
    assert "paracetamol" not in download(study, "flags.csv").get_data(as_text=True)


def test_adverse_events_csv_round_trips_the_recorded_events(study):
    exported = rows(download(study, "adverse_events.csv"))
    with at(2026, 3, 4, 10, 0):
        api = study.get("staff/participants/LBP-001/adverse-events").get_json()["adverse_events"]
    assert len(exported) == len(api) == 2
    for row, ae in zip(exported, api, strict=True):
        assert int(row["adverse_event_id"]) == ae["id"]
        for key in ("study_id", "site", "source", "term", "onset_date", "related", "recorded_by"):
            assert row[key] == ae[key], key
        assert int(row["ctcae_grade"]) == ae["ctcae_grade"]
        assert (row["serious"] == "true") == ae["serious"]
        assert (row["note"] or None) == ae["note"]
        assert (int(row["flag_id"]) if row["flag_id"] else None) == ae["flag_id"]
        assert instant(row["recorded_at"]) == instant(ae["recorded_at"])
    assert [r["source"] for r in exported] == ["flag", "interview"]
    assert exported[0]["ctcae_grade"] == "2" and exported[0]["serious"] == "false"


def test_adherence_csv_round_trips_the_adherence_report(study):
    exported = rows(download(study, "adherence.csv"))
    with at(2026, 3, 4, 10, 0):
        api = study.get("staff/adherence").get_json()["participants"]
    assert [r["study_id"] for r in exported] == ["LBP-001", "LBP-002"]
    for row, shown in zip(exported, api, strict=True):
        assert int(row["expected"]) == shown["expected"]
        assert int(row["entered"]) == shown["entered"]
        assert int(row["missed"]) == shown["expected"] - shown["entered"]
        assert (float(row["rate"]) if row["rate"] else None) == shown["rate"]
        assert int(row["last_7_expected"]) == shown["last_7"]["expected"]
        assert int(row["last_7_entered"]) == shown["last_7"]["entered"]
        on_time, synced = int(row["entered_on_time"]), int(row["entered_synced_late"])
        assert on_time + synced == shown["entered"] and synced == 0
        assert (row["last_entry_date"] or None) == shown["last_entry_date"]
    # 10:00 on 4 March: 1 and 2 March are closed; 3 March stays open until noon.
    assert (exported[0]["expected"], exported[0]["entered"], exported[0]["rate"]) == (
        "2",
        "2",
        "1.0",
    )
    assert exported[1]["entered"] == "0" and exported[1]["last_entry_date"] == ""


@pytest.mark.parametrize(
    "name, header",
    [
        ("entries.csv", "study_id,site,date,study_day"),
        ("doses.csv", "study_id,site,date,study_day,dose_number,drug"),
        ("flags.csv", "flag_id,study_id,site,kind"),
        ("adverse_events.csv", "adverse_event_id,study_id,site,source"),
        ("adherence.csv", "study_id,site,status"),
    ],
)
def test_each_csv_is_a_utf8_attachment_named_for_the_study_and_the_date(study, name, header):
    response = download(study, name)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    stem = name.removesuffix(".csv")
    assert disposition == f'attachment; filename="BMMSC-LBP_{stem}_all-sites_2026-03-04.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.decode("utf-8").startswith(header)


def test_a_site_filter_names_the_file_and_keeps_to_that_site(study):
    response = download(study, "entries.csv", site="SITE-A")
    assert "BMMSC-LBP_entries_SITE-A_2026-03-04.csv" in response.headers["Content-Disposition"]
    assert {r["site"] for r in rows(response)} == {"SITE-A"}
    assert rows(download(study, "entries.csv", site="NOPE")) == []


def test_an_unknown_export_is_404(study):
    response = download(study, "participants.csv")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --- SDTM ----------------------------------------------------------------------------


def sdtm(client) -> dict[str, list[dict[str, str]] | dict]:
    response = download(client, "sdtm.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert (
        'filename="BMMSC-LBP_sdtm_all-sites_2026-03-04.zip"'
        in response.headers["Content-Disposition"]
    )
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    out = {}
    for name in archive.namelist():
        text = archive.read(name).decode("utf-8")
        out[name] = (
            json.loads(text) if name.endswith(".json") else list(csv.DictReader(io.StringIO(text)))
        )
    return out


def test_sdtm_package_holds_the_datasets_and_the_dictionary(study):
    package = sdtm(study)
    assert set(package) == {
        "DM.csv",
        "QS.csv",
        "SUPPQS.csv",
        "CM.csv",
        "SUPPCM.csv",
        "AE.csv",
        "SUPPAE.csv",
        "define.json",
        "define.csv",
        "data_state.json",
    }
    assert package["data_state.json"]["study_frozen_at"] is None


def test_sdtm_ae_holds_the_confirmed_adverse_event_with_grade_and_seriousness(study):
    ae = sdtm(study)["AE.csv"]
    fever = ae[0]
    assert fever["STUDYID"] == "BMMSC-LBP" and fever["DOMAIN"] == "AE"
    assert fever["USUBJID"] == "BMMSC-LBP-LBP-001"
    assert fever["AETOXGR"] == "2" and fever["AESER"] == "N" and fever["AESEV"] == "MODERATE"
    assert fever["AEREL"] == "POSSIBLY RELATED"
    assert fever["AESTDTC"] == "2026-03-01" and fever["AESTDY"] == "1"
    assert fever["AETERM"].startswith("Fever")
    assert [r["AESEQ"] for r in ae] == ["1", "2"]
    assert ae[1]["AETERM"] == "Injection site bruising" and ae[1]["AESTDY"] == "2"


def test_sdtm_suppae_says_where_each_adverse_event_came_from(study):
    supp = sdtm(study)["SUPPAE.csv"]
    sources = {(r["IDVARVAL"], r["QNAM"]): r["QVAL"] for r in supp}
    assert sources[("1", "AESOURCE")] == "FLAG"
    assert sources[("2", "AESOURCE")] == "INTERVIEW"
    assert ("2", "AEFLAGID") not in sources


def test_sdtm_qs_has_back_and_leg_pain_per_diary_date_with_sdtm_study_days(study):
    qs = sdtm(study)["QS.csv"]
    found = {(r["QSDTC"], r["QSTESTCD"]): r for r in qs}
    assert set(found) == {
        ("2026-03-01", "BACKPAIN"),
        ("2026-03-01", "LEGPAIN"),
        ("2026-03-02", "BACKPAIN"),
        ("2026-03-02", "LEGPAIN"),
    }
    back = found[("2026-03-02", "BACKPAIN")]
    assert back["QSORRES"] == "7" and back["QSSTRESN"] == "7"
    assert back["QSDY"] == "2"  # day 1 is the injection date
    assert found[("2026-03-01", "LEGPAIN")]["QSDY"] == "1"
    assert found[("2026-03-02", "LEGPAIN")]["QSORRES"] == "5"
    assert [r["QSSEQ"] for r in qs] == ["1", "2", "3", "4"]


def test_sdtm_cm_has_each_opioid_dose_and_suppcm_the_daily_mme(study):
    package = sdtm(study)
    cm, supp = package["CM.csv"], package["SUPPCM.csv"]
    assert [r["CMDECOD"] for r in cm] == ["OXYCODONE", "FENTANYL", "BUPRENORPHINE"]
    oxy, patch, _ = cm
    assert (oxy["CMDOSE"], oxy["CMDOSU"], oxy["CMDOSTOT"]) == ("5.0", "mg", "15.0")
    assert (patch["CMDOSE"], patch["CMDOSU"], patch["CMROUTE"]) == ("12.0", "ug/h", "TRANSDERMAL")
    assert oxy["CMSTDTC"] == "2026-03-02" and oxy["CMSTDY"] == "2"
    qualifiers = {(r["IDVARVAL"], r["QNAM"]): r["QVAL"] for r in supp}
    assert qualifiers[("1", "CMUNITS")] == "3.0"
    assert qualifiers[("1", "DOSEMME")] == "22.5"
    assert qualifiers[("1", "DAYMME")] == "51.3"
    assert qualifiers[("3", "MMEINCMP")] == "Y"
    assert ("3", "DOSEMME") not in qualifiers  # buprenorphine has no factor: not 0


def test_the_dictionary_describes_every_column_of_every_dataset(study):
    package = sdtm(study)
    define = package["define.json"]
    described = {d["name"]: d for d in define["datasets"]}
    for name, records in package.items():
        if name.startswith("define") or name == "data_state.json":
            continue
        with_header = list(records[0]) if records else None
        variables = [v["name"] for v in described[name.removesuffix(".csv")]["variables"]]
        if with_header:
            assert with_header == variables, name
        for v in described[name.removesuffix(".csv")]["variables"]:
            assert v["label"] and v["type"] in ("Char", "Num")
    qsdy = next(v for v in described["QS"]["variables"] if v["name"] == "QSDY")
    assert "day 1" in qsdy["notes"]
    flat = {(r["dataset"], r["variable"]) for r in package["define.csv"]}
    assert flat == {(d["name"], v["name"]) for d in define["datasets"] for v in d["variables"]}


def test_sdtm_suppqs_says_whether_each_rating_was_entered_late_or_synced_late(study):
    supp = sdtm(study)["SUPPQS.csv"]
    assert {(r["IDVAR"], r["QNAM"], r["QVAL"]) for r in supp} == {
        ("QSSEQ", "ENTLATE", "N"),
        ("QSSEQ", "SYNCLATE", "N"),
    }
    assert sorted({r["IDVARVAL"] for r in supp}) == ["1", "2", "3", "4"]


def test_an_entry_synced_late_is_marked_in_every_export(study, participant_client, staff_client):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-003", injection_date=date(2026, 3, 1))
    made = datetime(2026, 3, 1, 21, 30, tzinfo=CHICAGO)
    with at(2026, 3, 2, 15, 0):  # made offline on the 1st, sent after the window closed
        sent = phone.put("entries/2026-03-01", entry(device_time=made.isoformat()))
        assert sent.status_code == 201
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    with at(2026, 3, 5, 13, 0):  # closed through 4 March
        staff = staff_client("investigator", ("SITE-A",))
        entries_csv = rows(staff.get("staff/exports/entries.csv"))
        adherence_csv = rows(staff.get("staff/exports/adherence.csv"))
        shown = staff.get("staff/participants/LBP-003/entries").get_json()["entries"]
        package = zipfile.ZipFile(io.BytesIO(staff.get("staff/exports/sdtm.zip").data))
    columns = list(entries_csv[0])
    assert columns.index("synced_late") == columns.index("late") + 1
    mine = [r for r in entries_csv if r["study_id"] == "LBP-003"]
    assert [(r["date"], r["late"], r["synced_late"]) for r in mine] == [
        ("2026-03-01", "false", "true"),
        ("2026-03-02", "false", "false"),
    ]
    assert [e["synced_late"] for e in shown] == [True, False]
    (row,) = [r for r in adherence_csv if r["study_id"] == "LBP-003"]
    assert (row["expected"], row["entered"], row["missed"]) == ("4", "2", "2")
    assert (row["entered_on_time"], row["entered_synced_late"]) == ("1", "1")
    assert (row["last_7_entered_on_time"], row["last_7_entered_synced_late"]) == ("1", "1")
    qs = list(csv.DictReader(io.StringIO(package.read("QS.csv").decode())))
    supp = list(csv.DictReader(io.StringIO(package.read("SUPPQS.csv").decode())))
    seqs = {r["QSSEQ"]: r["QSDTC"] for r in qs if r["USUBJID"] == "BMMSC-LBP-LBP-003"}
    synced = {
        seqs[r["IDVARVAL"]]
        for r in supp
        if r["USUBJID"] == "BMMSC-LBP-LBP-003" and r["QNAM"] == "SYNCLATE" and r["QVAL"] == "Y"
    }
    assert synced == {"2026-03-01"}
    define = json.loads(package.read("define.json"))
    suppqs = next(d for d in define["datasets"] if d["name"] == "SUPPQS")
    qnam = next(v for v in suppqs["variables"] if v["name"] == "QNAM")
    assert "SYNCLATE" in qnam["codelist"] and "entry window closed" in qnam["notes"]


# --- audit and privacy -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, counts",
    [
        ("entries.csv", {"entries": 2}),
        ("doses.csv", {"doses": 3}),
        ("flags.csv", None),  # as many as the inbox lists
        ("adverse_events.csv", {"adverse_events": 2}),
        ("adherence.csv", {"adherence": 2}),
        (
            "sdtm.zip",
            {"DM": 2, "QS": 4, "SUPPQS": 8, "CM": 3, "SUPPCM": 11, "AE": 2, "SUPPAE": 5},
        ),
    ],
)
def test_every_export_is_audited_with_the_staff_member_and_row_counts(study, db, name, counts):
    if counts is None:
        with at(2026, 3, 4, 10, 0):
            counts = {"flags": len(study.get("staff/flags").get_json()["flags"])}
    before = db.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    download(study, name, site="SITE-A")
    (row,) = db.execute(
        "SELECT action, actor_type, actor_label, object_id, site_id, after FROM audit_log"
        " WHERE id > ?",
        [before],
    ).fetchall()
    action, actor_type, actor_label, object_id, site_id, after = row
    assert (action, actor_type, object_id) == (f"export.{name}", "staff", name)
    assert actor_label == "investigator1@site-a.test"
    assert site_id == db.execute("SELECT id FROM sites WHERE code = 'SITE-A'").fetchone()[0]
    after = json.loads(after)
    assert after["site"] == "SITE-A" and after["rows"] == counts


def test_the_participants_note_never_reaches_the_log(study, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("entries.csv", "sdtm.zip"):
        download(study, name)
    assert "Slept badly" not in caplog.text


def test_a_flag_a_coordinator_closed_is_exported_as_closed(app, db, enroll, staff_client):
    from diary import audit, clock
    from diary.db import transaction
    from diary.flags import episodes
    from diary.flags.rules import Finding
    from diary.participants import queries as participant_queries

    enroll("LBP-009", injection_date=date(2026, 3, 1))
    with at(2026, 3, 4, 9, 0), transaction(db):
        flag_id, _ = episodes.upsert(
            db,
            app.extensions["diary.study"].thresholds,
            participant=participant_queries.get_by_study_id(db, "LBP-009"),
            finding=Finding("missed_entries", "low", date(2026, 3, 2), date(2026, 3, 3), {}),
            episode_key="missed-2026-03-02",
            actor=audit.system("test"),
            now=clock.now(),
        )
    with at(2026, 3, 4, 9, 30):
        coordinator = staff_client("coordinator")
        closed = coordinator.post(
            f"staff/flags/{flag_id}/close", {"reason": "Phoned her: back from a trip, resumes."}
        )
        assert closed.status_code == 200, closed.get_json()
    (row,) = rows(download(coordinator, "flags.csv"))
    assert (row["status"], row["outcome"]) == ("resolved", "closed")
    assert "trip" not in download(coordinator, "flags.csv").get_data(as_text=True)
