"""What the flag tests share: a site's team and a participant enrolled on 1 March 2026."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def site_team(make_staff):
    make_staff("coord@site-a.test", "coordinator")
    make_staff("pi@site-a.test", "investigator")
    make_staff("admin@all.test", "admin", sites=("SITE-A",))


@pytest.fixture
def phone(participant_client, site_team):
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=CHICAGO), tick=False):
        return participant_client("LBP-001", injection_date=date(2026, 3, 1))


@pytest.fixture
def investigator(login, site_team):
    """Signs the investigator in as of the clock's current reading (sessions expire)."""

    class Investigator:
        def __getattr__(self, name):
            return getattr(login("pi@site-a.test"), name)

    return Investigator()
