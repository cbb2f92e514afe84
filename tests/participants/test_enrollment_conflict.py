"""A study ID is unique study-wide, and no answer tells a coordinator whether an ID is
taken at their own site, at another site, or by a withdrawn participant (SPEC §2:
another site's objects are not revealed)."""

from datetime import UTC, datetime

import pytest
import time_machine

ENROLL = {
    "site": "SITE-A",
    "timezone": "America/Chicago",
    "injection_date": "2026-11-20",
    "baseline_back_pain": 6,
    "baseline_mme": 22.5,
}

# Everything a refused enrollment could have written, audit and access log included.
TABLES = (
    "participants",
    "participant_timezones",
    "injections",
    "activation_codes",
    "audit_log",
    "access_log",
)


@pytest.fixture(autouse=True)
def _on_25_november_2026():
    with time_machine.travel(datetime(2026, 11, 25, 18, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def sites(enroll, staff_client):
    """LBP-001 active at SITE-A, LBP-002 withdrawn at SITE-A, LBP-101 at SITE-B; a
    coordinator at each site."""
    enroll("LBP-001", site="SITE-A")
    enroll("LBP-002", site="SITE-A")
    enroll("LBP-101", site="SITE-B")
    a = staff_client("coordinator", ("SITE-A",))
    b = staff_client("coordinator", ("SITE-B",))
    withdrawn = a.patch("staff/participants/LBP-002", {"status": "withdrawn", "reason": "consent"})
    assert withdrawn.status_code == 200
    return a, b


def _counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def _enroll(client, study_id, site):
    response = client.post("staff/participants", {**ENROLL, "study_id": study_id, "site": site})
    return response.status_code, response.get_json()


def test_a_taken_study_id_gets_one_answer_wherever_it_is_and_writes_nothing(sites, db):
    a, b = sites
    before = _counts(db)
    answers = {
        "mine": _enroll(a, "LBP-001", "SITE-A"),
        "mine, withdrawn": _enroll(a, "LBP-002", "SITE-A"),
        "the other site's": _enroll(a, "LBP-101", "SITE-A"),
        "seen from the other site": _enroll(b, "LBP-001", "SITE-B"),
        "withdrawn, seen from the other site": _enroll(b, "LBP-002", "SITE-B"),
        "the other site's own": _enroll(b, "LBP-101", "SITE-B"),
    }
    statuses = {name: status for name, (status, _) in answers.items()}
    assert set(statuses.values()) == {409}, statuses
    bodies = {name: body for name, (_, body) in answers.items()}
    first = bodies["mine"]
    assert all(body == first for body in bodies.values()), bodies
    error = first["error"]
    assert error["code"] == "conflict"
    assert "cannot be used for a new enrollment" in error["message"]
    assert set(error["fields"]) == {"study_id"}
    # Neither the ID nor anything about where it lives is in the answer.
    text = str(first)
    for word in ("LBP-", "SITE-", "already enrolled", "withdrawn", "another site"):
        assert word not in text
    assert _counts(db) == before
    still = db.execute("SELECT study_id, site_id, status FROM participants ORDER BY id").fetchall()
    assert [tuple(r) for r in still] == [
        ("LBP-001", 1, "active"),
        ("LBP-002", 1, "withdrawn"),
        ("LBP-101", 2, "active"),
    ]


def test_the_refusal_leaves_no_audit_row_about_the_other_sites_participant(sites, db):
    a, _ = sites
    before = db.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    assert _enroll(a, "LBP-101", "SITE-A")[0] == 409
    assert db.execute("SELECT count(*) FROM audit_log WHERE id > ?", [before]).fetchone()[0] == 0
    rows = db.execute(
        "SELECT count(*) FROM audit_log WHERE object_id = 'LBP-101' AND site_id = 1"
    ).fetchone()[0]
    assert rows == 0


def test_a_free_study_id_still_enrolls(sites):
    a, _ = sites
    status, body = _enroll(a, "LBP-003", "SITE-A")
    assert status == 201 and body["study_id"] == "LBP-003"


PROBES = [
    ("get", "staff/participants/{id}", None),
    ("get", "staff/participants/{id}/entries", None),
    ("get", "staff/participants/{id}/change-requests", None),
    ("get", "staff/participants/{id}/questionnaires", None),
    ("get", "staff/participants/{id}/adverse-events", None),
    ("get", "staff/participants/{id}/reachability", None),
    ("get", "staff/signatures?record_type=participant&record_id={id}", None),
    ("get", "staff/participants?q={id}", None),
    ("get", "staff/flags?study_id={id}", None),
    ("patch", "staff/participants/{id}", {"baseline_mme": 20, "reason": "chart review"}),
    ("post", "staff/participants/{id}/activation-code", None),
    ("post", "staff/participants/{id}/injections", {"date": "2026-11-24"}),
]


@pytest.mark.parametrize(("method", "path", "body"), PROBES)
def test_another_sites_study_id_answers_like_one_that_does_not_exist(sites, db, method, path, body):
    a, _ = sites

    def ask(study_id):
        before = _counts(db)
        call = getattr(a, method)
        url = path.format(id=study_id)
        response = call(url, body) if method != "get" else call(url)
        # The caller's own words come back in a 404 message; nothing else may differ,
        # not even what the request leaves in the audit trail or the access log.
        text = response.get_data(as_text=True).replace(study_id, "<ID>")
        after = _counts(db)
        return response.status_code, text, {t: after[t] - before[t] for t in TABLES}

    elsewhere, nowhere = ask("LBP-101"), ask("LBP-999")
    assert elsewhere == nowhere
    status, _, written = elsewhere
    assert status in (200, 404)
    assert {t: n for t, n in written.items() if t != "access_log"} == dict.fromkeys(TABLES[:-1], 0)
