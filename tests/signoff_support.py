"""Shared by the sign-off tests: a participant with an entry, staff of each role with
full names, and an adverse event recorded by the investigator."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

CHICAGO = ZoneInfo("America/Chicago")
PASSWORD = "correct horse battery"
COMPLETE_AE = {
    "source": "participant_report",
    "term": "Injection site pain",
    "onset_date": "2026-03-03",
    "ctcae_grade": 1,
    "serious": False,
    "related": "probable",
    "expected": "expected",
    "action_taken": "none",
    "ae_outcome": "recovering",
}


def at(*args, tz=CHICAGO):
    return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)


INJECTED = date(2026, 3, 1)
