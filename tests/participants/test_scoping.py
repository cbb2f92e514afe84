"""Site scoping and role boundaries (SPEC §2): another site's objects answer 404."""

import pytest


@pytest.fixture
def two_sites(staff_client, enroll):
    enroll("LBP-001", site="SITE-A")
    enroll("LBP-101", site="SITE-B")
    return staff_client("coordinator", ("SITE-A",))


def test_staff_list_only_their_sites_participants(two_sites):
    ids = [p["study_id"] for p in two_sites.get("staff/participants").get_json()["participants"]]
    assert ids == ["LBP-001"]


def test_staff_cannot_filter_their_way_into_another_site(two_sites):
    response = two_sites.get("staff/participants?site=SITE-B")
    assert response.status_code == 200
    assert response.get_json()["participants"] == []


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "staff/participants/LBP-101", None),
        ("patch", "staff/participants/LBP-101", {"baseline_mme": 20, "reason": "chart review"}),
        ("post", "staff/participants/LBP-101/activation-code", None),
        ("post", "staff/participants/LBP-101/injections", {"date": "2026-12-01"}),
    ],
)
def test_another_sites_participant_answers_404_and_changes_nothing(
    two_sites, db, method, path, body
):
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    response = getattr(two_sites, method)(path, body) if body else getattr(two_sites, method)(path)
    assert response.status_code == 404
    assert "LBP-101" not in str(response.get_json()["error"].get("fields", ""))
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before
    assert (
        db.execute("SELECT baseline_mme FROM participants WHERE study_id='LBP-101'").fetchone()[0]
        == 10
    )


def test_staff_cannot_enroll_into_another_site(two_sites, db):
    response = two_sites.post(
        "staff/participants",
        {
            "study_id": "LBP-102",
            "site": "SITE-B",
            "timezone": "America/Chicago",
            "injection_date": "2026-11-20",
            "baseline_back_pain": 5,
            "baseline_mme": 0,
        },
    )
    assert response.status_code == 422
    assert "site" in response.get_json()["error"]["fields"]
    assert (
        db.execute("SELECT count(*) FROM participants WHERE study_id='LBP-102'").fetchone()[0] == 0
    )


def test_admin_sees_every_site(staff_client, enroll):
    enroll("LBP-001", site="SITE-A")
    enroll("LBP-101", site="SITE-B")
    admin = staff_client("admin", ())
    ids = [p["study_id"] for p in admin.get("staff/participants").get_json()["participants"]]
    assert ids == ["LBP-001", "LBP-101"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "staff/participants"),
        ("post", "staff/participants"),
        ("get", "staff/participants/LBP-001"),
        ("patch", "staff/participants/LBP-001"),
        ("post", "staff/participants/LBP-001/activation-code"),
    ],
)
def test_participants_cannot_reach_staff_routes(participant_client, method, path):
    client = participant_client("LBP-001")
    response = (
        getattr(client, method)(path, {} if method != "get" else None)
        if method != "get"
        else client.get(path)
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["staff/participants", "staff/participants/LBP-001", "me"])
def test_anonymous_requests_get_401(api, path):
    response = api.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_participant_reads_only_their_own_profile(participant_client):
    first = participant_client("LBP-001")
    second = participant_client("LBP-002")
    assert first.get("me").get_json()["study_id"] == "LBP-001"
    assert second.get("me").get_json()["study_id"] == "LBP-002"
    # No route takes another participant's id; the staff route is closed to them.
    assert second.get("staff/participants/LBP-001").status_code == 403


def test_staff_get_no_participant_routes(staff_client):
    coordinator = staff_client()
    assert coordinator.get("me").status_code == 403
