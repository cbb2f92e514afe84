"""Electronic signatures (SPEC §14; 21 CFR 11.50, 11.70, 11.200): who may sign, what a
wrong password does, what a signature shows, and what invalidates it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from account_support import code_at
from entry_support import entry
from signoff_support import COMPLETE_AE, INJECTED, PASSWORD, at

from diary import audit
from diary.signoff import signatures


@pytest.fixture
def site(participant_client, make_staff, login):
    """A participant with two entries, an investigator with a name, and an AE.
    site["as"](role) signs that account in at the current (travelled) time."""
    emails = {"investigator": "ada@site-a.test", "coordinator": "carl@site-a.test"}
    make_staff(emails["investigator"], "investigator", full_name="Dr Ada Lovelace")
    make_staff(emails["coordinator"], "coordinator", full_name="Carl Coordinator")
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    with at(2026, 3, 3, 20, 0):
        assert phone.put("entries/2026-03-03", entry(back_pain=6)).status_code == 201
        made = login(emails["investigator"]).post(
            "staff/participants/LBP-001/adverse-events", COMPLETE_AE
        )
        assert made.status_code == 201, made.get_json()
    return {"phone": phone, "as": lambda role: login(emails[role]), "ae": made.get_json()}


def sign(client, record_type, record_id, meaning="approved", password=PASSWORD, **extra):
    return client.post(
        "staff/signatures",
        {
            "record_type": record_type,
            "record_id": record_id,
            "meaning": meaning,
            "password": password,
            **extra,
        },
    )


def test_an_investigator_signs_an_adverse_event_and_the_signature_shows_who_when_and_why(site, db):
    with at(2026, 3, 4, 10, 0):
        signed = sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"])
    assert signed.status_code == 201, signed.get_json()
    body = signed.get_json()
    assert body["signer_name"] == "Dr Ada Lovelace"
    assert body["signer_email"] == "ada@site-a.test"
    assert body["meaning"] == "approved" and body["status"] == "valid"
    assert body["signed_at"].startswith("2026-03-04T16:00:00")  # 10:00 Chicago, in UTC
    assert len(body["record_hash"]) == 64
    assert "Dr Ada Lovelace" in body["manifestation"] and "approved" in body["manifestation"]
    # Shown with the event, and in the audit trail.
    with at(2026, 3, 4, 10, 5):
        event = (
            site["as"]("investigator").get(f"staff/adverse-events/{site['ae']['id']}").get_json()
        )
    assert event["signature_status"] == "signed"
    assert event["signatures"][0]["signer_name"] == "Dr Ada Lovelace"
    actions = [
        r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_type = 'signature'")
    ]
    assert actions == ["signature.sign"]
    # The same signer and meaning twice is refused; another meaning is its own signature.
    with at(2026, 3, 4, 10, 6):
        again = sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"])
        reviewed = sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"], "reviewed")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_signed"
    assert reviewed.status_code == 201


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_only_investigators_sign(site, staff_client, role):
    with at(2026, 3, 4, 10, 0):
        other = staff_client(role, sites=() if role == "admin" else ("SITE-A",), full_name="Some")
        response = sign(other, "adverse_event", site["ae"]["id"])
    assert response.status_code == 403


def test_an_investigator_of_another_site_cannot_sign(site, staff_client):
    with at(2026, 3, 4, 10, 0):
        elsewhere = staff_client("investigator", sites=("SITE-B",), full_name="Dr Other")
        assert sign(elsewhere, "adverse_event", site["ae"]["id"]).status_code == 404
        assert sign(elsewhere, "participant", "LBP-001").status_code == 404


def test_a_wrong_password_signs_nothing_and_counts_toward_the_sign_in_throttle(
    site, db, app, new_client
):
    limit = app.config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"]
    email = site["ae"]["recorded_by"]
    with at(2026, 3, 4, 10, 0):
        investigator = site["as"]("investigator")
        for _ in range(limit):
            wrong = sign(investigator, "adverse_event", site["ae"]["id"], password="nope")
            assert wrong.status_code == 401
            assert wrong.get_json()["error"]["code"] == "wrong_password"
        assert db.execute("SELECT count(*) FROM signatures").fetchone()[0] == 0
        # The same throttle as signing in: this address now waits, for signing and
        # for signing in to this account, even with the right password.
        slowed = sign(investigator, "adverse_event", site["ae"]["id"])
        assert slowed.status_code == 429
        assert slowed.get_json()["error"]["code"] == "too_many_attempts"
        signin = new_client().post("staff/login", {"email": email, "password": PASSWORD})
        assert signin.status_code == 429
    assert db.execute("SELECT count(*) FROM signatures").fetchone()[0] == 0
    failed = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'signature.failed_password'"
    ).fetchone()[0]
    assert failed == limit
    with at(2026, 3, 4, 10, 16):  # the cool-down has passed
        investigator = site["as"]("investigator")
        assert sign(investigator, "adverse_event", site["ae"]["id"]).status_code == 201


def test_a_signer_without_a_full_name_is_asked_for_one(site, staff_client):
    with at(2026, 3, 4, 10, 0):
        nameless = staff_client("investigator")
        response = sign(nameless, "adverse_event", site["ae"]["id"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "name_required"


def test_an_incomplete_adverse_event_cannot_be_signed(site):
    with at(2026, 3, 4, 10, 0):
        partial = {k: v for k, v in COMPLETE_AE.items() if k not in ("expected", "ae_outcome")}
        made = site["as"]("investigator").post("staff/participants/LBP-001/adverse-events", partial)
        assert made.status_code == 201
        response = sign(site["as"]("investigator"), "adverse_event", made.get_json()["id"])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "incomplete" and set(error["fields"]) == {"expected", "ae_outcome"}


def test_correcting_a_signed_adverse_event_invalidates_its_signature_naming_the_change(site):
    ae_id = site["ae"]["id"]
    with at(2026, 3, 4, 10, 0):
        assert sign(site["as"]("investigator"), "adverse_event", ae_id).status_code == 201
    with at(2026, 3, 5, 9, 0):
        corrected = site["as"]("investigator").patch(
            f"staff/adverse-events/{ae_id}", {"ctcae_grade": 2, "reason": "worse at follow-up"}
        )
    assert corrected.status_code == 200, corrected.get_json()
    event = corrected.get_json()
    assert event["ctcae_grade"] == 2 and event["version"] == 2
    assert event["signature_status"] == "invalidated"
    invalid = event["signatures"][0]
    assert invalid["status"] == "invalidated"
    assert invalid["invalidated_by"]["action"] == "adverse_event.correct"
    assert invalid["invalidated_by"]["reason"] == "worse at follow-up"
    awaiting = site["as"]("investigator").get("staff/signatures/awaiting").get_json()["awaiting"]
    assert {
        "record_type": "adverse_event",
        "record_id": str(ae_id),
        "state": "invalidated",
    }.items() <= next(a for a in awaiting if a["record_type"] == "adverse_event").items()
    # Signed again, it is signed.
    with at(2026, 3, 5, 9, 5):
        assert sign(site["as"]("investigator"), "adverse_event", ae_id).status_code == 201


def test_a_casebook_signature_is_invalidated_by_a_change_to_a_date_it_covers_only(site, db):
    with at(2026, 3, 4, 10, 0):
        signed = sign(site["as"]("investigator"), "participant", "LBP-001", up_to="2026-03-03")
    assert signed.status_code == 201, signed.get_json()
    # A new entry after the signed range changes nothing that was signed.
    with at(2026, 3, 4, 20, 0):
        assert site["phone"].put("entries/2026-03-04", entry()).status_code == 201
    listed = site["as"]("investigator").get(
        "staff/signatures?record_type=participant&record_id=LBP-001"
    )
    assert [s["status"] for s in listed.get_json()["signatures"]] == ["valid"]
    # A staff clarification of a signed date does.
    with at(2026, 3, 4, 21, 0):
        clarified = site["as"]("coordinator").put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(back_pain=5, reason="participant called: typed 4, meant 5"),
        )
    assert clarified.status_code == 200, clarified.get_json()
    listed = site["as"]("investigator").get(
        "staff/signatures?record_type=participant&record_id=LBP-001"
    )
    (sig,) = listed.get_json()["signatures"]
    assert sig["status"] == "invalidated"
    assert sig["invalidated_by"]["action"] == "entry.correct"


def test_a_clarification_is_signed_and_a_later_change_invalidates_it(site, db):
    with at(2026, 3, 4, 21, 0):
        clarified = site["as"]("coordinator").put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(back_pain=5, reason="participant called"),
        )
    assert clarified.status_code == 200
    audit_id = db.execute(
        "SELECT max(id) FROM audit_log WHERE action = 'entry.correct'"
    ).fetchone()[0]
    with at(2026, 3, 4, 21, 5):
        signed = sign(site["as"]("investigator"), "clarification", audit_id, "reviewed")
    assert signed.status_code == 201, signed.get_json()
    with at(2026, 3, 4, 21, 10):
        site["as"]("coordinator").put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(back_pain=6, reason="second call"),
        )
        stale = sign(site["as"]("investigator"), "clarification", audit_id, "approved")
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale"
    sigs = (
        site["as"]("investigator")
        .get(f"staff/signatures?record_type=clarification&record_id={audit_id}")
        .get_json()["signatures"]
    )
    assert [s["status"] for s in sigs] == ["invalidated"]


def test_audit_verify_catches_a_signed_record_changed_behind_the_applications_back(site, db, app):
    with at(2026, 3, 4, 10, 0):
        assert (
            sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"]).status_code == 201
        )
    assert signatures.problems(db) == []
    assert audit.verify(db).ok
    runner = app.test_cli_runner()
    good = runner.invoke(args=["diary", "audit", "verify"])
    assert good.exit_code == 0 and "1 signatures hold" in good.output
    db.execute("UPDATE adverse_events SET ctcae_grade = 3 WHERE id = ?", [site["ae"]["id"]])
    db.conn.commit()
    (problem,) = signatures.problems(db)
    assert "no longer matches its hash" in problem
    bad = runner.invoke(args=["diary", "audit", "verify"])
    assert bad.exit_code == 1 and "BROKEN signature 1" in bad.output


def test_audit_verify_catches_a_signature_moved_to_another_record(site, db):
    with at(2026, 3, 4, 10, 0):
        other = (
            site["as"]("investigator")
            .post("staff/participants/LBP-001/adverse-events", {**COMPLETE_AE, "term": "Headache"})
            .get_json()
        )
        assert (
            sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"]).status_code == 201
        )
    # The trigger lets no field of a signature change but its status...
    with pytest.raises(Exception, match="only be invalidated"):
        db.execute("UPDATE signatures SET record_id = ?", [other["id"]])
    with pytest.raises(Exception, match="DELETE refused"):
        db.execute("DELETE FROM signatures")
    db.conn.rollback()
    # ...and a signature copied in by hand, without its audit row, is caught.
    db.execute(
        "INSERT INTO signatures (record_type, record_id, participant_id, meaning, signer_id,"
        " signer_name, signer_email, signed_at, record_hash)"
        " SELECT record_type, ?, participant_id, meaning, signer_id, signer_name, signer_email,"
        " signed_at, record_hash FROM signatures",
        [other["id"]],
    )
    db.conn.commit()
    (problem,) = signatures.problems(db)
    assert "differs from the audit row" in problem


@pytest.mark.parametrize("record_id", ["²", "٣", "1e3", "-1", "99999999999999999999", True, 1.5])
def test_a_record_id_that_is_no_record_number_is_a_clear_4xx(site, record_id):
    with at(2026, 3, 4, 10, 0):
        investigator = site["as"]("investigator")
        signed = sign(investigator, "adverse_event", record_id)
        listed = investigator.get(
            f"staff/signatures?record_type=adverse_event&record_id={record_id}"
        )
    assert signed.status_code in (404, 422), signed.get_json()
    assert listed.status_code in (200, 422), listed.get_json()


def test_a_casebook_signed_up_to_an_earlier_date_still_awaits_its_signature(site, db):
    with at(2026, 3, 4, 10, 0):
        investigator = site["as"]("investigator")
        early = sign(investigator, "participant", "LBP-001", up_to="2026-02-01")
        assert early.status_code == 422 and "up_to" in early.get_json()["error"]["fields"]
        assert sign(investigator, "participant", "LBP-001", up_to="2026-03-02").status_code == 201
        investigator.post("staff/participants/LBP-001/lock", {"reason": "end of study"})
        awaiting = investigator.get("staff/signatures/awaiting").get_json()["awaiting"]
        (casebook,) = [a for a in awaiting if a["record_type"] == "participant"]
        assert casebook["state"] == "partial"  # the entry of 3 March is not covered
        assert sign(investigator, "participant", "LBP-001", up_to="2026-03-04").status_code == 201
        awaiting = investigator.get("staff/signatures/awaiting").get_json()["awaiting"]
    assert not [a for a in awaiting if a["record_type"] == "participant"]


def test_a_second_factor_code_is_refused_for_an_account_without_two_step_sign_in(site):
    with at(2026, 3, 4, 10, 0):
        response = sign(site["as"]("investigator"), "adverse_event", site["ae"]["id"], otp="123456")
    assert response.status_code == 422 and "otp" in response.get_json()["error"]["fields"]


def test_a_signer_with_two_step_sign_in_signs_with_password_and_code(site, db):
    with at(2026, 3, 4, 10, 0):
        investigator = site["as"]("investigator")
        secret = investigator.post("staff/mfa/totp").get_json()["secret"]
        code = code_at(secret, datetime.now(UTC))
        assert investigator.post("staff/mfa/totp/confirm", {"code": code}).status_code == 200
        missing = sign(investigator, "adverse_event", site["ae"]["id"])
        assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "otp_required"
        wrong = sign(investigator, "adverse_event", site["ae"]["id"], otp="000000")
        assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "wrong_otp"
        assert investigator.get("staff/flags").status_code == 200  # still signed in
    with at(2026, 3, 4, 10, 1):
        now = datetime.now(UTC)
        signed = sign(investigator, "adverse_event", site["ae"]["id"], otp=code_at(secret, now))
        assert signed.status_code == 201, signed.get_json()


def test_reordering_the_seriousness_criteria_is_no_correction(site, db):
    ae_id = site["ae"]["id"]
    with at(2026, 3, 4, 10, 0):
        investigator = site["as"]("investigator")
        serious = investigator.patch(
            f"staff/adverse-events/{ae_id}",
            {
                "serious": True,
                "seriousness_criteria": ["other_important", "hospitalisation"],
                "reason": "admitted overnight",
            },
        )
        assert serious.status_code == 200, serious.get_json()
        assert sign(investigator, "adverse_event", ae_id).status_code == 201
        same = investigator.patch(
            f"staff/adverse-events/{ae_id}",
            {
                "seriousness_criteria": ["hospitalisation", "other_important", "hospitalisation"],
                "reason": "same criteria",
            },
        )
    assert same.status_code == 200
    assert same.get_json()["version"] == serious.get_json()["version"]
    assert same.get_json()["signature_status"] == "signed"
