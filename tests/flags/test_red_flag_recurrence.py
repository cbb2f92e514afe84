"""A red flag that comes back, or gets worse, on a date staff have already looked at
reaches them again (SPEC §6: red flags are raised on submission).

A code re-saved unchanged with the rest of a correction is not news; a code that left
the entry and came back is (a fever "ticked by mistake", then real), and so is a fever
higher than any the date's flags recorded."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from entry_support import entry as body

CHICAGO = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 1)


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def red_flags(db) -> list[dict]:
    rows = db.query("SELECT * FROM flags WHERE kind = 'red_flag_symptom' ORDER BY id")
    return [{**r, "detail": json.loads(r["detail"])} for r in rows]


def urgent_mail(db) -> list[dict]:
    return list(
        db.query(
            "SELECT flag_id, recipient_id FROM outbox"
            " WHERE purpose = 'flag_urgent' AND channel = 'email' ORDER BY id"
        )
    )


def _removed_and_resolved(phone, investigator, db, code):
    with at(2026, 3, 2, 8, 0):
        assert phone.put("entries/2026-03-02", body(symptoms=[code])).status_code == 201
    with at(2026, 3, 2, 8, 30):
        r = phone.put("entries/2026-03-02", body(symptoms=[], reason="ticked by mistake"))
        assert r.status_code == 200
        (flag,) = red_flags(db)
        resolved = investigator.post(
            f"staff/flags/{flag['id']}/resolve",
            {"outcome": "not_ae", "note": "the participant removed it: entered by mistake"},
        )
        assert resolved.status_code == 200, resolved.get_json()


def test_a_red_flag_removed_resolved_then_reported_again_reaches_the_site(phone, investigator, db):
    _removed_and_resolved(phone, investigator, db, "fever")
    before = len(urgent_mail(db))
    with at(2026, 3, 2, 21, 0):
        r = phone.put(
            "entries/2026-03-02",
            body(symptoms=["fever"], temperature_c=39.6, reason="fever tonight"),
        )
        assert r.status_code == 200 and r.get_json()["alerts"]
    (new,) = [f for f in red_flags(db) if f["status"] != "resolved"]
    assert new["severity"] == "urgent" and new["detail"]["symptoms"] == ["fever"]
    assert new["detail"]["temperature_c"] == 39.6
    assert len(urgent_mail(db)) == before + 2  # the coordinator and the investigator

    # Saved again with the fever unchanged (pain corrected): nothing new to tell.
    with at(2026, 3, 2, 21, 30):
        r = phone.put(
            "entries/2026-03-02",
            body(symptoms=["fever"], temperature_c=39.6, back_pain=5, reason="pain"),
        )
        assert r.status_code == 200
    assert len(red_flags(db)) == 2 and len(urgent_mail(db)) == before + 2


def test_a_hospital_visit_reported_again_after_resolution_starts_the_sae_clock(
    phone, investigator, db
):
    _removed_and_resolved(phone, investigator, db, "hospital_or_er_visit")
    with at(2026, 3, 2, 22, 0):
        r = phone.put(
            "entries/2026-03-02", body(symptoms=["hospital_or_er_visit"], reason="went to ER")
        )
        assert r.status_code == 200
    running = list(db.query("SELECT * FROM sae_clocks WHERE status = 'running'"))
    assert len(running) == 1


def test_a_fever_that_climbs_after_it_was_acknowledged_reopens_and_tells_the_site(
    phone, investigator, db
):
    with at(2026, 3, 2, 8, 0):
        assert phone.put("entries/2026-03-02", body(temperature_c=38.1)).status_code == 201
        (flag,) = red_flags(db)
        assert investigator.post(f"staff/flags/{flag['id']}/acknowledge").status_code == 200
    before = len(urgent_mail(db))
    with at(2026, 3, 2, 20, 0):
        r = phone.put("entries/2026-03-02", body(temperature_c=40.8, reason="higher now"))
        assert r.status_code == 200
    (flag,) = red_flags(db)
    assert flag["status"] == "open"
    assert flag["detail"]["temperature_c"] == 40.8
    assert any("40.8" in g for g in flag["detail"]["added_after_acknowledgement"])
    assert len(urgent_mail(db)) == before + 2

    # Lower again (a typo mended): the flag keeps the highest reported; nobody is re-told.
    with at(2026, 3, 2, 20, 30):
        phone.put("entries/2026-03-02", body(temperature_c=38.4, reason="typo"))
    (flag,) = red_flags(db)
    assert flag["detail"]["temperature_c"] == 40.8 and len(urgent_mail(db)) == before + 2


def test_a_higher_fever_after_staff_resolved_the_date_opens_a_new_flag(phone, investigator, db):
    with at(2026, 3, 2, 8, 0):
        assert phone.put("entries/2026-03-02", body(temperature_c=38.1)).status_code == 201
        (flag,) = red_flags(db)
        assert (
            investigator.post(
                f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "mild"}
            ).status_code
            == 200
        )
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", body(temperature_c=38.1, back_pain=6, reason="pain"))
    assert len(red_flags(db)) == 1  # the same fever, reviewed: not raised again
    with at(2026, 3, 2, 21, 0):
        phone.put("entries/2026-03-02", body(temperature_c=39.9, reason="worse"))
    new = [f for f in red_flags(db) if f["status"] != "resolved"]
    assert len(new) == 1 and new[0]["detail"]["temperature_c"] == 39.9


def test_a_red_flag_removed_then_reported_again_reopens_its_acknowledged_flag(
    phone, investigator, db
):
    with at(2026, 3, 2, 8, 0):
        assert (
            phone.put("entries/2026-03-02", body(symptoms=["leg_weakness_numbness"])).status_code
            == 201
        )
        (flag,) = red_flags(db)
        assert investigator.post(f"staff/flags/{flag['id']}/acknowledge").status_code == 200
    with at(2026, 3, 2, 9, 0):
        phone.put("entries/2026-03-02", body(symptoms=[], reason="ticked by mistake"))
    (flag,) = red_flags(db)
    assert flag["status"] == "acknowledged"  # taking a symptom back changes no flag
    before = len(urgent_mail(db))
    with at(2026, 3, 2, 18, 0):
        r = phone.put(
            "entries/2026-03-02", body(symptoms=["leg_weakness_numbness"], reason="it is back")
        )
        assert r.status_code == 200
    (flag,) = red_flags(db)
    assert flag["status"] == "open" and flag["reopen_count"] == 1
    assert flag["detail"]["added_after_acknowledgement"] == ["leg_weakness_numbness"]
    assert len(urgent_mail(db)) == before + 2


def test_a_fever_kept_on_the_phone_through_a_long_data_freeze_is_taken_once_it_lifts(phone, db):
    """Entries made while the study is frozen for a data cut wait on the phone (409
    locked); their seven days to sync do not run while the freeze holds them back."""
    from diary import audit, clock
    from diary.db import transaction
    from diary.signoff import locks

    with at(2026, 3, 2, 9, 0), transaction(db):
        locks.freeze(db, reason="interim data cut", actor=audit.CLI, now=clock.now())
    made = datetime(2026, 3, 3, 20, 0, tzinfo=CHICAGO).isoformat()
    with at(2026, 3, 3, 20, 0):
        r = phone.put("entries/2026-03-03", body(temperature_c=39.4, device_time=made))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "locked"
    with at(2026, 3, 11, 9, 0), transaction(db):
        locks.unfreeze(db, reason="cut delivered", actor=audit.CLI, now=clock.now())
    with at(2026, 3, 11, 9, 5):  # 7 days 13 hours after it was made, 8 days of them frozen
        r = phone.put("entries/2026-03-03", body(temperature_c=39.4, device_time=made))
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["synced_late"] is True
    (flag,) = red_flags(db)
    assert flag["severity"] == "urgent" and flag["detail"]["temperature_c"] == 39.4
    # An entry made before the freeze, with seven days to sync outside it, is still refused.
    old = datetime(2026, 3, 1, 20, 0, tzinfo=CHICAGO).isoformat()
    with at(2026, 3, 19, 9, 0):  # 13 hours before the freeze, 8 days after it
        r = phone.put("entries/2026-03-01", body(device_time=old))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "window_closed"
