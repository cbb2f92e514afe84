"""Flag inbox and lifecycle: site scoping, the role matrix, resolve validation, adverse events."""

from __future__ import annotations

from datetime import date

import pytest

from diary import audit, clock
from diary.audit import access_queries
from diary.db import transaction
from diary.flags import episodes as flag_episodes
from diary.flags.rules import Finding
from diary.participants import queries as participant_queries

INJECTED = date(2025, 10, 1)
AE = {"outcome": "adverse_event", "ctcae_grade": 2, "serious": False, "related": "possible"}


@pytest.fixture
def raise_flag(app, db, enroll):
    """raise_flag(study_id, site, kind, severity) → flag id, as a job or an entry would."""

    def make(study_id="LBP-001", site="SITE-A", kind="pain_flare", severity="high", detail=None):
        if participant_queries.get_by_study_id(db, study_id) is None:
            enroll(study_id, site=site, injection_date=INJECTED)
        participant = participant_queries.get_by_study_id(db, study_id)
        finding = Finding(
            kind,
            severity,
            date(2025, 10, 5),
            date(2025, 10, 6),
            detail or {"max_back_pain": 9, "baseline_back_pain": 4, "days": 2},
        )
        with transaction(db):
            flag_id, _ = flag_episodes.upsert(
                db,
                app.extensions["diary.study"].thresholds,
                participant=participant,
                finding=finding,
                episode_key=f"{kind}-{severity}-2025-10-05",
                actor=audit.system("test"),
                now=clock.now(),
            )
        return flag_id

    return make


def _status(db, flag_id):
    return db.execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone()[0]


ROLES = {
    "coordinator": ("coordinator", ("SITE-A",)),
    "investigator": ("investigator", ("SITE-A",)),
    "admin": ("admin", ()),
    "other_coordinator": ("coordinator", ("SITE-B",)),
    "other_investigator": ("investigator", ("SITE-B",)),
}


@pytest.fixture
def client_as(staff_client, participant_client, new_client):
    def make(who):
        if who == "anonymous":
            return new_client()
        if who == "participant":
            return participant_client("LBP-900", site="SITE-A", injection_date=INJECTED)
        return staff_client(*ROLES[who])

    return make


@pytest.mark.parametrize(
    ("who", "read", "acknowledge", "resolve"),
    [
        ("coordinator", 200, 200, 403),
        ("investigator", 200, 200, 200),
        ("admin", 200, 200, 403),
        ("other_coordinator", 404, 404, 403),
        ("other_investigator", 404, 404, 404),
        ("participant", 403, 403, 403),
        ("anonymous", 401, 401, 401),
    ],
)
def test_permission_matrix(raise_flag, client_as, db, who, read, acknowledge, resolve):
    flag_id = raise_flag()
    client = client_as(who)
    assert client.get(f"staff/flags/{flag_id}").status_code == read
    listing = client.get("staff/flags")
    assert listing.status_code == (200 if read in (200, 404) else read)
    if listing.status_code == 200:
        ids = [f["id"] for f in listing.get_json()["flags"]]
        assert (flag_id in ids) == (read == 200)
    assert client.post(f"staff/flags/{flag_id}/acknowledge").status_code == acknowledge
    assert client.post(f"staff/flags/{flag_id}/resolve", AE).status_code == resolve
    expected = "resolved" if resolve == 200 else "acknowledged" if acknowledge == 200 else "open"
    assert _status(db, flag_id) == expected


def test_flag_shape_follows_appendix_a(raise_flag, staff_client):
    flag_id = raise_flag()
    body = staff_client("coordinator").get(f"staff/flags/{flag_id}").get_json()
    assert {
        "id": flag_id,
        "study_id": "LBP-001",
        "site": "SITE-A",
        "kind": "pain_flare",
        "severity": "high",
        "status": "open",
        "first_date": "2025-10-05",
        "last_date": "2025-10-06",
        "acknowledged_at": None,
        "resolved_at": None,
        "outcome": None,
        "adverse_event": None,
    }.items() <= body.items()
    assert body["detail"]["max_back_pain"] == 9
    assert body["opened_at"].endswith("+00:00")


def test_acknowledge_then_resolve_as_adverse_event(raise_flag, staff_client, db):
    flag_id = raise_flag()
    coordinator = staff_client("coordinator")
    acked = coordinator.post(f"staff/flags/{flag_id}/acknowledge")
    assert acked.status_code == 200
    assert acked.get_json()["status"] == "acknowledged"
    assert acked.get_json()["acknowledged_by"].startswith("coordinator")
    assert coordinator.post(f"staff/flags/{flag_id}/acknowledge").status_code == 409

    investigator = staff_client("investigator")
    resolved = investigator.post(
        f"staff/flags/{flag_id}/resolve",
        {
            **AE,
            "serious": True,
            "seriousness_criteria": ["hospitalisation"],
            "note": "ER visit, admitted",
        },
    )
    assert resolved.status_code == 200, resolved.get_json()
    body = resolved.get_json()
    assert body["status"] == "resolved"
    assert body["outcome"] == "adverse_event"
    ae = body["adverse_event"]
    assert {
        "flag_id": flag_id,
        "source": "flag",
        "term": "Back pain flare (NRS up to 9)",
        "onset_date": "2025-10-05",
        "ctcae_grade": 2,
        "serious": True,
        "related": "possible",
        "note": "ER visit, admitted",
    }.items() <= ae.items()
    assert ae["recorded_by"].startswith("investigator")

    again = investigator.post(f"staff/flags/{flag_id}/resolve", {"outcome": "not_ae"})
    assert again.status_code == 409
    assert db.execute("SELECT count(*) FROM adverse_events").fetchone()[0] == 1

    actions = [
        (r["action"], r["actor_type"], r["after"].get("status"))
        for r in access_queries.trail(db, object_type="flag", object_id=str(flag_id))
    ]
    assert actions[:2] == [
        ("flag.resolve", "staff", "resolved"),
        ("flag.acknowledge", "staff", "acknowledged"),
    ]
    assert audit.verify(db).ok


def test_resolve_not_ae_from_open_creates_no_adverse_event(raise_flag, staff_client, db):
    flag_id = raise_flag()
    response = staff_client("investigator").post(
        f"staff/flags/{flag_id}/resolve", {"outcome": "not_ae", "note": "expected after injection"}
    )
    assert response.status_code == 200
    assert response.get_json()["resolution_note"] == "expected after injection"
    assert db.execute("SELECT count(*) FROM adverse_events").fetchone()[0] == 0


def test_red_flag_term_uses_the_symptom_labels(raise_flag, staff_client):
    flag_id = raise_flag(
        kind="red_flag_symptom",
        severity="urgent",
        detail={"symptoms": ["fever", "hospital_or_er_visit"], "temperature_c": 38.6},
    )
    body = (
        staff_client("investigator")
        .post(f"staff/flags/{flag_id}/resolve", {**AE, "note": "Seen in the ER."})
        .get_json()
    )
    assert body["adverse_event"]["term"].startswith("Fever or chills")
    assert "emergency room" in body["adverse_event"]["term"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "adverse_event", "serious": False, "related": "possible"}, "ctcae_grade"),
        ({**AE, "ctcae_grade": 0}, "ctcae_grade"),
        ({**AE, "ctcae_grade": 6}, "ctcae_grade"),
        ({**AE, "ctcae_grade": "3"}, "ctcae_grade"),
        ({"outcome": "adverse_event", "ctcae_grade": 3, "related": "possible"}, "serious"),
        ({**AE, "serious": "perhaps"}, "serious"),
        ({"outcome": "adverse_event", "ctcae_grade": 3, "serious": True}, "related"),
        ({**AE, "related": "likely"}, "related"),
        ({"outcome": "not_ae", "ctcae_grade": 2}, "ctcae_grade"),
        ({**AE, "note": "x" * 2001}, "note"),
        ({**AE, "grade": 2}, "grade"),
    ],
)
def test_resolve_validation_answers_422_and_writes_nothing(
    raise_flag, staff_client, db, body, field
):
    flag_id = raise_flag()
    response = staff_client("investigator").post(f"staff/flags/{flag_id}/resolve", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _status(db, flag_id) == "open"
    assert db.execute("SELECT count(*) FROM adverse_events").fetchone()[0] == 0


def test_unknown_flag_is_404(staff_client):
    client = staff_client("investigator")
    assert client.get("staff/flags/999").status_code == 404
    assert client.get(f"staff/flags/{2**64}").status_code == 404
    assert client.get("staff/flags/-1").status_code == 404
    assert client.post("staff/flags/999/acknowledge").status_code == 404
    assert client.post("staff/flags/999/resolve", {"outcome": "not_ae"}).status_code == 404


def test_list_filters(raise_flag, staff_client):
    a = raise_flag("LBP-001", kind="pain_flare", severity="high")
    b = raise_flag("LBP-001", kind="opioid_threshold", severity="urgent", detail={"max_mme": 95})
    c = raise_flag("LBP-002", site="SITE-C", kind="missed_entries", severity="low")
    admin = staff_client("admin", ())
    client = staff_client("coordinator", ("SITE-A", "SITE-C"))
    client.post(f"staff/flags/{a}/acknowledge")

    def ids(query=""):
        response = client.get(f"staff/flags{query}")
        assert response.status_code == 200, response.get_json()
        return [f["id"] for f in response.get_json()["flags"]]

    assert ids() == [b, a, c]  # by severity first; at one severity, open before acknowledged
    assert ids("?status=acknowledged") == [a]
    assert ids("?severity=urgent") == [b]
    assert ids("?kind=missed_entries") == [c]
    assert ids("?site=SITE-C") == [c]
    assert ids("?status=open&site=SITE-A") == [b]
    assert client.get("staff/flags?status=closed").status_code == 422
    assert client.get("staff/flags?severity=medium").status_code == 422
    assert sorted(f["id"] for f in admin.get("staff/flags").get_json()["flags"]) == [a, b, c]
    other = staff_client("coordinator", ("SITE-B",))
    assert other.get("staff/flags").get_json()["flags"] == []


def test_the_inbox_lists_unresolved_flags_in_working_order(raise_flag, staff_client, db):
    """The console shows this list as it comes: the server owns the inbox's order."""
    low = raise_flag("LBP-001", kind="missed_entries", severity="low")
    acked = raise_flag("LBP-001", kind="pain_flare", severity="high")
    urgent = raise_flag("LBP-002", kind="opioid_threshold", severity="urgent")
    done = raise_flag("LBP-003", kind="opioid_increase", severity="high")
    client = staff_client("coordinator", ("SITE-A",))
    client.post(f"staff/flags/{acked}/acknowledge")
    db.execute("UPDATE flags SET status = 'resolved' WHERE id = ?", [done])
    response = client.get("staff/flags?status=unresolved")
    assert response.status_code == 200, response.get_json()
    assert [f["id"] for f in response.get_json()["flags"]] == [urgent, acked, low]


MANUAL = {
    "source": "interview",
    "term": "Dizziness",
    "onset_date": "2025-10-09",
    "ctcae_grade": 1,
    "serious": False,
    "related": "unlikely",
    "note": "reported at the month-1 visit",
}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("investigator", 201),
        ("coordinator", 403),
        ("other_investigator", 404),
        ("participant", 403),
        ("anonymous", 401),
    ],
)
def test_recording_an_adverse_event_no_flag_raised(enroll, client_as, db, who, status):
    enroll("LBP-001", site="SITE-A", injection_date=INJECTED)
    client = client_as(who)
    response = client.post("staff/participants/LBP-001/adverse-events", MANUAL)
    assert response.status_code == status, response.get_json()
    if status == 201:
        body = response.get_json()
        assert {**MANUAL, "flag_id": None, "study_id": "LBP-001"}.items() <= body.items()
        listed = client.get("staff/participants/LBP-001/adverse-events").get_json()
        assert [e["id"] for e in listed["adverse_events"]] == [body["id"]]
        (row,) = access_queries.trail(db, object_type="adverse_event")
        assert row["actor_type"] == "staff" and row["after"]["term"] == "Dizziness"
    else:
        assert db.execute("SELECT count(*) FROM adverse_events").fetchone()[0] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"source": "flag"},
        {"term": ""},
        {"onset_date": "2025-13-01"},
        {"ctcae_grade": 9},
        {"related": None},
    ],
)
def test_manual_adverse_event_validation(enroll, staff_client, db, change):
    enroll("LBP-001", site="SITE-A", injection_date=INJECTED)
    response = staff_client("investigator").post(
        "staff/participants/LBP-001/adverse-events", {**MANUAL, **change}
    )
    assert response.status_code == 422
    assert set(change) <= set(response.get_json()["error"]["fields"])


@pytest.mark.parametrize("outcome", [{"outcome": "not_ae"}, AE])
@pytest.mark.parametrize(
    "kind, severity", [("red_flag_symptom", "high"), ("opioid_threshold", "urgent")]
)
def test_a_red_flag_or_urgent_flag_is_not_resolved_without_its_reason(
    raise_flag, staff_client, db, kind, severity, outcome
):
    flag_id = raise_flag(kind=kind, severity=severity, detail={"max_mme": 95})
    investigator = staff_client("investigator")
    assert investigator.get(f"staff/flags/{flag_id}").get_json()["resolution_note_required"]
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    for note in (None, "", "   "):
        body = {**outcome, **({} if note is None else {"note": note})}
        refused = investigator.post(f"staff/flags/{flag_id}/resolve", body)
        assert refused.status_code == 422
        assert "note" in refused.get_json()["error"]["fields"]
    assert _status(db, flag_id) == "open"
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before
    done = investigator.post(
        f"staff/flags/{flag_id}/resolve", {**outcome, "note": "Called her: no fever since."}
    )
    assert done.status_code == 200, done.get_json()
    history = investigator.get(f"staff/flags/{flag_id}").get_json()["timeline"]
    assert any(
        e.get("after", {}) and e["after"].get("note") == "Called her: no fever since."
        for e in history
    )


def test_a_low_flag_may_be_resolved_without_a_note(raise_flag, staff_client, db):
    flag_id = raise_flag(kind="missed_entries", severity="low")
    investigator = staff_client("investigator")
    assert not investigator.get(f"staff/flags/{flag_id}").get_json()["resolution_note_required"]
    assert (
        investigator.post(f"staff/flags/{flag_id}/resolve", {"outcome": "not_ae"}).status_code
        == 200
    )
