"""Diary entries (SPEC §4, §5, §6 red flags, Appendix A)."""

import json
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

CHICAGO = ZoneInfo("America/Chicago")


def at(*args, tz=CHICAGO):
    """Travel to a wall-clock moment in `tz` (frozen)."""
    return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)


@pytest.fixture
def phone(participant_client):
    with at(2026, 3, 1, 9, 0):
        client = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    return client


def counts(db):
    return {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("entries", "doses", "entry_writes", "flags", "audit_log")
    }


# --- MME through the API ---------------------------------------------------


@pytest.mark.parametrize(
    "doses, mme, unconverted",
    [
        ([("oxycodone", 5, 6)], 45, []),
        ([("hydrocodone", 10, 4)], 40, []),
        ([("tramadol", 50, 4)], 40, []),
        ([("fentanyl_patch", 25, 1)], 60, []),
        ([("morphine", 15, 2), ("oxycodone", 10, 2)], 60, []),
        ([("buprenorphine", 8, 1)], None, ["buprenorphine"]),
        ([("oxycodone", 10, 2), ("buprenorphine", 2, 1)], 30, ["buprenorphine"]),
        ([], 0, []),
    ],
)
def test_daily_mme_is_stored_with_the_entry(phone, db, doses, mme, unconverted):
    with at(2026, 3, 2, 20, 0):
        body = entry(doses=[{"drug": d, "strength": s, "units": u} for d, s, u in doses])
        response = phone.put("entries/2026-03-02", body)
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert out["mme"] == mme and out["mme_unconverted"] == unconverted
    stored = db.execute("SELECT mme FROM entries").fetchone()[0]
    assert stored == mme  # None stays NULL: never counted as 0
    assert len(out["doses"]) == len(doses)


def test_mme_is_recomputed_on_correction(phone):
    with at(2026, 3, 2, 20, 0):
        phone.put(
            "entries/2026-03-02", entry(doses=[{"drug": "oxycodone", "strength": 5, "units": 2}])
        )
        fixed = phone.put(
            "entries/2026-03-02",
            entry(
                doses=[{"drug": "oxycodone", "strength": 5, "units": 6}],
                reason="I took six, not two",
            ),
        )
    assert fixed.status_code == 200
    assert fixed.get_json()["mme"] == 45 and fixed.get_json()["version"] == 2


# --- local dates, windows and DST --------------------------------------------


def test_2330_local_is_still_today_though_utc_is_tomorrow(phone, db):
    with at(2026, 3, 5, 23, 30):
        me = phone.get("me").get_json()
        assert me["today"] == "2026-03-05"
        response = phone.put("entries/2026-03-05", entry())
    assert response.status_code == 201
    assert response.get_json()["late"] is False
    assert response.get_json()["received_at"].startswith("2026-03-06T05:30")


def test_0030_local_can_enter_the_new_day_and_still_yesterday_late(phone):
    with at(2026, 3, 6, 0, 30):
        today = phone.put("entries/2026-03-06", entry())
        yesterday = phone.put("entries/2026-03-05", entry())
    assert today.status_code == 201 and today.get_json()["late"] is False
    assert yesterday.status_code == 201 and yesterday.get_json()["late"] is True


@pytest.mark.parametrize("day", ["2026-03-08", "2026-11-01"])  # DST starts, DST ends
def test_a_dst_change_day_holds_exactly_one_entry(participant_client, db, day):
    d = date.fromisoformat(day)
    before = d - timedelta(days=3)
    with at(before.year, before.month, before.day, 9, 0):  # sessions last 90 days
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    for hour, minute in ((0, 30), (1, 30), (3, 30), (23, 30)):
        with at(d.year, d.month, d.day, hour, minute):
            body = entry(reason=None if hour == 0 else "update")
            response = phone.put(f"entries/{day}", body)
            assert response.status_code in (200, 201), response.get_json()
            assert response.get_json()["date"] == day
    assert db.execute("SELECT count(*) FROM entries WHERE date = ?", [day]).fetchone()[0] == 1
    assert db.execute("SELECT version FROM entries").fetchone()[0] == 4


def test_the_window_closes_at_noon_the_next_local_day(phone, db):
    with at(2026, 3, 3, 11, 59):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    before = counts(db)
    with at(2026, 3, 4, 12, 1):
        response = phone.put("entries/2026-03-03", entry())
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "window_closed" and "12:00" in error["message"]
    assert counts(db) == before


def test_an_entry_made_offline_in_its_window_is_kept_when_it_syncs_late(phone, db):
    made = datetime(2026, 3, 3, 21, 15, tzinfo=CHICAGO)
    with at(2026, 3, 4, 18, 0):  # back in signal the next evening, after the window
        response = phone.put("entries/2026-03-03", entry(device_time=made.isoformat()))
    assert response.status_code == 201
    out = response.get_json()
    assert out["late"] is False  # made on its day
    assert out["synced_late"] is True  # but it reached the server after the window closed
    assert datetime.fromisoformat(out["device_time"]) == made
    assert out["received_at"].startswith("2026-03-05T00:00")
    assert db.execute("SELECT late, synced_late FROM entries").fetchone() == (0, 1)
    with at(2026, 3, 4, 18, 5):
        (listed,) = phone.get("entries?from=2026-03-03&to=2026-03-03").get_json()["entries"]
        assert phone.get("entries/2026-03-03").get_json()["synced_late"] is True
    assert listed["synced_late"] is True and listed["late"] is False


def test_an_entry_received_before_its_window_closes_is_not_synced_late(phone):
    with at(2026, 3, 3, 11, 59):  # yesterday's entry, one minute before noon
        response = phone.put("entries/2026-03-02", entry())
    out = response.get_json()
    assert response.status_code == 201
    assert (out["late"], out["synced_late"]) == (True, False)


def test_an_offline_correction_received_after_the_window_marks_the_entry_synced_late(phone, db):
    with at(2026, 3, 3, 20, 0):
        first = phone.put("entries/2026-03-03", entry(back_pain=3))
    assert first.get_json()["synced_late"] is False
    changed = datetime(2026, 3, 3, 22, 30, tzinfo=CHICAGO)  # changed offline that night
    with at(2026, 3, 4, 13, 0):  # sent an hour after the window closed
        response = phone.put(
            "entries/2026-03-03",
            entry(back_pain=6, device_time=changed.isoformat(), reason="worse at night"),
        )
    out = response.get_json()
    assert response.status_code == 200 and out["version"] == 2
    assert (out["late"], out["synced_late"]) == (False, True)


def test_a_staff_clarification_is_not_a_participant_sync(phone, staff_client, db):
    with at(2026, 3, 3, 20, 0):
        assert phone.put("entries/2026-03-03", entry()).status_code == 201
    made = datetime(2026, 3, 4, 21, 0, tzinfo=CHICAGO)
    with at(2026, 3, 5, 14, 0):  # synced after the 4th's window closed at noon
        assert phone.put("entries/2026-03-04", entry(device_time=made.isoformat())).status_code
    with at(2026, 3, 10, 9, 0):
        coordinator = staff_client("coordinator", ("SITE-A",))
        for day in ("2026-03-03", "2026-03-04"):
            response = coordinator.put(
                f"staff/participants/LBP-001/entries/{day}",
                entry(back_pain=5, reason="participant phoned: pain was 5"),
            )
            assert response.status_code == 200, response.get_json()
        shown = coordinator.get("staff/participants/LBP-001/entries").get_json()["entries"]
    # A clarification neither raises nor clears the participant's own sync state.
    assert {e["date"]: e["synced_late"] for e in shown} == {
        "2026-03-03": False,
        "2026-03-04": True,
    }
    assert {e["entered_by"] for e in shown} == {"staff"}
    with at(2026, 3, 10, 9, 5):
        created = coordinator.put(
            "staff/participants/LBP-001/entries/2026-03-05",
            entry(back_pain=4, reason="entered from the paper diary"),
        )
    assert created.status_code == 201 and created.get_json()["synced_late"] is False


# --- the device's clock ---------------------------------------------------------


def test_a_device_time_an_hour_ahead_of_the_server_is_422(phone, db):
    before = counts(db)
    with at(2026, 3, 2, 20, 0):
        ahead = datetime(2026, 3, 2, 21, 0, tzinfo=CHICAGO)
        response = phone.put("entries/2026-03-02", entry(device_time=ahead.isoformat()))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "ahead" in error["fields"]["device_time"][0]
    assert "date and time" in error["message"]  # says what to do about it
    assert counts(db) == before


def test_a_device_clock_a_few_minutes_fast_is_tolerated(phone):
    with at(2026, 3, 2, 20, 0):
        ahead = datetime(2026, 3, 2, 20, 4, tzinfo=CHICAGO)
        response = phone.put("entries/2026-03-02", entry(device_time=ahead.isoformat()))
    assert response.status_code == 201
    assert datetime.fromisoformat(response.get_json()["device_time"]) == ahead


def test_a_device_time_before_the_diary_date_began_is_422(phone, db):
    before = counts(db)
    with at(2026, 3, 5, 20, 0):
        earlier = datetime(2026, 3, 4, 20, 0, tzinfo=CHICAGO)  # the day before the date
        response = phone.put("entries/2026-03-05", entry(device_time=earlier.isoformat()))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "before 2026-03-05 began" in error["fields"]["device_time"][0]
    assert counts(db) == before


def test_the_start_of_the_date_is_judged_in_the_participants_zone(phone):
    # 23:58 on the 4th in Chicago is 05:58 on the 5th in UTC: the device's offset
    # does not matter, the instant does; two minutes early is within the skew.
    with at(2026, 3, 5, 0, 1):
        early = datetime(2026, 3, 4, 23, 58, tzinfo=CHICAGO).astimezone(ZoneInfo("UTC"))
        response = phone.put("entries/2026-03-05", entry(device_time=early.isoformat()))
    assert response.status_code == 201
    assert response.get_json()["late"] is False


def test_a_device_clock_cannot_reopen_a_closed_day(phone):
    with at(2026, 3, 20, 9, 0):
        response = phone.put(
            "entries/2026-03-03",
            entry(device_time=datetime(2026, 3, 3, 21, 0, tzinfo=CHICAGO).isoformat()),
        )
    assert response.status_code == 409


@pytest.mark.parametrize(
    "day, reason",
    [
        ("2026-03-07", "has not begun"),
        ("2026-02-28", "before day 0"),
        ("2028-03-01", "after the end"),
    ],
)
def test_dates_outside_the_diary_are_422(phone, db, day, reason):
    before = counts(db)
    with at(2026, 3, 6, 23, 59):
        response = phone.put(f"entries/{day}", entry())
    assert response.status_code == 422
    assert reason in response.get_json()["error"]["fields"]["date"][0]
    assert counts(db) == before


@pytest.mark.parametrize("day", ["2026-W10-3", "20260304", "2026-02-30", "٢٠٢٦-٠٣-٠٤", "2026-3-4"])
def test_a_path_date_not_written_yyyy_mm_dd_is_422_naming_the_date(phone, db, day):
    """One reading of a date in a URL: the ISO forms Python also accepts are refused."""
    before = counts(db)
    with at(2026, 3, 4, 20, 0):
        response = phone.put(f"entries/{day}", entry())
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.get_json()["error"]["fields"]["date"][0]
    assert counts(db) == before


def test_a_participant_in_another_zone_keeps_entries_in_the_zone_they_were_made(phone, db):
    with at(2026, 3, 4, 20, 0):
        phone.put("entries/2026-03-04", entry())
        phone.patch("me", {"timezone": "Asia/Kolkata"})
    kolkata = ZoneInfo("Asia/Kolkata")
    with at(2026, 3, 6, 8, 0, tz=kolkata):
        assert phone.get("me").get_json()["today"] == "2026-03-06"
        assert phone.put("entries/2026-03-06", entry()).status_code == 201
    zones = dict(db.execute("SELECT date, timezone FROM entries").fetchall())
    assert zones == {"2026-03-04": "America/Chicago", "2026-03-06": "Asia/Kolkata"}


# --- idempotency and races ------------------------------------------------------


def test_replaying_the_same_put_20_times_leaves_one_entry(phone, db):
    with at(2026, 3, 2, 20, 0):
        body = entry(doses=[{"drug": "oxycodone", "strength": 5, "units": 6}])
        statuses = [phone.put("entries/2026-03-02", body).status_code for _ in range(20)]
    assert statuses == [201] + [200] * 19
    c = counts(db)
    assert (c["entries"], c["doses"], c["entry_writes"]) == (1, 1, 1)


def test_same_client_id_with_other_content_is_409(phone, db):
    with at(2026, 3, 2, 20, 0):
        body = entry()
        phone.put("entries/2026-03-02", body)
        before = counts(db)
        response = phone.put("entries/2026-03-02", {**body, "back_pain": 9})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "client_id_conflict"
    assert counts(db) == before


def test_20_concurrent_puts_for_one_date_leave_one_entry(app, phone, db):
    results = []
    barrier = threading.Barrier(20)

    def put():
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        barrier.wait()
        response = client.put(
            "/api/v1/entries/2026-03-02", json=entry(), headers={"X-CSRF-Token": csrf}
        )
        results.append(response.status_code)

    with at(2026, 3, 2, 20, 0):
        csrf = phone.csrf()
        cookie = phone.client.get_cookie("diary_session")
        threads = [threading.Thread(target=put) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [201] + [422] * 19  # the others would be corrections without reason
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 1


# --- corrections ------------------------------------------------------------------


def test_a_correction_needs_a_reason_and_keeps_the_old_values_in_the_audit(phone, db):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry(back_pain=3, note="walked the dog"))
        before = counts(db)
        missing = phone.put("entries/2026-03-02", entry(back_pain=7))
        assert missing.status_code == 422
        assert "reason" in missing.get_json()["error"]["fields"]
        assert counts(db) == before
        fixed = phone.put(
            "entries/2026-03-02", entry(back_pain=7, reason="pressed the wrong number")
        )
    assert fixed.status_code == 200 and fixed.get_json()["version"] == 2
    row = db.execute(
        "SELECT before, after, reason, actor_type FROM audit_log WHERE action='entry.correct'"
    ).fetchone()
    assert '"back_pain":3' in row[0] and '"back_pain":7' in row[1]
    assert row[2] == "pressed the wrong number" and row[3] == "participant"
    with at(2026, 3, 2, 21, 0):
        assert phone.get("entries/2026-03-02").get_json()["back_pain"] == 7


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"back_pain": 11}, "back_pain"),
        ({"back_pain": -1}, "back_pain"),
        ({"leg_pain": "7"}, "leg_pain"),
        ({"back_pain": 4.5}, "back_pain"),
        ({"doses": [{"drug": "heroin", "strength": 10, "units": 1}]}, "doses"),
        ({"doses": [{"drug": "oxycodone", "strength": -5, "units": 1}]}, "doses"),
        ({"doses": [{"drug": "oxycodone", "strength": 5, "units": -2}]}, "doses"),
        ({"doses": [{"drug": "oxycodone", "strength": 5, "units": 0}]}, "doses"),
        ({"doses": [{"drug": "oxycodone", "strength": 5000, "units": 1}]}, "doses"),
        ({"doses": [{"drug": "oxycodone"}]}, "doses"),
        ({"symptoms": ["itchy_ears"]}, "symptoms"),
        ({"symptoms": ["fever", "fever"]}, "symptoms"),
        ({"note": "x" * 2001}, "note"),
        ({"temperature_c": 98.6}, "temperature_c"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"device_time": "2026-03-02T20:00:00"}, "device_time"),
        ({"device_time": "yesterday"}, "device_time"),
        ({"mood": "great"}, "mood"),
    ],
)
def test_bad_input_is_422_with_the_field_and_nothing_written(phone, db, change, field):
    before = counts(db)
    with at(2026, 3, 2, 20, 0):
        response = phone.put("entries/2026-03-02", entry(**change))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert counts(db) == before


@pytest.mark.parametrize("day", ["2026-3-2", "tomorrow", "2026-02-30", "20260302"])
def test_a_bad_date_in_the_path_is_422(phone, day):
    with at(2026, 3, 2, 20, 0):
        response = phone.put(f"entries/{day}", entry())
    assert response.status_code == 422
    assert "date" in response.get_json()["error"]["fields"]


# --- red flags ----------------------------------------------------------------------


def test_fever_opens_an_urgent_flag_before_the_response_and_shows_the_advice(phone, db):
    with at(2026, 3, 2, 20, 0):
        body = entry(symptoms=["fever"])
        response = phone.put("entries/2026-03-02", body)
        assert response.status_code == 201
        flags = db.execute("SELECT kind, severity, status, first_date FROM flags").fetchall()
        assert flags == [("red_flag_symptom", "urgent", "open", "2026-03-02")]
        alert = response.get_json()["alerts"][0]
        assert "study team" in alert["message"] and alert["emergency_number"] == "911"
        replay = phone.put("entries/2026-03-02", body)
    assert replay.status_code == 200 and replay.get_json()["alerts"]  # the retry still shows it
    assert db.execute("SELECT count(*) FROM flags").fetchone()[0] == 1


def test_a_temperature_of_38_raises_the_flag_without_the_checkbox(phone, db):
    with at(2026, 3, 2, 20, 0):
        low = phone.put("entries/2026-03-02", entry(temperature_c=37.9))
    assert low.get_json().get("alerts") == []
    with at(2026, 3, 3, 20, 0):
        high = phone.put("entries/2026-03-03", entry(temperature_c=38.0))
    assert high.get_json()["alerts"]
    assert db.execute("SELECT first_date FROM flags").fetchall() == [("2026-03-03",)]


def test_a_correction_that_adds_a_red_flag_updates_the_days_flag(phone, db):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry(symptoms=["fever"]))
        phone.put(
            "entries/2026-03-02",
            entry(symptoms=["fever", "leg_weakness_numbness"], reason="also my leg"),
        )
        phone.put(
            "entries/2026-03-02",
            entry(symptoms=["fever", "leg_weakness_numbness"], note="same", reason="added a note"),
        )
    rows = db.execute("SELECT detail FROM flags").fetchall()
    assert len(rows) == 1 and "leg_weakness_numbness" in rows[0][0]


def test_hospital_visit_is_urgent_for_staff(phone, db):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry(symptoms=["hospital_or_er_visit"]))
    assert db.execute("SELECT severity FROM flags").fetchone()[0] == "urgent"


def test_ordinary_symptoms_raise_nothing(phone, db):
    with at(2026, 3, 2, 20, 0):
        response = phone.put("entries/2026-03-02", entry(symptoms=["nausea", "constipation"]))
    assert response.get_json()["alerts"] == []
    assert db.execute("SELECT count(*) FROM flags").fetchone()[0] == 0


# --- reading ---------------------------------------------------------------------------


def test_history_lists_entries_in_a_range(phone):
    for d in (2, 3, 5):
        with at(2026, 3, d, 20, 0):
            phone.put(f"entries/2026-03-0{d}", entry(back_pain=d))
    with at(2026, 3, 6, 9, 0):
        listed = phone.get("entries?from=2026-03-01&to=2026-03-04").get_json()["entries"]
        assert [e["date"] for e in listed] == ["2026-03-02", "2026-03-03"]
        assert phone.get("entries/2026-03-04").status_code == 404
        assert phone.get("entries?from=2026-03-04&to=2026-03-01").status_code == 422
        assert phone.get("entries?from=2025-01-01&to=2026-03-01").status_code == 422


def test_protocol_offers_yesterdays_doses_for_one_tap_repeat(phone):
    with at(2026, 3, 2, 20, 0):
        phone.put(
            "entries/2026-03-02",
            entry(
                doses=[
                    {"drug": "tramadol", "strength": 50, "units": 2},
                    {"drug": "oxycodone", "strength": 5, "units": 1},
                ]
            ),
        )
        protocol = phone.get("protocol").get_json()
    assert protocol["recent_drugs"] == ["tramadol", "oxycodone"]
    assert protocol["last_doses"] == [
        {"drug": "tramadol", "strength": 50, "units": 2},
        {"drug": "oxycodone", "strength": 5, "units": 1},
    ]
    assert [s["red_flag"] for s in protocol["symptoms"]][:8] == [True] * 8
    assert "factor" not in protocol["formulary"][0]  # no dose-conversion advice to participants


def test_another_participants_entries_are_invisible(phone, participant_client):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry())
        other = participant_client("LBP-002", injection_date=date(2026, 3, 1))
        assert other.get("entries/2026-03-02").status_code == 404
        assert other.get("entries?from=2026-03-01&to=2026-03-03").get_json()["entries"] == []


def test_staff_cannot_write_participant_entries(staff_client):
    response = staff_client().put("entries/2026-03-02", entry())
    assert response.status_code == 403


def test_received_time_is_utc_and_late_after_midnight(phone):
    with at(2026, 3, 3, 9, 0):
        response = phone.put("entries/2026-03-02", entry())
    out = response.get_json()
    assert out["late"] is True
    assert datetime.fromisoformat(out["received_at"]).utcoffset() == timedelta(0)


def test_staff_see_the_protocol_with_factors_and_thresholds(staff_client, phone):
    protocol = staff_client().get("staff/protocol").get_json()
    oxycodone = next(d for d in protocol["formulary"] if d["code"] == "oxycodone")
    assert oxycodone["factor"] == 1.5 and oxycodone["unit"] == "mg"
    assert protocol["thresholds"]["mme_high"] == 50
    assert phone.get("staff/protocol").status_code in (401, 403)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"note": "walked \ud800"}, "note"),
        ({"device_time": "0001-01-01T00:00:00+05:00"}, "device_time"),
    ],
)
def test_text_no_export_could_hold_or_an_impossible_clock_is_422(phone, db, change, field):
    before = counts(db)
    with at(2026, 3, 2, 20, 0):
        response = phone.client.put(
            "/api/v1/entries/2026-03-02",
            data=json.dumps({**entry(), **change}),
            content_type="application/json",
            headers={"X-CSRF-Token": phone.csrf()},
        )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["error"]["fields"]
    assert counts(db) == before
