"""The participant's questionnaires over the API: list, read, answer once, correct with a
reason; the window enforced by the server; staff see each response (SPEC §13)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine

from diary import clock

DAY0 = date(2026, 3, 1)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def at(*args):
    return time_machine.travel(utc(*args), tick=False)


@pytest.fixture
def phone(participant_client):
    with at(2026, 3, 1, 15):
        return participant_client("LBP-001", injection_date=DAY0)


def occurrence(phone, instrument, n=0):
    listed = phone.get("questionnaires").get_json()["questionnaires"]
    return [q for q in listed if q["instrument"] == instrument][n]


def answer(answers, **extra):
    return {
        "client_id": str(uuid.uuid4()),
        "answers": answers,
        "device_time": clock.iso(clock.now()),
        **extra,
    }


ALL = {"walk": "some", "aid": True, "aid_kind": "a stick", "days_off": 2, "hours": 3.5}


def counts(db):
    return tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("questionnaire_responses", "questionnaire_writes", "audit_log")
    )


def test_the_list_shows_each_questionnaire_with_its_status_and_window(phone):
    with at(2026, 3, 1, 16):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
    assert [(q["instrument"], q["due_date"], q["status"]) for q in listed[:3]] == [
        ("all-types", "2026-03-01", "open"),
        ("peg", "2026-03-08", "upcoming"),
        ("all-types", "2026-03-15", "upcoming"),
    ]
    assert listed[1]["window_opens"] == "2026-03-05T06:00:00.000000+00:00"
    assert listed[1]["title"] == "Pain, enjoyment of life and general activity (PEG)"


def test_a_questionnaire_comes_with_its_fhir_resource(phone):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        detail = phone.get(f"questionnaires/{q['id']}").get_json()
    assert detail["questionnaire"]["resourceType"] == "Questionnaire"
    assert detail["questionnaire"]["id"] == "all-types"
    assert detail["response"] is None


def test_answers_are_stored_scored_and_replayed_once(phone, db):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        body = answer({**ALL, "walk": "far"})  # walking far hides the walking-aid questions
        first = phone.put(f"questionnaires/{q['id']}/response", body)
        assert first.status_code == 201, first.get_json()
        done = first.get_json()
        assert done["status"] == "completed"
        assert done["response"]["answers"] == {"walk": "far", "days_off": 2, "hours": 3.5}
        assert done["scores"] == {"effort": 2.0}
        before = counts(db)
        for _ in range(20):
            again = phone.put(f"questionnaires/{q['id']}/response", body)
            assert again.status_code == 200
            assert again.get_json()["response"] == done["response"]
        assert counts(db) == before
        reused = phone.put(
            f"questionnaires/{q['id']}/response", {**body, "answers": {**ALL, "days_off": 5}}
        )
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "client_id_conflict"
    assert counts(db) == before


def test_20_racing_first_answers_leave_one_response(app, phone, db):
    results = []
    barrier = threading.Barrier(20)

    def put(target):
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        barrier.wait()
        response = client.put(
            f"/api/v1/questionnaires/{target}/response",
            json=answer(ALL),
            headers={"X-CSRF-Token": csrf},
        )
        results.append(response.status_code)

    with at(2026, 3, 1, 16):
        target = occurrence(phone, "all-types")["id"]
        csrf = phone.csrf()
        cookie = phone.client.get_cookie("diary_session")
        threads = [threading.Thread(target=put, args=(target,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [201] + [422] * 19  # the rest would be changes without a reason
    assert db.execute("SELECT count(*) FROM questionnaire_responses").fetchone()[0] == 1


@pytest.mark.parametrize(
    "answers, field",
    [
        ({**ALL, "days_off": 9}, "days_off"),
        ({k: v for k, v in ALL.items() if k != "walk"}, "walk"),
        ({**ALL, "shoe": 1}, "shoe"),
        ({**ALL, "walk": "fast"}, "walk"),
    ],
)
def test_answers_that_do_not_fit_are_422_naming_the_link_id(phone, db, answers, field):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        before = counts(db)
        response = phone.put(f"questionnaires/{q['id']}/response", answer(answers))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]["answers"]
    assert counts(db) == before


def test_the_window_is_the_servers(phone, db):
    with at(2026, 3, 1, 16):
        peg = occurrence(phone, "peg")
        early = phone.put(
            f"questionnaires/{peg['id']}/response",
            answer({"pain": "4", "enjoyment": "3", "activity": "5"}),
        )
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "window_not_open"
    with at(2026, 3, 16, 5, 0):  # the PEG window closed as 15 March ended in Chicago
        late = phone.put(
            f"questionnaires/{peg['id']}/response",
            answer({"pain": "4", "enjoyment": "3", "activity": "5"}),
        )
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "window_closed"
    assert db.execute("SELECT count(*) FROM questionnaire_responses").fetchone()[0] == 0


def test_answers_made_offline_in_the_window_are_kept_and_marked_synced_late(phone, db):
    with at(2026, 3, 15, 23, 0):
        peg = occurrence(phone, "peg")
        made = answer({"pain": "4", "enjoyment": "3", "activity": "5"})
    with at(2026, 3, 18, 12, 0):  # back in signal three days after the window closed
        sent = phone.put(f"questionnaires/{peg['id']}/response", made)
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body["synced_late"] is True and body["scores"] == {"peg_score": 4.0}


def test_a_change_needs_a_reason_and_the_audit_keeps_both_versions(phone, db):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        phone.put(f"questionnaires/{q['id']}/response", answer(ALL))
        missing = phone.put(f"questionnaires/{q['id']}/response", answer({**ALL, "days_off": 4}))
        assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
        fixed = phone.put(
            f"questionnaires/{q['id']}/response",
            answer({**ALL, "days_off": 4}, reason="I counted wrong"),
        )
    assert fixed.status_code == 200
    assert fixed.get_json()["response"]["version"] == 2
    assert fixed.get_json()["scores"] == {"effort": 5.0}
    before, after, reason = db.execute(
        "SELECT before, after, reason FROM audit_log WHERE action = 'questionnaire.correct'"
    ).fetchone()
    assert json.loads(before)["answers"]["days_off"] == 2
    assert json.loads(after)["answers"]["days_off"] == 4
    assert reason == "I counted wrong"


def test_another_participants_questionnaire_is_not_found(phone, participant_client, db):
    with at(2026, 3, 1, 15):
        other = participant_client("LBP-002", injection_date=DAY0)
    with at(2026, 3, 1, 16):
        theirs = occurrence(other, "all-types")
        assert phone.get(f"questionnaires/{theirs['id']}").status_code == 404
        response = phone.put(f"questionnaires/{theirs['id']}/response", answer(ALL))
    assert response.status_code == 404
    assert db.execute("SELECT count(*) FROM questionnaire_responses").fetchone()[0] == 0


def test_staff_see_responses_at_their_sites_only(phone, staff_client):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        phone.put(f"questionnaires/{q['id']}/response", answer(ALL))
        mine = staff_client("coordinator", ("SITE-A",))
        elsewhere = staff_client("coordinator", ("SITE-B",))
        seen = mine.get("staff/participants/LBP-001/questionnaires")
        hidden = elsewhere.get("staff/participants/LBP-001/questionnaires")
    assert seen.status_code == 200
    done = [q for q in seen.get_json()["questionnaires"] if q["status"] == "completed"]
    assert done[0]["response"]["answers"]["days_off"] == 2
    walk = next(i for i in done[0]["response"]["items"] if i["link_id"] == "walk")
    assert walk == {
        "link_id": "walk",
        "text": "How far can you walk?",
        "answer": "some",
        "display": "Less than a mile",
        "score": 1,
    }
    assert hidden.status_code == 404


def test_staff_clarify_a_missed_questionnaire_with_a_reason(phone, staff_client, db):
    with at(2026, 3, 1, 16):
        target = occurrence(phone, "all-types")
    with at(2026, 3, 6, 16):  # the window closed on 3 March
        coordinator = staff_client("coordinator", ("SITE-A",))
        body = {"client_id": str(uuid.uuid4()), "answers": {"walk": "far", "days_off": 1}}
        refused = coordinator.put(
            f"staff/participants/LBP-001/questionnaires/{target['id']}/response", body
        )
        assert refused.status_code == 422 and "reason" in refused.get_json()["error"]["fields"]
        done = coordinator.put(
            f"staff/participants/LBP-001/questionnaires/{target['id']}/response",
            {**body, "reason": "answered by phone call"},
        )
        elsewhere = staff_client("coordinator", ("SITE-B",))
        hidden = elsewhere.put(
            f"staff/participants/LBP-001/questionnaires/{target['id']}/response",
            {**body, "client_id": str(uuid.uuid4()), "reason": "answered by phone call"},
        )
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["status"] == "completed" and done.get_json()["synced_late"] is False
    assert hidden.status_code == 404
    action, reason = db.execute(
        "SELECT action, reason FROM audit_log WHERE object_type = 'questionnaire'"
        " AND action LIKE 'questionnaire.%' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (action, reason) == ("questionnaire.clarify", "answered by phone call")
    assert (
        db.execute("SELECT entered_by FROM questionnaire_responses")
        .fetchone()[0]
        .startswith("coordinator")
    )


def test_a_participant_cannot_use_the_staff_endpoint(phone):
    with at(2026, 3, 1, 16):
        target = occurrence(phone, "all-types")
        response = phone.put(
            f"staff/participants/LBP-001/questionnaires/{target['id']}/response",
            {"client_id": str(uuid.uuid4()), "answers": ALL, "reason": "mine"},
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"answers": {**ALL, "comment": "\ud800"}}, "answers"),
        ({"answers": {**ALL, "days_off": 10**400}}, "answers"),
        ({"device_time": "0001-01-01T00:00:00+05:00"}, "device_time"),
        ({"device_time": "9999-12-31T23:59:59-05:00"}, "device_time"),
        ({"reason": "\ud800\ud800\ud800"}, "reason"),
    ],
)
def test_input_no_export_could_hold_is_422_and_writes_nothing(phone, db, change, field):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        before = counts(db)
        body = {**answer(ALL), **change}
        response = phone.client.put(
            f"/api/v1/questionnaires/{q['id']}/response",
            data=json.dumps(body),  # json.dumps writes a lone surrogate as \\ud800
            content_type="application/json",
            headers={"X-CSRF-Token": phone.csrf()},
        )
    assert response.status_code == 422, response.get_data(as_text=True)
    named = response.get_json()["error"]["fields"]
    assert any(k == field or k.startswith(f"{field}.") for k in named), named
    assert counts(db) == before


def test_a_change_keeps_when_the_answers_first_arrived(phone, db):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        first = phone.put(f"questionnaires/{q['id']}/response", answer(ALL)).get_json()
    with at(2026, 3, 3, 16):  # the window is open until 3 March ends
        changed = phone.put(
            f"questionnaires/{q['id']}/response",
            answer({**ALL, "days_off": 3}, reason="counted again"),
        ).get_json()
    assert changed["completed_at"] == first["completed_at"]
    assert changed["synced_late"] is False and changed["response"]["version"] == 2


def test_after_the_window_only_staff_change_answers(phone, db):
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        phone.put(f"questionnaires/{q['id']}/response", answer(ALL))
        backdated = answer({**ALL, "days_off": 6}, reason="changed my mind")  # made in time …
    with at(2026, 3, 5, 12):  # … sent after the window closed
        late = phone.put(f"questionnaires/{q['id']}/response", backdated)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "window_closed"
    assert (
        json.loads(db.execute("SELECT answers FROM questionnaire_responses").fetchone()[0])[
            "days_off"
        ]
        == 2
    )


def test_a_locked_participant_cannot_answer_and_staff_cannot_clarify(phone, db, make_staff, login):
    from diary import audit
    from diary.db import transaction
    from diary.participants import queries as participant_queries
    from diary.signoff import locks

    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    with at(2026, 3, 1, 16):
        q = occurrence(phone, "all-types")
        participant = participant_queries.get_by_study_id(db, "LBP-001")
        with transaction(db):
            locks.lock(db, participant, reason="withdrawn", actor=audit.CLI, now=clock.now())
        coordinator = login("coord@a.test")
        before = counts(db)
        refused = phone.put(f"questionnaires/{q['id']}/response", answer(ALL))
        staff = coordinator.put(
            f"staff/participants/LBP-001/questionnaires/{q['id']}/response",
            {
                "client_id": str(uuid.uuid4()),
                "answers": ALL,
                "reason": "answered on paper at the visit",
            },
        )
    for response in (refused, staff):
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == "locked"
    assert counts(db) == before
