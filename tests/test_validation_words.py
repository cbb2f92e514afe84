"""A refused field says, in words for the person who typed it, what to enter (SPEC §7):
never the library's "Missing data for required field." or "Not a valid integer.", in
the API's `fields` as on the screens; a study ID in small letters is written in capitals
rather than refused."""

from __future__ import annotations

import json

import pytest
from app_support import study_today

from diary.errors import INVALID_FIELDS

LIBRARY_WORDS = (
    "Missing data for required field",
    "Field may not be null",
    "Not a valid",
    "Unknown field",
    "Must be one of",
    "Must be greater than",
    "Shorter than minimum",
    "Longer than maximum",
    "Length must be",
    "String does not match",
    "Invalid value",
    "Invalid input type",
    "The request has invalid fields",
)
ENROLL = {
    "study_id": "LBP-077",
    "site": "SITE-A",
    "timezone": "America/Chicago",
    "injection_date": study_today().isoformat(),
    "baseline_back_pain": 5,
    "baseline_mme": 10,
}


def refused(response) -> dict:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()["error"]
    text = json.dumps(body)
    assert not [w for w in LIBRARY_WORDS if w in text], text
    assert body["message"] == INVALID_FIELDS
    return body["fields"]


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"back_pain": "x"}, "back_pain", "Enter a whole number."),
        ({"back_pain": 11}, "back_pain", "Enter a number from 0 to 10."),
        ({"leg_pain": None}, "leg_pain", "Required: this cannot be left empty."),
        ({"extra": 1}, "extra", "This is not a field of this form: leave it out."),
        ({"client_id": "abc"}, "client_id", "Send the identifier the app made for this (a UUID)."),
    ],
)
def test_a_diary_entry_refused_says_what_to_enter(participant_client, change, field, words):
    phone = participant_client("LBP-001")
    today = study_today().isoformat()
    body = {
        "client_id": "00000000-0000-4000-8000-000000000077",
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [],
        "symptoms": [],
        "device_time": "2026-01-01T00:00:00+00:00",
        **change,
    }
    assert refused(phone.put(f"entries/{today}", body))[field] == [words]


def test_a_missing_field_is_named_and_asked_for(participant_client):
    phone = participant_client("LBP-001")
    found = refused(phone.put(f"entries/{study_today().isoformat()}", {"back_pain": 3}))
    assert found["leg_pain"] == ["Required: enter a value."]


def test_staff_forms_speak_the_same_words(staff_client):
    coordinator = staff_client("coordinator")
    found = refused(
        coordinator.post("staff/participants", {**ENROLL, "baseline_back_pain": 12, "site": None})
    )
    assert found["baseline_back_pain"] == ["Enter a number from 0 to 10."]
    assert found["site"] == ["Required: this cannot be left empty."]


def test_a_study_id_in_small_letters_is_written_in_capitals(staff_client):
    coordinator = staff_client("coordinator")
    made = coordinator.post("staff/participants", {**ENROLL, "study_id": " lbp-077 "})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["study_id"] == "LBP-077"
