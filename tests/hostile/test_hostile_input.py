"""Every hostile-input class, to every endpoint, as every kind of caller: never a 5xx,
always a JSON error, and nothing written (SPEC §9)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from app_support import study_today
from entry_support import entry

DEEP = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 40 + "1" + "}" * 40
SURROGATE = (
    '{"note": "\\ud800", "email": "\\udfff@x.test", "password": "a\\ud83d", "reason": "\\udc00"}'
)
NUL = '{"note": "a\\u0000b", "term": "x\\u0007", "reason": "r\\u001b", "full_name": "\\u0000"}'
EDGE_TIMES = (
    '{"device_time": "9999-12-31T23:59:59.999999-23:59", "injection_date": "0001-01-01",'
    ' "onset_date": "9999-12-31", "up_to": "0001-01-01", "since": "9999-12-31",'
    ' "date": "0001-01-01", "end_date": "9999-12-31"}'
)
CHICAGO = ZoneInfo("America/Chicago")
EDGE_TIMES_2 = '{"device_time": "0001-01-01T00:00:00+23:59", "injection_date": "2026-W48-2"}'
BODIES = {
    "deep array": DEEP,
    "deep object": DEEP_OBJECT,
    "lone surrogates": SURROGATE,
    "control characters": NUL,
    "edge datetimes": EDGE_TIMES,
    "edge datetimes 2": EDGE_TIMES_2,
}
PATH_VALUES = {
    "date": ["0001-01-01", "9999-12-31", "2026-W48-2"],
    "int": ["1", "99999999999999999999"],
}


def concrete_paths(app):
    """Each API rule with its arguments filled in with edge values."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        variants = [rule.rule]
        for arg in rule.arguments:
            converter = type(rule._converters[arg]).__name__.lower()
            kind = (
                "int"
                if "integer" in converter or converter == "idconverter"
                else "date"
                if "date" in converter
                else None
            )
            values = PATH_VALUES[kind] if kind else ["LBP-001"]
            variants = [re.sub(rf"<[^>]*{arg}>", v, p) for p in variants for v in values]
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for path in variants:
            yield path, methods


@pytest.fixture
def callers(participant_client, staff_client):
    return {
        "participant": participant_client("LBP-001", injection_date=study_today()),
        "coordinator": staff_client("coordinator"),
        "investigator": staff_client("investigator", full_name="Dr Iva Inv"),
        "admin": staff_client("admin", ()),
    }


def counts(db):
    return {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in (
            "audit_log",
            "entries",
            "adverse_events",
            "staff",
            "sites",
            "participants",
            "signatures",
        )
    }


def send_everywhere(app, callers, bodies):
    """Every body to every endpoint and method, as each caller; the answers that broke
    the rules (a 5xx, or an error that is not JSON) and how many were sent."""
    failures, sent = [], 0
    for who, client in callers.items():
        for path, methods in concrete_paths(app):
            if path.endswith("logout"):
                continue  # would end the caller's session
            for method in methods:
                for name, body in ({"none": None} if method == "GET" else bodies).items():
                    headers = {"X-CSRF-Token": client.csrf(), "Content-Type": "application/json"}
                    response = client.client.open(path, method=method, data=body, headers=headers)
                    sent += 1
                    status = response.status_code
                    if status >= 500 or (status >= 400 and not response.is_json):
                        failures.append((who, method, path, name, status))
    return failures, sent


MALFORMED = ("deep array", "deep object", "lone surrogates", "control characters")


def test_a_malformed_body_is_refused_by_every_endpoint_and_writes_nothing(app, callers, db):
    before = counts(db)
    failures, sent = send_everywhere(app, callers, {k: BODIES[k] for k in MALFORMED})
    assert failures == [], "\n".join(map(str, failures))
    assert sent > 500
    after = counts(db)
    new = [
        r["action"]
        for r in db.query("SELECT action FROM audit_log WHERE id > ?", [before["audit_log"]])
    ]
    # Downloads are audited reads; nothing else may have been written.
    assert [a for a in new if a != "export.download"] == []
    assert {**after, "audit_log": 0} == {**before, "audit_log": 0}


def test_edge_dates_and_ids_in_bodies_and_paths_never_get_a_5xx(app, callers):
    edges = {k: v for k, v in BODIES.items() if k.startswith("edge")}
    failures, sent = send_everywhere(app, callers, edges)
    assert failures == [], "\n".join(map(str, failures))
    assert sent > 500


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('{"email": "a@b.test", "password": "x\\ud800y"}', "password", "not valid text"),
        ('{"email": "a@b.test", "password": "x\\u0000y"}', "password", "control character"),
    ],
)
def test_the_error_names_the_field(api, body, field, words):
    response = api.client.post(
        "/api/v1/staff/login",
        data=body,
        headers={"X-CSRF-Token": api.csrf(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert words in response.get_json()["error"]["fields"][field][0]


def test_a_body_nested_too_deeply_is_a_400(api):
    response = api.client.post(
        "/api/v1/participant/activate",
        data=DEEP,
        headers={"X-CSRF-Token": api.csrf(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "nested" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("day", ["2026-W48-2", "0001-01-01", "9999-12-31", "20260301"])
def test_dates_outside_the_one_rule_are_refused_in_bodies_and_paths(participant_client, day):
    phone = participant_client("LBP-002", injection_date=study_today())
    response = phone.get(f"entries/{day}")
    assert response.status_code == 422, (day, response.status_code)
    assert "from 2000-01-01 to 2100-12-31" in str(response.get_json()["error"]["fields"])


@pytest.mark.parametrize(
    "zone",
    [
        "localtime",
        "Factory",
        "posixrules",
        "posix/America/Chicago",
        "right/UTC",
        "/etc/localtime",
        "../UTC",
        # Backward-compatible aliases: a new value names the zone itself.
        "US/Central",
        "EST5EDT",
        "CST6CDT",
        "Etc/GMT+6",
        "GMT",
        "Universal",
        "Asia/Calcutta",
        "Europe/Kiev",
        "america/chicago",
    ],
)
def test_only_canonical_iana_zone_names_are_time_zones(staff_client, db, zone):
    admin = staff_client("admin", ())
    response = admin.post("staff/sites", {"code": "SITE-Z", "timezone": zone})
    assert response.status_code == 422 and "timezone" in response.get_json()["error"]["fields"]
    assert db.execute("SELECT count(*) FROM sites WHERE code = 'SITE-Z'").fetchone()[0] == 0
    for n, fine in enumerate(("America/Chicago", "Europe/Kyiv", "Asia/Kolkata", "UTC", "Etc/UTC")):
        response = admin.post("staff/sites", {"code": f"S-{n}", "timezone": fine})
        assert response.status_code == 201, (fine, response.get_json())


def test_a_participant_stored_with_an_alias_zone_is_still_read(participant_client, staff_client):
    # Rows written before the canonical rule may hold an alias: they keep working.
    phone = participant_client("LBP-003", timezone="US/Central")
    assert phone.get("me").status_code == 200
    coordinator = staff_client("coordinator")
    assert coordinator.get("staff/participants/LBP-003").status_code == 200
    # A new value for it must be canonical.
    changed = phone.patch("me", {"timezone": "US/Eastern"})
    assert changed.status_code == 422
    assert "old name of America/New_York" in changed.get_json()["error"]["fields"]["timezone"][0]
    assert phone.patch("me", {"timezone": "America/New_York"}).status_code == 200


@pytest.mark.parametrize(
    "device_time",
    [
        "9999-12-31T23:59:59.999999-23:59",
        "0001-01-01T00:00:00+23:59",
        "2026-03-02T20:00:00+15:00",
        "2026-W10-1T20:00:00-06:00",
        "20260302T200000-0600",
        "2026-03-02T20:00:00",
        "2026-03-02",
    ],
)
def test_device_times_outside_the_one_instant_rule_are_refused(participant_client, db, device_time):
    with time_machine.travel(datetime(2026, 3, 2, 20, 0, tzinfo=CHICAGO), tick=False):
        phone = participant_client("LBP-002", injection_date=date(2026, 3, 1))
        response = phone.put("entries/2026-03-02", entry(device_time=device_time))
        assert response.status_code == 422, response.get_json()
        assert "UTC offset" in response.get_json()["error"]["fields"]["device_time"][0]
        assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 0
        # The PWA's own form (and Python's isoformat) is taken.
        good = entry(device_time="2026-03-02T19:59:00-06:00")
        assert phone.put("entries/2026-03-02", good).status_code in (200, 201)


# A number sent as text: Python's float() and int() would read each of these (digit
# grouping, padding, fullwidth and Arabic-Indic digits) as the number it is not meant as.
NUMBERS_AS_TEXT = ["1_0", " 5 ", "３７", "١", "40"]


@pytest.mark.parametrize("value", NUMBERS_AS_TEXT, ids=repr)
def test_a_number_in_a_body_is_a_json_number_never_text(
    participant_client, staff_client, db, value
):
    phone = participant_client("LBP-001", injection_date=study_today())
    coordinator = staff_client("coordinator")
    day = study_today().isoformat()
    morphine = {"drug": "morphine", "strength": 10, "units": 1}
    sent = {
        "strength": phone.put(f"entries/{day}", entry(doses=[{**morphine, "strength": value}])),
        "units": phone.put(f"entries/{day}", entry(doses=[{**morphine, "units": value}])),
        "temperature_c": phone.put(f"entries/{day}", entry(temperature_c=value)),
        "baseline_mme": coordinator.post(
            "staff/participants",
            {
                "study_id": "LBP-002",
                "site": "SITE-A",
                "timezone": "America/Chicago",
                "injection_date": day,
                "baseline_back_pain": 4,
                "baseline_mme": value,
            },
        ),
        "status": phone.post(
            "sync-problems",
            {
                "client_id": "0b5c3c63-6f38-4a36-8f43-0d5a4d1b1f01",
                "kind": "entry",
                "date": day,
                "status": value,
                "code": "locked",
            },
        ),
    }
    for field, response in sent.items():
        assert response.status_code == 422, (field, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert f"{field!r}" in repr(fields), (field, fields)  # named, nested or not
    patched = coordinator.patch(
        "staff/participants/LBP-001", {"baseline_mme": value, "reason": "typo"}
    )
    assert patched.status_code == 422, patched.get_json()
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM participants").fetchone()[0] == 1
    assert db.execute("SELECT baseline_mme FROM participants").fetchone()[0] == 10.0


# A yes or no sent as anything but JSON's true or false: marshmallow's Boolean would read
# each of these as one ("0" and 0 as no, "yes", "on" and 1 as yes).
BOOLEANS_AS_OTHER = ["yes", "0", "on", 1, 0, None]


@pytest.mark.parametrize("value", BOOLEANS_AS_OTHER, ids=repr)
def test_a_yes_or_no_in_a_body_is_a_json_boolean_never_text_or_a_number(
    participant_client, staff_client, db, value
):
    phone = participant_client("LBP-001", injection_date=study_today())
    investigator = staff_client("investigator", full_name="Dr Iva Inv")
    admin = staff_client("admin", ())
    (account,) = db.execute("SELECT id FROM staff WHERE role = 'investigator'").fetchall()
    before = counts(db)
    sent = {
        "notifications_enabled": phone.patch("me", {"notifications_enabled": value}),
        "serious": investigator.post(
            "staff/participants/LBP-001/adverse-events",
            {
                "source": "participant_report",
                "term": "Injection site pain",
                "onset_date": study_today().isoformat(),
                "ctcae_grade": 1,
                "serious": value,
                "related": "probable",
                "expected": "expected",
                "action_taken": "none",
                "ae_outcome": "recovering",
            },
        ),
        "active": admin.patch(
            f"staff/accounts/{account[0]}", {"active": value, "reason": "left the team"}
        ),
    }
    for field, response in sent.items():
        assert response.status_code == 422, (field, response.get_json())
        assert field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert counts(db) == before
    assert db.execute("SELECT notifications_enabled FROM participants").fetchone()[0] == 1
    assert db.execute("SELECT active FROM staff WHERE id = ?", account).fetchone()[0] == 1
    assert investigator.get("staff/flags").status_code == 200  # still signed in


def _body_fields(schema, path=""):
    """Every field a JSON body's schema reads, nested schemas and list items included."""
    for name, field in schema.fields.items():
        yield from _field_and_inner(field, f"{path}{name}")


def _field_and_inner(field, path):
    from marshmallow import fields

    yield path, field
    if isinstance(field, fields.Nested):
        yield from _body_fields(field.schema, f"{path}.")
    elif isinstance(field, fields.List):
        yield from _field_and_inner(field.inner, f"{path}[]")


def test_every_body_reads_numbers_and_yes_or_no_as_json_writes_them(app):
    """The class, not the instances above: no body schema of any endpoint has a field
    that would read text or a number as a yes or no, or text or a yes or no as a number."""
    from marshmallow import fields

    from diary.schemas import JsonBoolean, JsonNumber

    lax, bodies = [], 0
    for endpoint, view in app.view_functions.items():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            if parameter["in"] != "json":
                continue
            bodies += 1
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            for path, field in _body_fields(schema):
                if isinstance(field, fields.Boolean) and not isinstance(field, JsonBoolean):
                    lax.append((endpoint, path, "Boolean"))
                elif isinstance(field, fields.Float) and not isinstance(field, JsonNumber):
                    lax.append((endpoint, path, "Float"))
                elif isinstance(field, fields.Integer) and not field.strict:
                    lax.append((endpoint, path, "Integer"))
    assert bodies >= 40  # the walk sees the API's bodies at all
    assert lax == []
