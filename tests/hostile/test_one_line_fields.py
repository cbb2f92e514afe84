"""A value that is one line (a name, a site name, an AE term, a code, a reference, a
time) refuses a line break with a 422 naming the field, and nothing is written; notes
and reasons may still span lines."""

from __future__ import annotations

import pytest
from app_support import study_today
from entry_support import entry
from signoff_support import PASSWORD

BREAKS = ["Site\r\nX", "Site\nX", "Site\rX", "Site\u2028X", "Site\x85X"]


def table(ids: dict) -> list[tuple[str, str, str, dict, str]]:
    """(caller, method, path, body with the value as "{v}", field) for every one-line
    field of a request body."""
    ae, staff = ids["ae"], ids["staff"]
    enroll = {
        "study_id": "LBP-009",
        "site": "SITE-A",
        "timezone": "America/Chicago",
        "injection_date": study_today().isoformat(),
        "baseline_back_pain": 5,
        "baseline_mme": 10,
    }
    site = {"code": "SITE-N", "name": "North", "timezone": "America/Chicago"}
    account = {"email": "n@a.test", "full_name": "Nina New", "role": "coordinator"}
    adverse_event = {
        "source": "interview",
        "term": "Dizziness",
        "onset_date": study_today().isoformat(),
        "ctcae_grade": 1,
        "serious": False,
        "related": "unlikely",
    }
    resolve = {"outcome": "adverse_event", "ctcae_grade": 2, "serious": False}
    return [
        ("admin", "POST", "staff/sites", {**site, "name": "{v}"}, "name"),
        ("admin", "POST", "staff/sites", {**site, "code": "SITE-N{v}"}, "code"),
        ("admin", "PATCH", "staff/sites/SITE-A", {"name": "{v}", "reason": "renamed"}, "name"),
        ("admin", "POST", "staff/accounts", {**account, "full_name": "{v}"}, "full_name"),
        ("admin", "POST", "staff/accounts", {**account, "sites": ["SITE-A{v}"]}, "sites"),
        (
            "admin",
            "PATCH",
            f"staff/accounts/{staff}",
            {"full_name": "{v}", "reason": "typo"},
            "full_name",
        ),
        (
            "coordinator",
            "POST",
            "staff/participants",
            {**enroll, "study_id": "LBP-009{v}"},
            "study_id",
        ),
        ("coordinator", "POST", "staff/participants", {**enroll, "site": "SITE-A{v}"}, "site"),
        (
            "investigator",
            "POST",
            "staff/participants/LBP-001/adverse-events",
            {**adverse_event, "term": "{v}"},
            "term",
        ),
        (
            "investigator",
            "PATCH",
            f"staff/adverse-events/{ae}",
            {"term": "{v}", "reason": "typo"},
            "term",
        ),
        (
            "investigator",
            "POST",
            f"staff/adverse-events/{ae}/sponsor-report",
            {"reference": "{v}"},
            "reference",
        ),
        (
            "investigator",
            "POST",
            "staff/flags/1/resolve",
            {**resolve, "related": "unlikely", "term": "{v}"},
            "term",
        ),
        ("participant", "PATCH", "me", {"reminder_time": "20:00{v}"}, "reminder_time"),
    ]


def fill(body, value: str):
    if isinstance(body, dict):
        return {k: fill(v, value) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, value) for v in body]
    if isinstance(body, str) and "{v}" in body:
        # A name's whole value is the hostile one; a code or a time ends with the break
        # ("SITE-A\n"), which a pattern ending in "$" would still match.
        return body.replace("{v}", value if body == "{v}" else value[4:-1])
    return body


def everything(db) -> dict:
    tables = ("audit_log", "sites", "staff", "participants", "adverse_events", "flags")
    return {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}


@pytest.fixture
def setup(app, db, enroll, staff_client):
    enroll("LBP-001", injection_date=study_today())
    callers = {
        "admin": staff_client("admin", ()),
        "coordinator": staff_client("coordinator"),
        "investigator": staff_client("investigator", full_name="Dr Iva Inv"),
    }
    created = callers["investigator"].post(
        "staff/participants/LBP-001/adverse-events",
        {
            "source": "interview",
            "term": "Dizziness",
            "onset_date": study_today().isoformat(),
            "ctcae_grade": 1,
            "serious": False,
            "related": "unlikely",
        },
    )
    assert created.status_code == 201, created.get_json()
    staff = db.execute("SELECT id FROM staff WHERE role = 'coordinator'").fetchone()[0]
    return callers, {"ae": created.get_json()["id"], "staff": staff}


@pytest.mark.parametrize("value", BREAKS, ids=repr)
def test_every_one_line_field_refuses_a_line_break_and_writes_nothing(
    db, setup, participant_client, value
):
    callers, ids = setup
    callers["participant"] = participant_client("LBP-002", injection_date=study_today())
    before = everything(db)
    for who, method, path, body, field in table(ids):
        response = getattr(callers[who], method.lower())(path, fill(body, value))
        assert response.status_code == 422, (who, method, path, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert field in fields, (path, fields)
        if body.get(field) == "{v}":
            assert "one line" in str(fields[field]), (path, fields)
    assert everything(db) == before


def test_notes_and_reasons_may_span_lines(db, setup):
    callers, ids = setup
    investigator = callers["investigator"]
    changed = investigator.patch(
        f"staff/adverse-events/{ids['ae']}",
        {"note": "seen at the visit\nand by phone", "reason": "new detail\r\nfrom the call"},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["note"] == "seen at the visit\nand by phone"


# Text that shows nothing: spaces of several kinds, zero-width spaces, a byte-order mark,
# a direction mark.
BLANKS = ["   ", "\u3000\u00a0 ", "\u200b\u200b\u200b", "\ufeff", "\u202e\u202e\u202e"]


@pytest.mark.parametrize("value", BLANKS, ids=repr)
def test_every_name_term_and_reference_refuses_a_blank_value_and_writes_nothing(db, setup, value):
    callers, ids = setup
    before = everything(db)
    checked = 0
    for who, method, path, body, field in table(ids):
        if body.get(field) != "{v}":
            continue  # a code or a time: its pattern refuses a blank already
        response = getattr(callers[who], method.lower())(path, {**body, field: value})
        assert response.status_code == 422, (who, method, path, response.get_json())
        assert "visible" in str(response.get_json()["error"]["fields"][field]), path
        checked += 1
    assert checked == 8
    assert everything(db) == before


@pytest.mark.parametrize("value", BLANKS[2:], ids=repr)
def test_a_reason_that_shows_nothing_is_no_reason(db, setup, participant_client, value):
    callers, ids = setup
    phone = participant_client("LBP-002", injection_date=study_today())
    day = study_today().isoformat()
    assert phone.put(f"entries/{day}", entry()).status_code == 201
    corrected = phone.put(f"entries/{day}", entry(back_pain=6, reason=value))
    assert corrected.status_code == 422, corrected.get_json()
    assert "reason" in corrected.get_json()["error"]["fields"]
    locked = callers["investigator"].post("staff/participants/LBP-002/lock", {"reason": value})
    assert locked.status_code == 422, locked.get_json()
    assert db.execute(
        "SELECT back_pain, locked_at FROM entries, participants"
        " WHERE participants.study_id = 'LBP-002'"
    ).fetchall() == [(4, None)]


def test_an_adverse_event_whose_stored_term_is_blank_cannot_be_signed(db, setup):
    """A term stored before blank terms were refused: signing names it as missing."""
    callers, ids = setup
    db.execute("UPDATE adverse_events SET term = ' \u200b' WHERE id = ?", [ids["ae"]])
    signed = callers["investigator"].post(
        "staff/signatures",
        {
            "record_type": "adverse_event",
            "record_id": ids["ae"],
            "meaning": "approved",
            "password": PASSWORD,
        },
    )
    assert signed.status_code == 409, signed.get_json()
    assert "term" in signed.get_json()["error"]["fields"]
    assert db.execute("SELECT count(*) FROM signatures").fetchone()[0] == 0
