"""What the phone's screens take from the server (issue 19): the time zones to choose
from, when an entry stops being the participant's to change, and when a change to a
day that already reported a red flag shows the alarm again."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

from diary import clock

CHICAGO = ZoneInfo("America/Chicago")


def at(*args, tz=CHICAGO):
    return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)


@pytest.fixture
def phone(participant_client):
    with at(2026, 3, 1, 9, 0):
        client = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    return client


# --- time zones by country and city ---------------------------------------------------


def test_the_zones_offered_are_exactly_the_canonical_ones_by_country_and_city(phone):
    with at(2026, 3, 2, 9, 0):
        body = phone.get("timezones").get_json()
    offered = [z["zone"] for c in body["countries"] for z in c["zones"]]
    assert len(offered) == len(set(offered))  # each zone once, under one country
    assert all(clock.is_valid_zone(z) for z in offered)
    canonical = {n for n in clock._tzdata_zones()[1] if n != "Etc/UTC"}
    assert set(offered) == canonical
    assert "Asia/Calcutta" not in offered and "US/Central" not in offered
    countries = {c["country"]: c for c in body["countries"]}
    assert countries["IN"]["name"] == "India"
    assert [z["zone"] for z in countries["IN"]["zones"]] == ["Asia/Kolkata"]
    us = {z["zone"]: z for z in countries["US"]["zones"]}
    assert us["America/Chicago"] == {
        "zone": "America/Chicago",
        "city": "Chicago",
        "area": "Central (most areas)",
    }
    assert us["America/Indiana/Indianapolis"]["city"] == "Indianapolis"
    names = [c["name"] for c in body["countries"]]
    assert names[:3] == ["Afghanistan", "Åland Islands", "Albania"]  # by name, accents aside
    assert body["countries"][-1]["zones"] == [{"zone": "UTC", "city": "UTC", "area": None}]
    assert body["device"] is None


@pytest.mark.parametrize(
    "device, canonical",
    [
        ("Asia/Calcutta", "Asia/Kolkata"),  # what Chromium reports in India
        ("Europe/Kiev", "Europe/Kyiv"),
        ("America/Chicago", "America/Chicago"),
        ("Mars/Olympus", None),
    ],
)
def test_the_phones_own_zone_is_named_canonically(phone, device, canonical):
    with at(2026, 3, 2, 9, 0):
        response = phone.get(f"timezones?device={device}")
    assert response.status_code == 200
    assert response.get_json()["device"] == canonical


def test_only_a_signed_in_participant_gets_the_zone_list(new_client):
    assert new_client().get("timezones").status_code == 401


# --- how long an entry stays the participant's to change --------------------------------


def test_each_entry_says_until_when_the_participant_may_change_it(phone):
    with at(2026, 3, 2, 20, 0):
        made = phone.put("entries/2026-03-02", entry()).get_json()
    with at(2026, 3, 3, 9, 0):
        listed = phone.get("entries?from=2026-03-01&to=2026-03-03").get_json()["entries"]
        one = phone.get("entries/2026-03-02").get_json()
    noon = datetime(2026, 3, 3, 12, 0, tzinfo=CHICAGO)  # the protocol's 12:00 next day
    for shown in (made, listed[0], one):
        assert datetime.fromisoformat(shown["editable_until"]) == noon


# --- the alarm on a change --------------------------------------------------------------


def test_changing_a_day_that_reported_a_red_flag_shows_no_alarm_unless_one_is_added(phone):
    with at(2026, 3, 2, 20, 0):
        first = phone.put("entries/2026-03-02", entry(symptoms=["fever"]))
        same = phone.put(
            "entries/2026-03-02", entry(symptoms=["fever"], back_pain=6, reason="pain worse")
        )
        dropped = phone.put("entries/2026-03-02", entry(symptoms=[], reason="no fever after all"))
        again = phone.put(
            "entries/2026-03-02", entry(symptoms=["fever"], reason="the fever came back")
        )
        added = phone.put(
            "entries/2026-03-02",
            entry(symptoms=["fever", "leg_weakness_numbness"], reason="my leg too"),
        )
    assert first.get_json()["alerts"]
    assert same.status_code == 200 and same.get_json()["alerts"] == []
    assert dropped.get_json()["alerts"] == []
    assert again.get_json()["alerts"]  # the version it changes had none
    [alert] = added.get_json()["alerts"]
    assert "New weakness or numbness in a leg" in alert["symptoms"]


def test_a_measured_fever_added_to_a_red_flag_day_shows_the_alarm(phone):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry(symptoms=["severe_headache"]))
        warmer = phone.put(
            "entries/2026-03-02",
            entry(symptoms=["severe_headache"], temperature_c=38.4, reason="took my temperature"),
        )
    assert warmer.get_json()["alerts"]
