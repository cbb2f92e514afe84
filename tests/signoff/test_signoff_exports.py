"""The AE exports carry the sponsor's fields and the signature state; every export
carries the lock state and the freeze time (SPEC §10, §14)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from entry_support import entry
from signoff_support import COMPLETE_AE, INJECTED, PASSWORD, at

SERIOUS = {
    **COMPLETE_AE,
    "term": "Discitis",
    "onset_date": "2026-03-02",
    "end_date": "2026-03-03",
    "ctcae_grade": 3,
    "serious": True,
    "seriousness_criteria": ["hospitalisation", "other_important"],
    "expected": "unexpected",
    "action_taken": "hospitalised",
    "ae_outcome": "recovered",
}


def _csv(response):
    assert response.status_code == 200, response.get_json()
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def test_exports_carry_the_ae_record_its_signature_its_sae_report_and_the_lock(
    make_staff, login, participant_client
):
    make_staff("inv@a.test", "investigator", ("SITE-A",), full_name="Dr Ines Vega")
    make_staff("admin@diary.test", "admin", ())
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    with at(2026, 3, 4, 10, 0):
        inv = login("inv@a.test")
        ae = inv.post("staff/participants/LBP-001/adverse-events", SERIOUS).get_json()
        assert ae["sae_clock"]["status"] == "running"
        inv.post(f"staff/adverse-events/{ae['id']}/sponsor-report", {"reference": "SPN-77"})
        signed = inv.post(
            "staff/signatures",
            {
                "record_type": "adverse_event",
                "record_id": ae["id"],
                "meaning": "approved",
                "password": PASSWORD,
            },
        )
        assert signed.status_code == 201, signed.get_json()
        assert (
            inv.post("staff/participants/LBP-001/lock", {"reason": "signed off"}).status_code == 200
        )
        (row,) = _csv(inv.get("staff/exports/adverse_events.csv"))
        (entry_row,) = _csv(inv.get("staff/exports/entries.csv"))
        (signature,) = _csv(inv.get("staff/exports/signatures.csv"))
        package = zipfile.ZipFile(io.BytesIO(inv.get("staff/exports/sdtm.zip").data))
    assert row["end_date"] == "2026-03-03" and row["ctcae_grade"] == "3"
    assert row["seriousness_criteria"] == "hospitalisation;other_important"
    assert (row["expected"], row["action_taken"], row["ae_outcome"]) == (
        "unexpected",
        "hospitalised",
        "recovered",
    )
    assert row["signature_status"] == "signed" and row["signed_by"] == "Dr Ines Vega"
    assert row["signature_meaning"] == "approved" and row["signed_at"].startswith("2026-03-04T16")
    assert row["sponsor_reference"] == "SPN-77" and row["sponsor_reported_at"]
    assert (signature["record_type"], signature["record_id"], signature["meaning"]) == (
        "adverse_event",
        str(ae["id"]),
        "approved",
    )
    assert signature["signer_name"] == "Dr Ines Vega" and signature["status"] == "valid"
    assert len(signature["record_hash"]) == 64
    assert (
        row["locked_at"].startswith("2026-03-04T16") and entry_row["locked_at"] == row["locked_at"]
    )

    def dataset(name):
        return list(csv.DictReader(io.StringIO(package.read(f"{name}.csv").decode("utf-8"))))

    (sdtm_ae,) = dataset("AE")
    assert (sdtm_ae["AESER"], sdtm_ae["AESHOSP"], sdtm_ae["AESMIE"], sdtm_ae["AESDTH"]) == (
        "Y",
        "Y",
        "Y",
        "N",
    )
    assert sdtm_ae["AEOUT"] == "RECOVERED/RESOLVED" and sdtm_ae["AEENDTC"] == "2026-03-03"
    assert (sdtm_ae["AEACN"], sdtm_ae["AEACNOTH"]) == ("NOT APPLICABLE", "HOSPITALISED")
    supp = {r["QNAM"]: r["QVAL"] for r in dataset("SUPPAE")}
    assert supp["AESIGST"] == "SIGNED" and supp["AESIGBY"] == "Dr Ines Vega"
    assert supp["AEEXPECT"] == "UNEXPECTED" and supp["AESPRREF"] == "SPN-77"
    state = json.loads(package.read("data_state.json"))
    assert [p["study_id"] for p in state["locked_participants"]] == ["LBP-001"]

    # A correction after signing shows in the export as an invalidated signature.
    with at(2026, 3, 4, 11, 0):
        admin = login("admin@diary.test")
        admin.post("staff/participants/LBP-001/unlock", {"reason": "query from the sponsor"})
        inv = login("inv@a.test")
        assert (
            inv.patch(
                f"staff/adverse-events/{ae['id']}", {"ctcae_grade": 4, "reason": "sponsor query"}
            ).status_code
            == 200
        )
        admin.post("staff/study/freeze", {"reason": "interim cut"})
        (row,) = _csv(inv.get("staff/exports/adverse_events.csv"))
        (signature,) = _csv(inv.get("staff/exports/signatures.csv"))
        package = zipfile.ZipFile(io.BytesIO(inv.get("staff/exports/sdtm.zip").data))
    assert row["signature_status"] == "invalidated" and row["signed_by"] == ""
    assert signature["status"] == "invalidated"
    assert signature["invalidated_by_action"] == "adverse_event.correct"
    assert row["locked_at"].startswith("2026-03-04T17")  # the freeze
    assert json.loads(package.read("data_state.json"))["freeze_reason"] == "interim cut"
