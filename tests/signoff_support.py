"""Shared by the sign-off tests: a participant with an entry, staff of each role with
full names, and an adverse event recorded by the investigator."""

from __future__ import annotations

import uuid
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


def entry(**overrides):
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [],
        "symptoms": [],
        "device_time": datetime.now(CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body


INJECTED = date(2026, 3, 1)
