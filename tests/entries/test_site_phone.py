"""The red-flag advice carries the phone number of the participant's own site, online
(the alert of an entry) and offline (the protocol the phone caches)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

CHICAGO = ZoneInfo("America/Chicago")
PHONE_A = "+1 312 555 0100"
PHONE_B = "+1 415 555 0199"


def _at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def _set_phone(db, site, phone):
    with db.conn:
        db.execute("UPDATE sites SET phone = ? WHERE code = ?", [phone, site])


@pytest.fixture
def phones(participant_client, db):
    """A participant at SITE-A and one at SITE-B, each site with its own number."""
    with _at(2026, 3, 1, 9, 0):
        a = participant_client("LBP-001", site="SITE-A", injection_date=date(2026, 3, 1))
        b = participant_client("LBP-101", site="SITE-B", injection_date=date(2026, 3, 1))
    _set_phone(db, "SITE-A", PHONE_A)
    _set_phone(db, "SITE-B", PHONE_B)
    return a, b


def test_a_red_flag_alert_carries_the_participants_own_site_phone(phones):
    a, b = phones
    with _at(2026, 3, 2, 20, 0):
        body = entry(symptoms=["fever"])
        first = a.put("entries/2026-03-02", body)
        replay = a.put("entries/2026-03-02", body)
        other = b.put("entries/2026-03-02", entry(symptoms=["leg_weakness_numbness"]))
    assert first.status_code == 201
    assert first.get_json()["alerts"][0]["site_phone"] == PHONE_A
    assert replay.get_json()["alerts"][0]["site_phone"] == PHONE_A  # the retry shows it too
    assert other.get_json()["alerts"][0]["site_phone"] == PHONE_B
    # The generic words stay, for a phone that has no number to show.
    assert first.get_json()["alerts"][0]["study_team_contact"]


def test_the_protocol_carries_the_participants_own_site_phone(phones):
    a, b = phones
    with _at(2026, 3, 2, 9, 0):
        assert a.get("protocol").get_json()["site_phone"] == PHONE_A
        assert b.get("protocol").get_json()["site_phone"] == PHONE_B


def test_a_site_without_a_phone_sends_null_and_the_generic_contact(phones, db):
    a, _ = phones
    _set_phone(db, "SITE-A", None)
    with _at(2026, 3, 2, 20, 0):
        protocol = a.get("protocol").get_json()
        alert = a.put("entries/2026-03-02", entry(symptoms=["fever"])).get_json()["alerts"][0]
    assert protocol["site_phone"] is None and protocol["study_team_contact"]
    assert alert["site_phone"] is None and alert["study_team_contact"]


def test_an_entry_without_red_flags_has_no_alert(phones):
    a, _ = phones
    with _at(2026, 3, 2, 20, 0):
        assert a.put("entries/2026-03-02", entry()).get_json()["alerts"] == []
