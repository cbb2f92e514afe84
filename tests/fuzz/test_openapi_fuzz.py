"""Schemathesis against /api/v1/openapi.json, anonymous and signed in as every role.

Every operation of the document gets generated requests for every role
(anonymous, participant, coordinator, investigator, admin). No answer may be a
5xx, and every answer must match what the document says for its status
(schema, status code, content type). The run must reach every operation: one
that runs out of its time budget first fails, naming what it never reached.

Bounded by default (a few valid-by-the-document examples per operation,
derandomised so CI is repeatable). The nightly run digs deeper, and also sends
requests the document forbids:

    DIARY_FUZZ_EXAMPLES=200 DIARY_FUZZ_MODES=positive,negative DIARY_FUZZ_SECONDS=1800 \
        .venv/bin/python -m pytest tests/fuzz -q -p no:cacheprovider

DIARY_FUZZ_EXAMPLES: examples per operation, role and mode (default 8).
DIARY_FUZZ_MODES: positive (what the document allows) and/or negative (what it
forbids; an operation with nothing to get wrong is skipped there).
DIARY_FUZZ_SECONDS: time budget per role (default 4 s per example and mode).
"""

from __future__ import annotations

import collections
import os
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from diary import PUBLIC_ENDPOINTS, clock

EXAMPLES = int(os.environ.get("DIARY_FUZZ_EXAMPLES", "8"))
MODES = [
    GenerationMode(mode.strip())
    for mode in os.environ.get("DIARY_FUZZ_MODES", "positive").split(",")
    if mode.strip()
]
TIME_BUDGET = float(os.environ.get("DIARY_FUZZ_SECONDS", str(4 * EXAMPLES * len(MODES))))
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
DOCUMENT = "/api/v1/openapi.json"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Signing out ends the session the rest of the run needs: those go last.
LAST = ("/api/v1/logout", "/api/v1/staff/logout")
ROLES = ["anonymous", "participant", "coordinator", "investigator", "admin"]
# For each role, a read that only succeeds with its session, and a write it may
# make: a success there means the request got past sign-in and CSRF into the
# handler, and did what it asked.
OWN_READ = {
    "anonymous": ("GET", "/api/v1/session"),
    "participant": ("GET", "/api/v1/me"),
    "coordinator": ("GET", "/api/v1/staff/flags"),
    "investigator": ("GET", "/api/v1/staff/flags"),
    "admin": ("GET", "/api/v1/staff/audit"),
}
OWN_WRITE = {
    "anonymous": ("POST", "/api/v1/staff/password-reset"),
    "participant": ("PATCH", "/api/v1/me"),
    "coordinator": ("POST", "/api/v1/staff/flags/{flag_id}/acknowledge"),
    "investigator": ("POST", "/api/v1/staff/participants/{study_id}/lock"),
    "admin": ("PATCH", "/api/v1/staff/sites/{code}"),
}


def _credentials(client) -> tuple[dict[str, str], dict[str, str]]:
    """The session cookie and the CSRF header of a test client.

    The token first: fetching it stores it in the session, which changes the
    cookie; a cookie read before that carries no token, and every write with
    it is refused 403 csrf_failed."""
    token = client.csrf()
    cookie = client.client.get_cookie("diary_session")
    return {cookie.key: cookie.value}, {"X-CSRF-Token": token}


ENTRY = {  # a day that raises flags, for the flag and entry operations to find
    "client_id": "5f0c6d0e-8a8e-4c4e-9a51-6f7f3b7d1a01",
    "back_pain": 9,
    "leg_pain": 3,
    "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
    "symptoms": ["fever"],
    "temperature_c": 38.5,
    "note": "fuzz",
}


@pytest.fixture
def signed_in(db, participant_client, staff_client, make_staff, new_client):
    """The role's client, signed in once (sign-in throttling counts attempts), and
    values of path parameters that exist in the database: random ones almost
    never name a real participant, flag or account, so without these the run
    would stop at 404 in front of most handlers."""

    def make(role: str):
        other = participant_client("LBP-002")  # at SITE-A, in every staff role's scope
        today = other.get("me").get_json()["today"]
        entry = {**ENTRY, "device_time": clock.now().isoformat()}
        assert other.put(f"entries/{today}", entry).status_code in (200, 201)
        make_staff("other@site-a.test", "coordinator")  # not the signed-in account
        if role == "anonymous":
            client = new_client()
        elif role == "participant":
            client = participant_client("LBP-001")
            mine = {**entry, "client_id": "5f0c6d0e-8a8e-4c4e-9a51-6f7f3b7d1a02"}
            assert client.put(f"entries/{today}", mine).status_code in (200, 201)
        else:
            client = staff_client(role, ("SITE-A",) if role != "admin" else ())
        known = {
            "study_id": "LBP-002",
            "day": today,
            "code": "SITE-A",
            "staff_id": _first(db, "SELECT id FROM staff WHERE email = 'other@site-a.test'"),
            "flag_id": _first(db, "SELECT id FROM flags ORDER BY id"),
            "occurrence_id": _first(db, "SELECT id FROM questionnaire_occurrences ORDER BY id"),
        }
        return client, {k: v for k, v in known.items() if v is not None}

    return make


def _first(db, sql: str):
    return next((row["id"] for row in db.query(sql)), None)


def _strategy(operation, mode: GenerationMode, known: dict):
    """Generated requests, half of them (where the path has such parameters) naming
    rows that exist."""
    fixed = {name: known[name] for name in re.findall(r"{(\w+)}", operation.path) if name in known}
    generated = operation.as_strategy(mode)
    if not fixed:
        return generated
    return st.one_of(generated, operation.as_strategy(mode, path_parameters=fixed))


def _documented_operations(app) -> set[tuple[str, str]]:
    """Every (method, path) the document describes, counted from the document itself."""
    spec = app.test_client().get(DOCUMENT).get_json()
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


@pytest.mark.parametrize("role", ROLES)
def test_no_input_makes_a_5xx_and_every_answer_matches_the_document(app, signed_in, role):
    client, known = signed_in(role)
    cookies, headers = _credentials(client)
    documented = _documented_operations(app)
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.path in LAST)
    assert {(op.method.upper(), op.path) for op in operations} == documented
    assert len(operations) == len(documented)

    started = time.monotonic()
    deadline = started + TIME_BUDGET
    failures = []
    seen: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    refusals: collections.Counter[str] = collections.Counter()
    examples = 0
    for operation, mode in [(op, mode) for op in operations for mode in MODES]:
        if time.monotonic() > deadline:
            break

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(operation, mode, known))
        def fuzz(case):
            nonlocal examples
            examples += 1
            response = case.call(headers=headers, cookies=cookies)
            seen[(case.operation.method.upper(), case.operation.path)].add(response.status_code)
            if response.status_code == 403:
                refusals[response.json()["error"].get("code", "forbidden")] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                failures.append(f"{operation.method.upper()} {operation.path}: no valid request")
            # negative: nothing in the operation can be got wrong (no parameters, no body)
        except Exception as exc:  # collect all operations' failures, then report
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {exc}")
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)

    # Every operation of the document was exercised, within the budget.
    missed = sorted(documented - set(seen))
    assert not missed, (
        f"{role}: {len(missed)} of {len(documented)} operations not exercised in "
        f"{elapsed:.0f} s (DIARY_FUZZ_SECONDS={TIME_BUDGET:g}): {missed}"
    )
    assert len(seen) == len(documented)
    # CSRF held no request back: the token and the cookie belong together.
    assert "csrf_failed" not in refusals, dict(refusals)
    # The session held: the role's own read succeeded, and its own write reached the handler.
    assert any(s < 300 for s in seen[OWN_READ[role]]), (role, dict(seen))
    assert any(s < 300 for s in seen[OWN_WRITE[role]]), (role, OWN_WRITE[role], dict(seen))
    succeeded = sorted(
        f"{m} {p}" for (m, p), statuses in seen.items() if m in WRITES and min(statuses) < 300
    )
    print(
        f"\n{role}: {len(seen)}/{len(documented)} operations, {examples} examples "
        f"({', '.join(m.value for m in MODES)}), "
        f"{elapsed:.1f} s; writes that succeeded: {len(succeeded)}; 403s: {dict(refusals)}"
    )
    print(role, {f"{m} {p}": sorted(s) for (m, p), s in sorted(seen.items())})


def test_the_document_describes_every_route_and_its_errors(app):
    spec = app.test_client().get(DOCUMENT).get_json()
    error = {"$ref": "#/components/schemas/Error"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api-docs.openapi_json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <date:day> → {day}
        assert path in spec["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            errors = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
            assert "default" in operation["responses"], (method, path)
            if rule.endpoint not in PUBLIC_ENDPOINTS:
                assert {"401", "403"} <= set(errors), (method, path)
            for status, response in [
                *errors.items(),
                ("default", operation["responses"]["default"]),
            ]:
                if "$ref" in response:  # a shared response component
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == error, (method, path, status)
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                assert {"403", "415"} <= set(errors), (method, path)
