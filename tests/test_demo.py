"""`flask diary demo` makes what the README promises: a login per role, each with its own
password printed once, and two participants with three weeks of diary who show as
activated (their entries are theirs)."""

import re
from datetime import date

from diary.cli import diary as diary_cli


def run(app, *args):
    return app.test_cli_runner().invoke(diary_cli, list(args))


def logins(output: str) -> dict[str, tuple[str, str]]:
    return {
        role: (email, password)
        for role, email, password in re.findall(
            r"^  (\w+): (\S+@demo\.test) / (\S+)$", output, re.M
        )
    }


def test_each_demo_role_has_its_own_password_printed_once(app, login):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    printed = logins(first.output)
    assert set(printed) == {"coordinator", "investigator", "admin"}
    passwords = [password for _, password in printed.values()]
    assert len(set(passwords)) == 3 and all(len(p) >= 12 for p in passwords)
    for email, password in printed.values():
        login(email, password)  # asserts that each signs in
    again = run(app, "demo")
    assert again.exit_code == 0, again.output
    assert logins(again.output) == {}
    assert not any(p in again.output for p in passwords)
    assert "printed when the demo was made" in again.output


def test_a_role_cannot_sign_in_with_another_roles_demo_password(app, new_client):
    printed = logins(run(app, "demo").output)
    client = new_client()
    refused = client.post(
        "staff/login",
        {"email": printed["coordinator"][0], "password": printed["admin"][1]},
    )
    assert refused.status_code == 401


def test_demo_participants_have_three_weeks_of_their_own_diary_and_are_activated(app, db):
    assert run(app, "demo").exit_code == 0
    rows = db.execute(
        "SELECT p.study_id, p.activated_at, count(e.id), min(e.date), max(e.date),"
        " sum(e.entered_by = 'participant')"
        " FROM participants p LEFT JOIN entries e ON e.participant_id = p.id"
        " GROUP BY p.id ORDER BY p.study_id"
    ).fetchall()
    diaries = {r[0]: r for r in rows if r[2]}
    assert set(diaries) == {"LBP-101", "LBP-102"}
    for study_id, activated_at, count, first, last, own in diaries.values():
        span = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
        assert span == 21, study_id  # three weeks of diary dates
        assert count >= 18 and own == count, study_id
        assert activated_at is not None and activated_at < first + "T23:59", study_id
    # The fresh participant, whose code is printed, has not activated yet.
    fresh = [r for r in rows if not r[2]]
    assert [r[0] for r in fresh] == ["LBP-001"] and fresh[0][1] is None
    activations = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'participant.activate'"
    ).fetchone()[0]
    assert activations == 2
