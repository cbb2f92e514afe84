"""A phone reports what it could not send; the study team sees it (SPEC §11)."""

from __future__ import annotations

import uuid

import pytest
from app_support import study_today


def problem(**fields):
    return {
        "client_id": str(uuid.uuid4()),
        "kind": "entry",
        "date": "2026-03-02",
        "status": 422,
        "code": "validation_failed",
        **fields,
    }


def test_a_reported_problem_shows_in_reachability_counted_and_audited_once(
    participant_client, staff_client, db
):
    phone = participant_client("LBP-001", injection_date=study_today())
    report = problem(date=study_today().isoformat())
    for _ in range(3):
        assert phone.post("sync-problems", report).status_code == 200
    seen = staff_client("coordinator").get("staff/participants/LBP-001/reachability").get_json()
    (shown,) = seen["sync_problems"]
    assert (shown["date"], shown["status"], shown["code"], shown["reports"]) == (
        report["date"],
        422,
        "validation_failed",
        3,
    )
    assert (
        db.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'sync_problem.report'"
        ).fetchone()[0]
        == 1
    )
    # Another site's coordinator does not see the participant at all.
    assert (
        staff_client("coordinator", ("SITE-B",))
        .get("staff/participants/LBP-001/reachability")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    "change",
    [
        {"status": 200},
        {"code": "Robert'); DROP TABLE"},
        {"code": "validation_failed\n"},
        {"kind": "flag"},
        {"date": "2026-W10-1"},
        {"client_id": "not-a-uuid"},
        {"note": "extra field"},
    ],
)
def test_a_bad_report_is_422_and_writes_nothing(participant_client, db, change):
    phone = participant_client("LBP-001", injection_date=study_today())
    response = phone.post("sync-problems", problem(**change))
    assert response.status_code == 422
    assert db.execute("SELECT count(*) FROM sync_problems").fetchone()[0] == 0


def test_only_a_participant_reports(staff_client, api):
    assert staff_client("coordinator").post("sync-problems", problem()).status_code == 403
    assert api.post("sync-problems", problem()).status_code == 401
