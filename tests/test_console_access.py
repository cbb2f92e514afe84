"""Who may use the staff console's endpoints and exports, and what each site sees (SPEC §2)."""

import io
import uuid
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

CHICAGO = ZoneInfo("America/Chicago")
SECRET = "B-SITE-PRIVATE-NOTE"
EXPORTS = (
    "entries.csv",
    "doses.csv",
    "flags.csv",
    "adverse_events.csv",
    "adherence.csv",
    "sdtm.zip",
)


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def entry(**overrides):
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 5,
        "leg_pain": 2,
        "doses": [{"drug": "morphine", "strength": 15, "units": 2}],
        "symptoms": [],
        "device_time": datetime.now(CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def two_sites(participant_client, staff_client):
    """Site A has LBP-001; site B has LBP-101 with an entry, an urgent flag and an AE."""
    with at(2026, 3, 1, 9, 0):
        phone_a = participant_client("LBP-001", site="SITE-A", injection_date=date(2026, 3, 1))
        phone_b = participant_client("LBP-101", site="SITE-B", injection_date=date(2026, 3, 1))
        phone_a.put("entries/2026-03-01", entry())
        phone_b.put(
            "entries/2026-03-01",
            entry(symptoms=["fever"], temperature_c=38.5, note=SECRET),
        )
    with at(2026, 3, 3, 9, 0):
        investigator_b = staff_client("investigator", ("SITE-B",))
        (flag,) = investigator_b.get("staff/flags").get_json()["flags"]
        resolved = investigator_b.post(
            f"staff/flags/{flag['id']}/resolve",
            {
                "outcome": "adverse_event",
                "note": "Fever after the injection; called her.",
                "ctcae_grade": 2,
                "serious": False,
                "related": "possible",
            },
        )
        assert resolved.status_code == 200
    return phone_a, phone_b


READS = [
    "staff/sites",
    "staff/participants",
    "staff/participants?site=SITE-B",
    "staff/participants?q=101",
    "staff/adherence",
    "staff/adherence?site=SITE-B",
    "staff/flags",
    "staff/flags?site=SITE-B",
    "staff/flags?study_id=LBP-101",
    *(f"staff/exports/{name}" for name in EXPORTS),
    *(f"staff/exports/{name}?site=SITE-B" for name in EXPORTS),
]


def _text(response) -> str:
    if response.mimetype == "application/zip":
        archive = zipfile.ZipFile(io.BytesIO(response.data))
        return "\n".join(archive.read(name).decode() for name in archive.namelist())
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", READS)
def test_a_coordinator_of_site_a_gets_nothing_of_site_b(two_sites, staff_client, path):
    with at(2026, 3, 4, 9, 0):
        response = staff_client("coordinator", ("SITE-A",)).get(path)
    assert response.status_code == 200
    text = _text(response)
    for other in ("LBP-101", "SITE-B", SECRET):
        assert other not in text


def test_the_same_reads_show_site_b_to_its_own_staff(two_sites, staff_client):
    with at(2026, 3, 4, 9, 0):
        coordinator_b = staff_client("coordinator", ("SITE-B",))
        texts = {path: _text(coordinator_b.get(path)) for path in READS if "SITE-B" not in path}
    assert "SITE-B" in texts["staff/sites"] and "SITE-A" not in texts["staff/sites"]
    for path, text in texts.items():
        if path != "staff/sites":
            assert "LBP-101" in text, path
            assert "LBP-001" not in text, path


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "staff/participants/LBP-101/entries", None),
        (
            "put",
            "staff/participants/LBP-101/entries/2026-03-02",
            entry(reason="phone call", device_time="2026-03-04T09:00:00-06:00"),
        ),
        ("get", "staff/participants/LBP-101/adverse-events", None),
    ],
)
def test_another_sites_participant_answers_404_and_nothing_changes(
    two_sites, staff_client, db, method, path, body
):
    before = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    with at(2026, 3, 4, 9, 0):
        client = staff_client("coordinator", ("SITE-A",))
        response = client.put(path, body) if method == "put" else client.get(path)
    assert response.status_code == 404
    assert SECRET not in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == before


def test_an_admin_sees_every_site_and_can_narrow_to_one(two_sites, staff_client):
    with at(2026, 3, 4, 9, 0):
        admin = staff_client("admin", ())
        sites = admin.get("staff/sites").get_json()["sites"]
        only_b = admin.get("staff/exports/entries.csv?site=SITE-B").get_data(as_text=True)
    assert [s["code"] for s in sites] == ["SITE-A", "SITE-B"]
    assert "LBP-101" in only_b and "LBP-001" not in only_b


# --- the permission matrix ----------------------------------------------------------

ROUTES = [
    ("get", "staff/sites"),
    ("get", "staff/adherence"),
    ("get", "staff/audit"),
    ("get", "staff/participants/LBP-001/entries"),
    ("put", "staff/participants/LBP-001/entries/2026-03-02"),
    *(("get", f"staff/exports/{name}") for name in EXPORTS),
]


def _call(client, method, path):
    if method == "put":
        return client.put(path, entry(reason="phone call"))
    return client.get(path)


@pytest.mark.parametrize("method, path", ROUTES)
def test_anonymous_callers_get_401(api, enroll, method, path):
    enroll("LBP-001")
    assert _call(api, method, path).status_code == 401


@pytest.mark.parametrize("method, path", ROUTES)
def test_participants_get_403_on_every_staff_route(participant_client, db, method, path):
    phone = participant_client("LBP-001")
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert _call(phone, method, path).status_code == 403
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before


@pytest.mark.parametrize("role", ["coordinator", "investigator", "admin"])
def test_every_staff_role_may_use_the_console_routes(participant_client, staff_client, role):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=date(2026, 3, 1))
    with at(2026, 3, 4, 9, 0):
        client = staff_client(role, ("SITE-A",) if role != "admin" else ())
        statuses = {path: _call(client, method, path).status_code for method, path in ROUTES}
    expected = {path: 200 for _, path in ROUTES}
    expected["staff/participants/LBP-001/entries/2026-03-02"] = 201
    expected["staff/audit"] = 200 if role == "admin" else 403
    assert statuses == expected


def test_a_403_is_decided_before_the_body_is_read(participant_client):
    phone = participant_client("LBP-001")
    response = phone.put("staff/participants/LBP-001/entries/2026-03-02", {"nonsense": True})
    assert response.status_code == 403
