"""Schemathesis against /api/v1/openapi.json, signed in as a participant and as staff.

Every operation of the document gets generated requests (bounded: a few
examples each, derandomised so CI is repeatable; DIARY_FUZZ_EXAMPLES=200 digs
deeper). No answer may be a 5xx, and every answer must match what the document
says for its status (schema, status code, content type).
"""

from __future__ import annotations

import collections
import os
import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from diary import PUBLIC_ENDPOINTS

EXAMPLES = int(os.environ.get("DIARY_FUZZ_EXAMPLES", "8"))
TIME_BUDGET = float(os.environ.get("DIARY_FUZZ_SECONDS", "60"))  # per role
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
# Signing out ends the session the rest of the run needs: those go last.
LAST = ("/api/v1/logout", "/api/v1/staff/logout")


def _credentials(client) -> tuple[dict[str, str], dict[str, str]]:
    """The session cookie and the CSRF header of a signed-in test client."""
    cookie = client.client.get_cookie("diary_session")
    return {cookie.key: cookie.value}, {"X-CSRF-Token": client.csrf()}


@pytest.fixture
def signed_in(participant_client, staff_client, make_staff, login):
    def make(role: str):
        if role == "participant":
            client = participant_client("LBP-001")
            client.put(  # something to read back, flags to list
                "entries/" + client.get("me").get_json()["today"],
                {
                    "client_id": "5f0c6d0e-8a8e-4c4e-9a51-6f7f3b7d1a01",
                    "back_pain": 9,
                    "leg_pain": 3,
                    "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
                    "symptoms": ["fever"],
                    "temperature_c": 38.5,
                    "device_time": "2020-01-01T00:00:00+00:00",
                    "note": "fuzz",
                },
            )
            return client
        participant_client("LBP-002")
        return staff_client(role, ("SITE-A",) if role != "admin" else ())

    return make


@pytest.mark.parametrize("role", ["participant", "investigator", "admin"])
def test_no_input_makes_a_5xx_and_every_answer_matches_the_document(app, signed_in, role):
    client = signed_in(role)
    cookies, headers = _credentials(client)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.path in LAST)
    assert len(operations) >= 25
    deadline = time.monotonic() + TIME_BUDGET
    failures = []
    seen: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for operation in operations:
        if time.monotonic() > deadline:
            break

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=headers, cookies=cookies)
            seen[(case.operation.method.upper(), case.operation.path)].add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:  # collect all operations' failures, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The session held: the role's own endpoints answered with success, not only 401s.
    succeeded = {op for op, statuses in seen.items() if any(s < 300 for s in statuses)}
    own = ("GET", "/api/v1/me") if role == "participant" else ("GET", "/api/v1/staff/flags")
    assert own in succeeded, dict(seen)
    print(role, {f"{m} {p}": sorted(s) for (m, p), s in sorted(seen.items())})


def test_the_document_describes_every_route_and_its_errors(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
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
