"""The access log (SPEC §15, HIPAA 164.312(b)): who read which participant's record or
which export, once a minute per route; browsed and downloaded by admins only."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from account_support import code_at

from diary.audit import access_log

CHICAGO = ZoneInfo("America/Chicago")
NOTE = "Told my sister about the new pills"
PARTICIPANT_ROUTES = {
    "staff/participants/LBP-001": "/api/v1/staff/participants/<study_id>",
    "staff/participants/LBP-001/entries": "/api/v1/staff/participants/<study_id>/entries",
    "staff/participants/LBP-001/questionnaires": (
        "/api/v1/staff/participants/<study_id>/questionnaires"
    ),
    "staff/participants/LBP-001/adverse-events": (
        "/api/v1/staff/participants/<study_id>/adverse-events"
    ),
    "staff/participants/LBP-001/reachability": (
        "/api/v1/staff/participants/<study_id>/reachability"
    ),
    "staff/participants/LBP-001/change-requests": (
        "/api/v1/staff/participants/<study_id>/change-requests"
    ),
}


def local(*args):
    return datetime(*args, tzinfo=CHICAGO)


def at(*args):
    return time_machine.travel(local(*args), tick=False)


@pytest.fixture
def site(participant_client, staff_client, enroll):
    """LBP-001 at SITE-A wrote a note and reported a fever on day 0; LBP-101 is at SITE-B.
    A coordinator of SITE-A (with a name) and an admin, signed in at 09:00."""
    with at(2026, 3, 2, 9, 0):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 2))
        enroll("LBP-101", site="SITE-B", injection_date=date(2026, 3, 2))
        made = phone.put(
            "entries/2026-03-02",
            {
                "client_id": str(uuid.uuid4()),
                "back_pain": 5,
                "leg_pain": 2,
                "doses": [],
                "symptoms": ["fever"],
                "temperature_c": 38.6,
                "note": NOTE,
                "device_time": datetime.now(CHICAGO).isoformat(),
            },
        )
        assert made.status_code == 201, made.get_json()
        return {
            "coordinator": staff_client("coordinator", ("SITE-A",), full_name="Casey Coordinator"),
            "admin": staff_client("admin", ()),
        }


def reads(db, event="participant_read"):
    return [
        dict(r)
        for r in db.query(
            "SELECT a.*, p.study_id, s.code AS site FROM access_log a"
            " LEFT JOIN participants p ON p.id = a.participant_id"
            " LEFT JOIN sites s ON s.id = a.site_id WHERE event = ? ORDER BY a.id",
            [event],
        )
    ]


def log(client, query=""):
    response = client.get(f"staff/access-log{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_each_part_of_a_record_a_coordinator_opens_is_logged_once_a_minute(site, db):
    coordinator = site["coordinator"]
    with at(2026, 3, 2, 9, 5):
        for path in PARTICIPANT_ROUTES:
            assert coordinator.get(path).status_code == 200, path
    with at(2026, 3, 2, 9, 5, 50):  # the screen reloaded within the minute
        for path in PARTICIPANT_ROUTES:
            assert coordinator.get(path).status_code == 200, path
    rows = reads(db)
    assert sorted(r["object"] for r in rows) == sorted(PARTICIPANT_ROUTES.values())
    staff_id = db.execute("SELECT id FROM staff WHERE full_name = 'Casey Coordinator'").fetchone()[
        0
    ]
    assert {(r["staff_id"], r["study_id"], r["site"], r["client"]) for r in rows} == {
        (staff_id, "LBP-001", "SITE-A", "127.0.0.1")
    }
    with at(2026, 3, 2, 9, 6, 1):  # a minute after the first read: logged again
        assert coordinator.get("staff/participants/LBP-001/entries").status_code == 200
    assert len(reads(db)) == len(PARTICIPANT_ROUTES) + 1


def test_each_staff_member_and_participant_counts_apart(site, db):
    with at(2026, 3, 2, 9, 5):
        assert site["coordinator"].get("staff/participants/LBP-001").status_code == 200
        assert site["admin"].get("staff/participants/LBP-001").status_code == 200
        assert site["admin"].get("staff/participants/LBP-101").status_code == 200
    assert [(r["study_id"], r["site"]) for r in reads(db)] == [
        ("LBP-001", "SITE-A"),
        ("LBP-001", "SITE-A"),
        ("LBP-101", "SITE-B"),
    ]


def test_changes_and_refused_reads_are_not_logged_as_reads(site, db):
    coordinator = site["coordinator"]
    with at(2026, 3, 2, 9, 5):
        changed = coordinator.patch(
            "staff/participants/LBP-001", {"baseline_mme": 20, "reason": "re-read the chart"}
        )
        assert changed.status_code == 200, changed.get_json()
        assert coordinator.get("staff/participants/LBP-101").status_code == 404  # SITE-B
        assert coordinator.get("staff/participants/LBP-999").status_code == 404
        assert coordinator.get("staff/participants").status_code == 200  # the list
    assert reads(db) == []


def test_a_flag_and_an_adverse_event_are_reads_of_their_participant(site, db, staff_client):
    flag_id = db.execute("SELECT id FROM flags WHERE kind = 'red_flag_symptom'").fetchone()[0]
    with at(2026, 3, 2, 9, 5):
        investigator = staff_client("investigator", ("SITE-A",))
        recorded = investigator.post(
            "staff/participants/LBP-001/adverse-events",
            {
                "source": "participant_report",
                "term": "Injection site pain",
                "onset_date": "2026-03-02",
                "ctcae_grade": 1,
                "serious": False,
                "related": "probable",
            },
        )
        assert recorded.status_code == 201, recorded.get_json()
        assert reads(db) == []  # recording it is a change, not a read
        coordinator = site["coordinator"]
        assert coordinator.get(f"staff/flags/{flag_id}").status_code == 200
        assert coordinator.get(f"staff/flags/{flag_id}/notifications").status_code == 200
        ae = coordinator.get(f"staff/adverse-events/{recorded.get_json()['id']}")
        assert ae.status_code == 200
    assert [(r["object"], r["study_id"], r["site"]) for r in reads(db)] == [
        ("/api/v1/staff/flags/<int:flag_id>", "LBP-001", "SITE-A"),
        ("/api/v1/staff/flags/<int:flag_id>/notifications", "LBP-001", "SITE-A"),
        ("/api/v1/staff/adverse-events/<int:ae_id>", "LBP-001", "SITE-A"),
    ]


def test_every_export_download_is_logged_with_its_name_and_site(site, db):
    with at(2026, 3, 2, 9, 5):
        for name in ("entries.csv", "entries.csv", "sdtm.zip"):
            assert site["coordinator"].get(f"staff/exports/{name}").status_code == 200
        assert site["admin"].get("staff/exports/flags.csv?site=SITE-B").status_code == 200
        assert site["admin"].get("staff/exports/doses.csv").status_code == 200
    rows = reads(db, "export_read")
    assert [(r["object"], r["site"], r["client"]) for r in rows] == [
        ("entries.csv", "SITE-A", "127.0.0.1"),  # each download, even a minute apart
        ("entries.csv", "SITE-A", "127.0.0.1"),
        ("sdtm.zip", "SITE-A", "127.0.0.1"),
        ("flags.csv", "SITE-B", "127.0.0.1"),
        ("doses.csv", None, "127.0.0.1"),  # every site's
    ]
    assert all(r["participant_id"] is None for r in rows)


def test_an_admin_sees_who_read_whose_record_newest_first(site):
    with at(2026, 3, 2, 9, 5):
        assert site["coordinator"].get("staff/participants/LBP-001").status_code == 200
        assert site["coordinator"].get("staff/exports/entries.csv").status_code == 200
        body = log(site["admin"], "?event=participant_read")
    [row] = body["rows"]
    assert row == {
        "id": row["id"],
        "at": "2026-03-02T15:05:00.000000+00:00",
        "event": "participant_read",
        "staff_id": row["staff_id"],
        "staff_email": "coordinator1@site-a.test",
        "staff_name": "Casey Coordinator",
        "account": None,
        "client": "127.0.0.1",
        "participant": "LBP-001",
        "site": "SITE-A",
        "object": "/api/v1/staff/participants/<study_id>",
    }
    with at(2026, 3, 2, 9, 6):
        everything = log(site["admin"])["rows"]
    ids = [r["id"] for r in everything]
    assert ids == sorted(ids, reverse=True)
    assert [r["event"] for r in everything][:2] == ["access_log_read", "export_read"]


def test_reading_the_log_is_logged_and_so_is_each_csv_download(site, db):
    admin = site["admin"]
    with at(2026, 3, 2, 9, 5):
        log(admin)
        log(admin, "?event=export_read")  # the same screen, filtered, within the minute
        assert admin.get("staff/access-log.csv").status_code == 200
        assert admin.get("staff/access-log.csv").status_code == 200
    assert [r["object"] for r in reads(db, "access_log_read")] == [
        "/api/v1/staff/access-log",
        "/api/v1/staff/access-log.csv",
        "/api/v1/staff/access-log.csv",
    ]


def seed(db, participant_study_id, when, event="participant_read", **fields):
    pid, site_id = db.execute(
        "SELECT id, site_id FROM participants WHERE study_id = ?", [participant_study_id]
    ).fetchone()
    return access_log.record(
        db, event=event, now=when, participant_id=pid, site_id=site_id, object="/x", **fields
    )


def test_filters_by_event_staff_participant_and_the_study_days(site, db):
    with at(2026, 3, 2, 9, 5):  # while the fixture's sessions are fresh
        staff_id = db.execute("SELECT id FROM staff WHERE role = 'coordinator'").fetchone()[0]
        early = seed(db, "LBP-001", local(2026, 3, 3, 0, 10), staff_id=staff_id)  # 06:10 UTC
        late = seed(db, "LBP-101", local(2026, 3, 4, 23, 50), staff_id=staff_id)  # the 5th in UTC
        access_log.record(db, event="sign_in_failed", account="who@else.test", client="10.0.0.9")
        admin = site["admin"]

        def ids(query):
            return [r["id"] for r in log(admin, query)["rows"]]

        assert ids("?participant=LBP-001") == [early]
        assert ids("?participant=LBP-404") == []
        mine = log(admin, f"?staff_id={staff_id}")["rows"]  # their sign-in too, when logged
        assert {late, early} <= {r["id"] for r in mine}
        assert {r["staff_id"] for r in mine} == {staff_id}
        assert ids("?event=participant_read") == [late, early]
        assert [r["account"] for r in log(admin, "?event=sign_in_failed")["rows"]] == [
            "who@else.test"
        ]
        # Whole days in the study's time zone (America/Chicago), `until` included.
        assert ids("?event=participant_read&since=2026-03-03&until=2026-03-03") == [early]
        assert ids("?event=participant_read&since=2026-03-04") == [late]
        assert ids("?event=participant_read&until=2026-03-04") == [late, early]
        assert ids("?event=participant_read&until=2026-03-02") == []


def test_pages_follow_next_before_id_without_gaps_or_repeats(site, db):
    with at(2026, 3, 2, 9, 5):  # while the fixture's sessions are fresh
        made = [seed(db, "LBP-001", local(2026, 3, 3, 12, i)) for i in range(5)]
        seen, before = [], None
        while True:
            body = log(
                site["admin"],
                f"?participant=LBP-001&limit=2{f'&before_id={before}' * bool(before)}",
            )
            seen.extend(r["id"] for r in body["rows"])
            before = body["next_before_id"]
            if before is None:
                break
        assert seen == made[::-1]


@pytest.mark.parametrize(
    "query, field",
    [
        ("?event=peeked", "event"),
        ("?staff_id=me", "staff_id"),
        ("?staff_id=0", "staff_id"),
        ("?staff_id=99999999999999999999", "staff_id"),
        ("?participant=lbp%20001", "participant"),
        ("?since=2026-02-30", "since"),
        ("?since=1999-12-31", "since"),
        ("?until=9999-12-31", "until"),
        ("?since=2026-03-04&until=2026-03-03", "until"),
        ("?before_id=x", "before_id"),
        ("?limit=0", "limit"),
        ("?limit=100000000", "limit"),
        ("?stuff_id=1", "stuff_id"),
    ],
)
def test_bad_filters_are_422_naming_the_field(site, query, field):
    with at(2026, 3, 2, 9, 5):  # while the fixture's sessions are fresh
        for path in ("staff/access-log", "staff/access-log.csv"):
            response = site["admin"].get(f"{path}{query}")
            assert response.status_code == 422, (path, response.get_data(as_text=True))
            assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("role", ["coordinator", "investigator"])
def test_site_staff_cannot_read_the_access_log(staff_client, role):
    client = staff_client(role, ("SITE-A",))
    assert client.get("staff/access-log").status_code == 403
    assert client.get("staff/access-log.csv").status_code == 403


def test_participants_and_anonymous_callers_cannot_read_it(participant_client, api):
    phone = participant_client("LBP-001")
    assert phone.get("staff/access-log").status_code == 403
    assert phone.get("staff/access-log.csv").status_code == 403
    assert api.get("staff/access-log").status_code == 401
    assert api.get("staff/access-log.csv").status_code == 401


def test_a_participants_own_diary_reads_are_not_staff_reads(participant_client, db):
    phone = participant_client("LBP-001")
    assert phone.get("questionnaires").status_code == 200
    assert phone.get("me").status_code == 200
    assert reads(db) == []


def test_the_csv_download_holds_the_rows_the_screen_lists(site):
    with at(2026, 3, 2, 9, 5):
        assert site["coordinator"].get("staff/participants/LBP-001/entries").status_code == 200
        shown = log(site["admin"], "?participant=LBP-001")["rows"]
        response = site["admin"].get("staff/access-log.csv?participant=LBP-001")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "access_log" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))
    assert [r["id"] for r in rows] == [str(r["id"]) for r in shown]
    assert rows[0]["participant"] == "LBP-001" and rows[0]["site"] == "SITE-A"
    assert rows[0]["staff_name"] == "Casey Coordinator"
    assert rows[0]["object"] == "/api/v1/staff/participants/<study_id>/entries"
    assert rows[0]["account"] == ""  # an empty cell, as in every export


def test_no_row_holds_the_text_of_what_was_read(site, db):
    with at(2026, 3, 2, 9, 5):
        assert NOTE in site["coordinator"].get("staff/participants/LBP-001/entries").get_data(
            as_text=True
        )
        assert NOTE in site["coordinator"].get("staff/exports/entries.csv").get_data(as_text=True)
        listed = site["admin"].get("staff/access-log").get_data(as_text=True)
        downloaded = site["admin"].get("staff/access-log.csv").get_data(as_text=True)
    assert "LBP-001" in listed and "entries.csv" in downloaded
    for text in (listed, downloaded):
        assert NOTE not in text and "38.6" not in text and "fever" not in text
    stored = "\n".join(str(v) for r in db.query("SELECT * FROM access_log") for v in r.values())
    assert NOTE not in stored


def test_reads_within_a_minute_stay_one_row_across_clients(site, db, login):
    """Two tabs of the same staff member at once: still one row."""
    with at(2026, 3, 2, 9, 5):
        second = login("coordinator1@site-a.test")
        assert site["coordinator"].get("staff/participants/LBP-001").status_code == 200
    with at(2026, 3, 2, 9, 5, 30):
        assert second.get("staff/participants/LBP-001").status_code == 200
    assert len(reads(db)) == 1


def test_the_csv_holds_every_row_the_filters_select_not_one_page(site, db):
    with at(2026, 3, 2, 9, 5):  # while the fixture's sessions are fresh
        for n in range(1203):
            access_log.record(
                db, event="sign_in_failed", account=f"spray{n}@x.test", client="192.0.2.9"
            )
        db.conn.commit()
        downloaded = site["admin"].get("staff/access-log.csv?event=sign_in_failed")
        rows = list(csv.DictReader(io.StringIO(downloaded.get_data(as_text=True))))
        assert len(rows) == 1203
        assert len({r["id"] for r in rows}) == 1203
        limited = site["admin"].get("staff/access-log.csv?event=sign_in_failed&limit=7")
        assert len(list(csv.DictReader(io.StringIO(limited.get_data(as_text=True))))) == 7


def test_sign_ins_reach_the_access_log_with_the_account_as_typed_and_never_a_password(
    staff_client, make_staff, login, new_client, db
):
    """Real sign-ins, read back through the admins' access-log API."""
    right, wrong, ghost = "correct horse battery", "Spring2026-guess!", "Ghost-password-1!"
    start = datetime(2026, 5, 4, 14, 0, 5, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False) as traveller:
        admin = staff_client("admin", ())
        make_staff("tess@site-a.test", full_name="Tess Twostep")
        me = login("tess@site-a.test")
        secret = me.post("staff/mfa/totp").get_json()["secret"]
        assert (
            me.post("staff/mfa/totp/confirm", {"code": code_at(secret, start)}).status_code == 200
        )
        me.post("staff/logout")

        traveller.move_to(start + timedelta(seconds=40))
        code = code_at(secret, start + timedelta(seconds=40))
        tries = new_client()
        tries.client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
        sent = [
            ({"email": "Nobody@Site-A.test", "password": ghost}, 401),
            ({"email": "tess@site-a.test", "password": wrong}, 401),
            ({"email": "Tess@Site-A.test", "password": right, "otp": code}, 200),
        ]
        for body, status in sent:
            assert tries.post("staff/login", body).status_code == status, body
        other = new_client()
        other.client.environ_base["REMOTE_ADDR"] = "203.0.113.8"
        wrong_code = other.post(
            "staff/login", {"email": "tess@site-a.test", "password": right, "otp": "000000"}
        )
        assert wrong_code.get_json()["error"]["code"] == "wrong_otp"
        listed = admin.get("staff/access-log")
        downloaded = admin.get("staff/access-log.csv").get_data(as_text=True)
    assert listed.status_code == 200
    rows = [r for r in listed.get_json()["rows"] if (r["client"] or "").startswith("203.0.113.")]
    tess = db.execute("SELECT id FROM staff WHERE email = 'tess@site-a.test'").fetchone()[0]
    assert [
        (r["event"], r["account"], r["staff_id"], r["staff_email"], r["client"], r["object"])
        for r in reversed(rows)
    ] == [
        ("sign_in_failed", "nobody@site-a.test", None, None, "203.0.113.7", "sign_in"),
        ("sign_in_failed", "tess@site-a.test", tess, "tess@site-a.test", "203.0.113.7", "sign_in"),
        ("sign_in", "tess@site-a.test", tess, "tess@site-a.test", "203.0.113.7", "totp"),
        (
            "second_factor_failed",
            "tess@site-a.test",
            tess,
            "tess@site-a.test",
            "203.0.113.8",
            "sign_in",
        ),
    ]
    # No password, code or TOTP key in any row, in the API, the CSV or the table.
    csv_cells = {c for r in csv.reader(io.StringIO(downloaded)) for c in r}
    stored = {str(v) for r in db.query("SELECT * FROM access_log") for v in r.values()}
    listed_cells = {str(v) for r in listed.get_json()["rows"] for v in r.values()}
    for cells in (csv_cells, stored, listed_cells):
        assert not cells & {right, wrong, ghost, code, "000000", secret}
    for text in (listed.get_data(as_text=True), downloaded, "\n".join(stored)):
        for value in (right, wrong, ghost, secret):
            assert value not in text
