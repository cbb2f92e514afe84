"""The inbox as coordinators work it: what needs action first, escalation shown with
when and to whom, simultaneous opioid flags as one item acted on as one, coordinators
closing non-clinical flags with a reason, and the log of contact attempts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from diary import audit, clock
from diary.audit import access_queries
from diary.db import transaction
from diary.flags import episodes as flag_episodes
from diary.flags.rules import Finding
from diary.jobs import escalations
from diary.participants import queries as participant_queries

INJECTED = date(2025, 10, 1)
AE = {"outcome": "adverse_event", "ctcae_grade": 2, "serious": False, "related": "possible"}
DETAILS = {
    "opioid_threshold": {"max_mme": 60, "days": 2},
    "opioid_increase": {"max_mean_mme": 45, "baseline_mme": 10, "days": 3},
    "missed_entries": {"count": 2, "dates": ["2025-10-05", "2025-10-06"]},
    "pain_flare": {"max_back_pain": 9, "baseline_back_pain": 4, "days": 2},
    "red_flag_symptom": {"symptoms": ["fever"], "temperature_c": 38.6},
}


@pytest.fixture
def raise_flag(app, db, enroll):
    """raise_flag(study_id, kind, severity, first, last) → flag id, as the engine does."""

    def make(
        study_id="LBP-001",
        kind="pain_flare",
        severity="high",
        first=date(2025, 10, 5),
        last=date(2025, 10, 6),
        site="SITE-A",
        now=None,
    ):
        if participant_queries.get_by_study_id(db, study_id) is None:
            enroll(study_id, site=site, injection_date=INJECTED)
        participant = participant_queries.get_by_study_id(db, study_id)
        with transaction(db):
            flag_id, _ = flag_episodes.upsert(
                db,
                app.extensions["diary.study"].thresholds,
                participant=participant,
                finding=Finding(kind, severity, first, last, DETAILS[kind]),
                episode_key=f"{kind}-{first.isoformat()}",
                actor=audit.system("test"),
                now=now or clock.now(),
            )
        return flag_id

    return make


def _flags(client, query=""):
    response = client.get(f"staff/flags{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["flags"]


def _row(db, flag_id):
    return next(
        db.query(
            "SELECT status, outcome, resolution_note, resolved_by FROM flags WHERE id = ?",
            [flag_id],
        )
    )


# --- 3. what needs action first ------------------------------------------------------


def test_the_inbox_puts_urgent_before_high_and_open_before_acknowledged(
    raise_flag, staff_client, db
):
    low_acked = raise_flag("LBP-001", "missed_entries", "low")
    high_acked = raise_flag("LBP-002", "pain_flare", "high")
    urgent_acked = raise_flag("LBP-003", "red_flag_symptom", "urgent")
    low_open = raise_flag("LBP-004", "missed_entries", "low")
    high_open = raise_flag("LBP-005", "pain_flare", "high")
    urgent_open = raise_flag("LBP-006", "red_flag_symptom", "urgent")
    resolved = raise_flag("LBP-007", "red_flag_symptom", "urgent")
    coordinator = staff_client("coordinator")
    for flag_id in (low_acked, high_acked, urgent_acked, resolved):
        assert coordinator.post(f"staff/flags/{flag_id}/acknowledge").status_code == 200
    investigator = staff_client("investigator")
    done = investigator.post(
        f"staff/flags/{resolved}/resolve", {"outcome": "not_ae", "note": "Seen at the clinic."}
    )
    assert done.status_code == 200

    assert [f["id"] for f in _flags(coordinator)] == [
        urgent_open,
        urgent_acked,
        high_open,
        high_acked,
        low_open,
        low_acked,
        resolved,
    ]


def test_an_urgent_flag_shows_when_it_escalates_and_then_when_and_to_whom_it_escalated(
    app, raise_flag, staff_client, make_staff, db
):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    make_staff("boss@study.test", "admin", ())
    make_staff("doc@b.test", "investigator", ("SITE-B",))
    minutes = app.extensions["diary.study"].escalation_after_minutes
    became_urgent = clock.now() - timedelta(minutes=minutes + 5)
    urgent = raise_flag("LBP-001", "red_flag_symptom", "urgent", now=became_urgent)
    high = raise_flag("LBP-002", "pain_flare", "high")
    coordinator = staff_client("coordinator")

    (waiting,) = [f for f in _flags(coordinator) if f["id"] == urgent]
    assert waiting["escalation"]["escalated_at"] is None
    assert waiting["escalation"]["escalated_to"] == []
    escalates_at = became_urgent + timedelta(minutes=minutes)
    assert waiting["escalation"]["escalates_at"] == escalates_at.isoformat()
    assert coordinator.get(f"staff/flags/{high}").get_json()["escalation"] is None

    with app.app_context():
        escalations.run(db, now=clock.now(), study=app.extensions["diary.study"], config={})
    escalation = coordinator.get(f"staff/flags/{urgent}").get_json()["escalation"]
    assert escalation["escalated_at"] is not None
    assert escalation["escalates_at"] is None
    assert escalation["escalated_to"] == [
        {"email": "boss@study.test", "role": "admin"},
        {"email": "doc@a.test", "role": "investigator"},
    ]


# --- 3. simultaneous opioid flags are one inbox item ---------------------------------


@pytest.fixture
def opioid_item(raise_flag):
    """LBP-001: a threshold flag (5-7 Oct) and an increase flag (7-9 Oct) overlapping;
    LBP-002: the same two kinds on dates that do not overlap."""
    threshold = raise_flag(
        "LBP-001", "opioid_threshold", "urgent", date(2025, 10, 5), date(2025, 10, 7)
    )
    increase = raise_flag(
        "LBP-001", "opioid_increase", "high", date(2025, 10, 7), date(2025, 10, 9)
    )
    apart = (
        raise_flag("LBP-002", "opioid_threshold", "high", date(2025, 10, 2), date(2025, 10, 3)),
        raise_flag("LBP-002", "opioid_increase", "high", date(2025, 10, 8), date(2025, 10, 9)),
    )
    flare = raise_flag("LBP-001", "pain_flare", "high", date(2025, 10, 6), date(2025, 10, 7))
    return threshold, increase, apart, flare


def test_overlapping_opioid_flags_of_one_participant_are_listed_as_one_item(
    opioid_item, staff_client
):
    threshold, increase, apart, flare = opioid_item
    flags = _flags(staff_client("coordinator"))
    merged = {f["id"]: f["merged_with"] for f in flags}
    assert merged[threshold] == [increase] and merged[increase] == [threshold]
    assert merged[apart[0]] == merged[apart[1]] == merged[flare] == []
    order = [f["id"] for f in flags]
    # The item takes the place of its most pressing flag (urgent), its flags together.
    assert order[:2] == [threshold, increase]


def test_acknowledging_and_resolving_the_item_acts_on_both_flags_each_audited(
    opioid_item, staff_client, db
):
    threshold, increase, _, flare = opioid_item
    item = f"{threshold},{increase}"  # the flags the console showed
    coordinator = staff_client("coordinator")
    acked = coordinator.post(f"staff/flags/{threshold}/acknowledge?merged=true&seen={item}")
    assert acked.status_code == 200, acked.get_json()
    assert _row(db, threshold)["status"] == _row(db, increase)["status"] == "acknowledged"
    assert _row(db, flare)["status"] == "open"
    rows = access_queries.trail(db, object_type="flag", object_id=str(increase))
    assert rows[0]["action"] == "flag.acknowledge"
    assert rows[0]["after"] == {"status": "acknowledged", "with_flags": [threshold]}
    again = coordinator.post(f"staff/flags/{increase}/acknowledge?merged=true&seen={item}")
    assert again.status_code == 409

    investigator = staff_client("investigator")
    note = "Called him: a new prescription from his GP; agreed to taper."
    unexplained = investigator.post(f"staff/flags/{increase}/resolve?merged=true&seen={item}", AE)
    assert unexplained.status_code == 422  # the urgent flag of the item needs the reason
    assert "note" in unexplained.get_json()["error"]["fields"]
    resolved = investigator.post(
        f"staff/flags/{increase}/resolve?merged=true&seen={item}", {**AE, "note": note}
    )
    assert resolved.status_code == 200, resolved.get_json()
    event = resolved.get_json()["adverse_event"]
    # One event, recorded once, naming both findings, from the item's first date.
    assert db.execute("SELECT count(*) FROM adverse_events").fetchone()[0] == 1
    assert event["onset_date"] == "2025-10-05"
    assert "Opioid use above 50 MME/day" in event["term"]
    assert "Increased opioid use" in event["term"]
    for flag_id in (threshold, increase):
        assert _row(db, flag_id)["status"] == "resolved"
        assert _row(db, flag_id)["outcome"] == "adverse_event"
        assert _row(db, flag_id)["resolution_note"] == note
    (companion,) = access_queries.trail(db, object_type="flag", object_id=str(threshold), limit=1)
    assert companion["after"]["adverse_event_id"] == event["id"]
    assert companion["after"]["with_flags"] == [increase]
    assert _row(db, flare)["status"] == "open"
    assert audit.verify(db).ok


def test_an_item_that_gained_a_flag_since_it_was_shown_is_not_acted_on_blind(
    opioid_item, raise_flag, staff_client, db
):
    """Acting on an item acts on the flags staff were shown (`seen`), never on one that
    joined it since: an urgent flag acknowledged unseen would never escalate."""
    threshold, increase, _, _ = opioid_item
    coordinator = staff_client("coordinator")
    shown = f"{threshold},{increase}"
    joined = raise_flag(
        "LBP-001", "opioid_threshold", "urgent", date(2025, 10, 9), date(2025, 10, 10)
    )
    stale = coordinator.post(f"staff/flags/{threshold}/acknowledge?merged=true&seen={shown}")
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "item_changed"
    assert {_row(db, i)["status"] for i in (threshold, increase, joined)} == {"open"}
    unseen = coordinator.post(f"staff/flags/{threshold}/acknowledge?merged=true")
    assert unseen.status_code == 422 and "seen" in unseen.get_json()["error"]["fields"]
    resolve = staff_client("investigator").post(
        f"staff/flags/{threshold}/resolve?merged=true&seen={shown}",
        {"outcome": "not_ae", "note": "Known."},
    )
    assert resolve.status_code == 409 and _row(db, joined)["status"] == "open"

    fresh = coordinator.post(
        f"staff/flags/{threshold}/acknowledge?merged=true&seen={shown},{joined}"
    )
    assert fresh.status_code == 200
    assert {_row(db, i)["status"] for i in (threshold, increase, joined)} == {"acknowledged"}


def test_without_merged_the_api_acts_on_one_flag(opioid_item, staff_client, db):
    threshold, increase, _, _ = opioid_item
    response = staff_client("coordinator").post(f"staff/flags/{threshold}/acknowledge")
    assert response.status_code == 200
    assert (_row(db, threshold)["status"], _row(db, increase)["status"]) == (
        "acknowledged",
        "open",
    )


def test_a_resolved_flag_leaves_the_item(opioid_item, staff_client):
    threshold, increase, _, _ = opioid_item
    investigator = staff_client("investigator")
    investigator.post(f"staff/flags/{threshold}/resolve", {"outcome": "not_ae", "note": "Known."})
    listed = {f["id"]: f["merged_with"] for f in _flags(investigator)}
    assert listed[threshold] == [] and listed[increase] == []


# --- 2. coordinators close what is theirs ---------------------------------------------


@pytest.mark.parametrize("kind", ["missed_entries"])
def test_a_coordinator_closes_a_missed_entries_flag_with_the_reason(
    raise_flag, staff_client, db, kind
):
    flag_id = raise_flag(kind=kind, severity="low")
    coordinator = staff_client("coordinator")
    shown = coordinator.get(f"staff/flags/{flag_id}").get_json()
    assert shown["actions"] == ["acknowledge", "close", "contact"]
    assert shown["allowed_roles"]["close"] == ["coordinator", "investigator"]
    assert shown["allowed_roles"]["resolve"] == ["investigator"]

    for reason in ("", "  ", "ok"):
        refused = coordinator.post(f"staff/flags/{flag_id}/close", {"reason": reason})
        assert refused.status_code == 422, reason
        assert "reason" in refused.get_json()["error"]["fields"]
    closed = coordinator.post(
        f"staff/flags/{flag_id}/close", {"reason": "Participant contacted, will resume."}
    )
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert (body["status"], body["outcome"], body["resolution_note"]) == (
        "resolved",
        None,
        "Participant contacted, will resume.",
    )
    assert body["resolved_by"].startswith("coordinator")
    assert body["actions"] == ["contact"]
    (row, *_) = access_queries.trail(db, object_type="flag", object_id=str(flag_id))
    assert row["action"] == "flag.close"
    assert row["reason"] == "Participant contacted, will resume."
    assert row["after"]["status"] == "resolved"
    assert coordinator.post(f"staff/flags/{flag_id}/close", {"reason": "again!"}).status_code == 409
    timeline = coordinator.get(f"staff/flags/{flag_id}").get_json()["timeline"]
    assert any(e["action"] == "flag.close" for e in timeline)


@pytest.mark.parametrize(
    "kind, severity",
    [
        ("pain_flare", "high"),
        ("red_flag_symptom", "urgent"),
        ("opioid_threshold", "high"),
        ("opioid_increase", "high"),
    ],
)
def test_clinical_flags_stay_with_investigators(raise_flag, staff_client, db, kind, severity):
    flag_id = raise_flag(kind=kind, severity=severity)
    coordinator = staff_client("coordinator")
    shown = coordinator.get(f"staff/flags/{flag_id}").get_json()
    assert "close" not in shown["actions"] and "resolve" not in shown["actions"]
    assert shown["allowed_roles"]["close"] == []
    refused = coordinator.post(f"staff/flags/{flag_id}/close", {"reason": "Spoke to her."})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "clinical_flag"
    assert _row(db, flag_id)["status"] == "open"
    investigator = staff_client("investigator")
    assert (
        investigator.post(f"staff/flags/{flag_id}/close", {"reason": "Spoke to her."}).status_code
        == 403
    )
    assert investigator.get(f"staff/flags/{flag_id}").get_json()["actions"] == [
        "acknowledge",
        "resolve",
        "contact",
    ]


@pytest.mark.parametrize(
    "role, sites, status",
    [
        ("investigator", ("SITE-A",), 200),
        ("admin", (), 403),
        ("coordinator", ("SITE-B",), 404),
    ],
)
def test_who_may_close_a_missed_entries_flag(raise_flag, staff_client, db, role, sites, status):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    client = staff_client(role, sites)
    response = client.post(f"staff/flags/{flag_id}/close", {"reason": "Back in the app."})
    assert response.status_code == status
    assert _row(db, flag_id)["status"] == ("resolved" if status == 200 else "open")


# --- 1. contact attempts ---------------------------------------------------------------


def _attempt(**changes):
    return {
        "attempted_at": (clock.now() - timedelta(minutes=20)).isoformat(),
        "method": "phone",
        "outcome": "no_answer",
        "note": "Rang twice, no voicemail.",
        **changes,
    }


def test_contact_attempts_are_logged_audited_and_shown_latest_first(raise_flag, staff_client, db):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    coordinator = staff_client("coordinator")
    first = coordinator.post(f"staff/flags/{flag_id}/contacts", _attempt())
    assert first.status_code == 201, first.get_json()
    later = _attempt(
        attempted_at=(clock.now() - timedelta(minutes=2)).isoformat(),
        method="sms",
        outcome="reached",
        note="Replied: phone was broken, back from today.",
    )
    second = staff_client("investigator").post(f"staff/flags/{flag_id}/contacts", later)
    assert second.status_code == 201

    shown = coordinator.get(f"staff/flags/{flag_id}").get_json()["contact_attempts"]
    assert [(a["method"], a["outcome"]) for a in shown] == [
        ("sms", "reached"),
        ("phone", "no_answer"),
    ]
    assert shown[1]["note"] == "Rang twice, no voicemail."
    assert shown[1]["recorded_by"].startswith("coordinator")
    rows = access_queries.trail(db, object_type="contact_attempt")
    assert [r["action"] for r in rows] == ["contact_attempt.record"] * 2
    assert rows[1]["after"]["flag_id"] == flag_id
    assert rows[1]["after"]["note"] == "Rang twice, no voicemail."
    assert rows[1]["site_id"] is not None
    assert audit.verify(db).ok


@pytest.mark.parametrize(
    "change, field",
    [
        ({"method": "fax"}, "method"),
        ({"outcome": "maybe"}, "outcome"),
        ({"attempted_at": "yesterday"}, "attempted_at"),
        ({"attempted_at": "2025-10-07T10:00:00"}, "attempted_at"),  # no UTC offset
        ({"note": "x" * 2001}, "note"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_contact_attempt_is_checked(raise_flag, staff_client, db, change, field):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    response = staff_client("coordinator").post(
        f"staff/flags/{flag_id}/contacts", _attempt(**change)
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert db.execute("SELECT count(*) FROM contact_attempts").fetchone()[0] == 0


def test_a_contact_attempt_is_not_in_the_future(raise_flag, staff_client, db):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    tomorrow = (clock.now() + timedelta(days=1)).isoformat()
    response = staff_client("coordinator").post(
        f"staff/flags/{flag_id}/contacts", _attempt(attempted_at=tomorrow)
    )
    assert response.status_code == 422
    assert "attempted_at" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "role, sites, status",
    [
        ("admin", (), 403),
        ("coordinator", ("SITE-B",), 404),
        ("investigator", ("SITE-B",), 404),
    ],
)
def test_contact_attempts_are_site_scoped_and_not_the_admins(
    raise_flag, staff_client, db, role, sites, status
):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    coordinator = staff_client("coordinator")
    assert coordinator.post(f"staff/flags/{flag_id}/contacts", _attempt()).status_code == 201
    client = staff_client(role, sites)
    assert client.post(f"staff/flags/{flag_id}/contacts", _attempt()).status_code == status
    shown = client.get(f"staff/flags/{flag_id}")
    if status == 404:
        assert shown.status_code == 404
    else:
        assert len(shown.get_json()["contact_attempts"]) == 1
        assert "contact" not in shown.get_json()["actions"]
    assert db.execute("SELECT count(*) FROM contact_attempts").fetchone()[0] == 1


def test_participants_cannot_reach_the_contact_log(raise_flag, participant_client):
    flag_id = raise_flag(kind="missed_entries", severity="high")
    phone = participant_client("LBP-900", injection_date=INJECTED)
    assert phone.post(f"staff/flags/{flag_id}/contacts", _attempt()).status_code == 403
    assert phone.post(f"staff/flags/{flag_id}/close", {"reason": "I am back"}).status_code == 403
