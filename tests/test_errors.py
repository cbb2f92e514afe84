"""Every error is JSON with the right status; bad input writes nothing; no 500s (SPEC §8)."""

import pytest

from diary.security import CSP


def _count(db):
    return (
        db.execute("SELECT count(*) FROM audit_log").fetchone()[0],
        db.execute("SELECT count(*) FROM participants").fetchone()[0],
    )


def test_unknown_route_is_json_404(api):
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow(api):
    response = api.client.delete("/api/v1/session")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_a_body_that_is_not_json_is_415(staff_client, db):
    coordinator = staff_client()
    before = _count(db)
    response = coordinator.client.post(
        "/api/v1/staff/participants",
        data="study_id=LBP-1",
        headers={
            "X-CSRF-Token": coordinator.csrf(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert _count(db) == before


def test_malformed_json_is_400(staff_client, db):
    coordinator = staff_client()
    response = coordinator.client.post(
        "/api/v1/staff/participants",
        data="{not json",
        headers={"X-CSRF-Token": coordinator.csrf(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_oversized_body_is_413(staff_client):
    coordinator = staff_client()
    response = coordinator.client.post(
        "/api/v1/staff/participants",
        data='{"study_id": "' + "A" * 100_000 + '"}',
        headers={"X-CSRF-Token": coordinator.csrf(), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


GOOD = {
    "study_id": "LBP-014",
    "site": "SITE-A",
    "timezone": "America/Chicago",
    "injection_date": "2026-11-20",
    "baseline_back_pain": 6,
    "baseline_mme": 22.5,
}


@pytest.mark.parametrize(
    "field, value",
    [
        ("study_id", "lbp 14; drop table"),
        ("study_id", 14),
        ("site", ""),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("injection_date", "2026-02-30"),
        ("injection_date", "next tuesday"),
        ("baseline_back_pain", 11),
        ("baseline_back_pain", -1),
        ("baseline_back_pain", "5"),
        ("baseline_back_pain", 5.5),
        ("baseline_mme", 50.5),
        ("baseline_mme", -3),
        ("baseline_mme", "NaN"),
        ("unexpected", "field"),
    ],
)
def test_bad_enrollment_fields_are_named_and_nothing_is_written(staff_client, db, field, value):
    coordinator = staff_client()
    before = _count(db)
    response = coordinator.post("staff/participants", {**GOOD, field: value})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count(db) == before


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_missing_enrollment_fields_are_named(staff_client, missing):
    body = {k: v for k, v in GOOD.items() if k != missing}
    response = staff_client().post("staff/participants", body)
    assert response.status_code == 422
    assert missing in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("staff/login", {"email": "not-an-email", "password": "x"}, "email"),
        ("staff/login", {"email": "a@b.test"}, "password"),
        ("staff/login", {"email": "a@b.test", "password": "x" * 2000}, "password"),
        ("participant/activate", {}, "code"),
        ("participant/activate", {"code": 12345}, "code"),
        ("participant/activate", {"code": "x" * 100}, "code"),
    ],
)
def test_bad_sign_in_input_is_422(api, path, body, field):
    response = api.post(path, body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reminder_time": "25:00"}, "reminder_time"),
        ({"reminder_time": "7pm"}, "reminder_time"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"notifications_enabled": "maybe"}, "notifications_enabled"),
        ({"study_id": "LBP-999"}, "study_id"),
    ],
)
def test_bad_profile_changes_are_422_and_change_nothing(participant_client, db, body, field):
    phone = participant_client("LBP-001")
    before = _count(db)
    response = phone.patch("me", body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count(db) == before
    assert phone.get("me").get_json()["reminder_time"] is None


def test_json_array_instead_of_object_is_422_not_500(staff_client):
    response = staff_client().post("staff/participants", [1, 2, 3])
    assert response.status_code == 422


def test_security_headers_on_api_and_pages(api):
    for path in ("/api/v1/session", "/api/v1/nothing"):
        response = api.get(path)
        assert response.headers["Content-Security-Policy"] == CSP
        assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_lax(api):
    response = api.client.get("/api/v1/session")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_openapi_document_describes_the_api(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/api/v1/session",
        "/api/v1/participant/activate",
        "/api/v1/me",
        "/api/v1/staff/login",
        "/api/v1/staff/participants",
        "/api/v1/staff/participants/{study_id}",
        "/api/v1/staff/participants/{study_id}/activation-code",
        "/api/v1/entries/{day}",
        "/api/v1/protocol",
    ):
        assert path in paths, path
    put = paths["/api/v1/entries/{day}"]["put"]
    assert "requestBody" in put and "422" in put["responses"]


@pytest.mark.parametrize(
    "path", ["staff/flags?stauts=open", "staff/participants?sitee=SITE-A", "staff/adherence?x=1"]
)
def test_a_mistyped_filter_is_422_not_silently_ignored(staff_client, path):
    response = staff_client().get(path)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]
