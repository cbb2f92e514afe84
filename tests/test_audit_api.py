"""GET /staff/audit: the trail for admins, newest first, filtered, paged, chain checked."""

import sqlite3

import pytest


@pytest.fixture
def trail(enroll, staff_client):
    """Two participants enrolled, one baseline change by a coordinator; an admin client."""
    enroll("LBP-001", site="SITE-A")
    enroll("LBP-101", site="SITE-B")
    coordinator = staff_client("coordinator", ("SITE-A",))
    changed = coordinator.patch(
        "staff/participants/LBP-001", {"baseline_mme": 20, "reason": "re-read the chart"}
    )
    assert changed.status_code == 200
    return staff_client("admin", ())


def page(client, query=""):
    response = client.get(f"staff/audit{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_rows_come_newest_first_with_every_field(trail):
    body = page(trail)
    ids = [r["id"] for r in body["rows"]]
    assert ids == sorted(ids, reverse=True)
    assert set(body["rows"][0]) == {
        "id",
        "at",
        "actor_type",
        "actor_id",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "site_id",
        "before",
        "after",
        "reason",
    }
    update = next(r for r in body["rows"] if r["action"] == "participant.update")
    assert update["before"] == {"baseline_mme": 10.0}
    assert update["after"] == {"baseline_mme": 20}
    assert update["reason"] == "re-read the chart"
    assert update["actor_type"] == "staff" and update["actor_label"] == "coordinator1@site-a.test"


def test_the_chain_check_comes_with_the_first_page_and_is_not_redone_for_older_ones(trail, db):
    body = page(trail, "?limit=2")
    total = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert body["chain"] == {"ok": True, "rows": total, "broken_id": None, "problem": None}
    older = page(trail, f"?limit=2&before_id={body['next_before_id']}")
    assert older["rows"] and older["chain"] is None


def test_a_tampered_row_is_named_by_the_chain_check(trail, app):
    conn = sqlite3.connect(app.config["DIARY_DATABASE"])
    conn.execute("DROP TRIGGER audit_log_no_update")  # what an attacker with the file could do
    row_id = conn.execute(
        "SELECT id FROM audit_log WHERE action = 'participant.update'"
    ).fetchone()[0]
    conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE id = ?", [row_id])
    conn.commit()
    conn.close()
    chain = page(trail)["chain"]
    assert chain["ok"] is False and chain["broken_id"] == row_id
    assert "hash" in chain["problem"]


def test_pages_follow_before_id_without_gaps_or_repeats(trail, db):
    seen, before = [], None
    while True:
        body = page(trail, f"?limit=2{f'&before_id={before}' if before else ''}")
        seen.extend(r["id"] for r in body["rows"])
        before = body["next_before_id"]
        if before is None:
            break
    total = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert seen == list(range(total, 0, -1))


@pytest.mark.parametrize(
    "query, check",
    [
        ("?object_type=participant&object_id=LBP-001", lambda r: r["object_id"] == "LBP-001"),
        ("?actor_type=cli", lambda r: r["actor_type"] == "cli"),
        ("?actor_type=staff&actor_id=1", lambda r: r["actor_id"] == "1"),
        ("?study_id=LBP-101", lambda r: r["object_id"] == "LBP-101"),
    ],
)
def test_filters_narrow_the_rows(trail, query, check):
    rows = page(trail, query)["rows"]
    assert rows and all(check(r) for r in rows)


def test_an_unknown_study_id_finds_nothing(trail):
    assert page(trail, "?study_id=LBP-999")["rows"] == []


@pytest.mark.parametrize("query", ["?limit=0", "?limit=501", "?actor_type=robot", "?before_id=x"])
def test_bad_filters_are_422(trail, query):
    assert trail.get(f"staff/audit{query}").status_code == 422


@pytest.mark.parametrize("role", ["coordinator", "investigator"])
def test_site_staff_cannot_read_the_audit_trail(staff_client, role):
    response = staff_client(role, ("SITE-A",)).get("staff/audit")
    assert response.status_code == 403


def test_participants_and_anonymous_callers_cannot_read_it(participant_client, api):
    assert participant_client("LBP-001").get("staff/audit").status_code == 403
    assert api.get("staff/audit").status_code == 401
