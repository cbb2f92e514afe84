"""Data change requests (SPEC §14): after the window closed, a participant's correction
goes through staff — recorded (what, why, source), applied with a reason as a data
clarification or declined, signed by an investigator; every step audited and shown in
the entry's history."""

from __future__ import annotations

import pytest
from entry_support import entry
from signoff_support import INJECTED, PASSWORD, at


@pytest.fixture
def closed_entry(make_staff, login, participant_client):
    make_staff("inv@a.test", "investigator", ("SITE-A",), full_name="Dr Ines Vega")
    make_staff("coord@a.test", "coordinator", ("SITE-A",), full_name="Cora Ordinator")
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry(back_pain=4)).status_code == 201
    return {"phone": phone, "login": login}


def test_a_change_request_is_recorded_applied_signed_and_shown_in_the_entrys_history(
    closed_entry, db
):
    login = closed_entry["login"]
    with at(2026, 3, 10, 9, 0):
        # The window closed long ago: the phone cannot correct the date any more.
        late = closed_entry["phone"].put(
            "entries/2026-03-02", entry(back_pain=6, reason="I meant 6")
        )
        assert late.status_code in (409, 422)
        coord = login("coord@a.test")
        made = coord.post(
            "staff/participants/LBP-001/change-requests",
            {
                "date": "2026-03-02",
                "changes": {"back_pain": 6},
                "why": "Participant phoned: tapped 4, meant 6",
                "source": "participant_call",
            },
        )
        assert made.status_code == 201, made.get_json()
        request = made.get_json()
        assert request["status"] == "open" and request["changes"] == {"back_pain": 6}
        # The entry is unchanged until the request is applied.
        assert db.execute("SELECT back_pain FROM entries").fetchone()[0] == 4
        applied = coord.post(
            f"staff/change-requests/{request['id']}/apply", {"reason": "checked with the call log"}
        )
        assert applied.status_code == 200, applied.get_json()
        assert applied.get_json()["status"] == "applied"
        assert (
            coord.post(
                f"staff/change-requests/{request['id']}/apply", {"reason": "twice"}
            ).status_code
            == 409
        )
    assert db.execute("SELECT back_pain, leg_pain FROM entries").fetchone() == (6, 2)
    clarification = applied.get_json()["clarification_id"]
    with at(2026, 3, 10, 9, 30):
        inv = login("inv@a.test")
        awaiting = inv.get("staff/signatures/awaiting").get_json()["awaiting"]
        assert [a["record_id"] for a in awaiting if a["record_type"] == "clarification"] == [
            str(clarification)
        ]
        signed = inv.post(
            "staff/signatures",
            {
                "record_type": "clarification",
                "record_id": clarification,
                "meaning": "approved",
                "password": PASSWORD,
            },
        )
        assert signed.status_code == 201, signed.get_json()
        assert not [
            a
            for a in inv.get("staff/signatures/awaiting").get_json()["awaiting"]
            if a["record_type"] == "clarification"
        ]
        history = inv.get("staff/participants/LBP-001/entries?from=2026-03-02&to=2026-03-02")
    (row,) = history.get_json()["entries"]
    assert row["back_pain"] == 6
    assert row["change_requests"][0]["why"] == "Participant phoned: tapped 4, meant 6"
    correction = row["corrections"][-1]
    assert correction["before"] == {"back_pain": 4} and correction["after"] == {"back_pain": 6}
    assert "Change request" in correction["reason"]
    actions = [
        r[0]
        for r in db.execute(
            "SELECT action FROM audit_log WHERE object_type IN ('change_request', 'signature')"
            " ORDER BY id"
        )
    ]
    assert actions == ["change_request.record", "change_request.apply", "signature.sign"]


def test_a_declined_request_changes_nothing_and_bad_requests_write_nothing(closed_entry, db):
    with at(2026, 3, 10, 9, 0):
        coord = closed_entry["login"]("coord@a.test")
        before = db.execute("SELECT count(*) FROM change_requests").fetchone()[0]
        for bad in (
            {"date": "2026-03-02", "changes": {}, "why": "nothing", "source": "participant_call"},
            {
                "date": "2026-03-02",
                "changes": {"back_pain": 11},
                "why": "x y",
                "source": "participant_call",
            },
            {"date": "2026-03-02", "changes": {"back_pain": 5}, "why": "x y", "source": "rumour"},
            {
                "date": "2027-01-01",
                "changes": {"back_pain": 5},
                "why": "x y z",
                "source": "participant_call",
            },
            {
                "date": "2026-03-05",
                "changes": {"note": "hi"},
                "why": "no entry that day",
                "source": "participant_call",
            },
        ):
            response = coord.post("staff/participants/LBP-001/change-requests", bad)
            assert response.status_code == 422, (bad, response.get_json())
        assert db.execute("SELECT count(*) FROM change_requests").fetchone()[0] == before
        made = coord.post(
            "staff/participants/LBP-001/change-requests",
            {
                "date": "2026-03-02",
                "changes": {"leg_pain": 9},
                "why": "unsure",
                "source": "participant_message",
            },
        ).get_json()
        declined = coord.post(
            f"staff/change-requests/{made['id']}/decline", {"reason": "participant withdrew it"}
        )
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert db.execute("SELECT leg_pain FROM entries").fetchone()[0] == 2
