"""Long lists come in pages, with date filters where dates apply: participants (by study
ID, filtered by day 0), a participant's entries (newest page first; a 24-month diary has
730), the audit trail (by date, by an object type from the server's list), exports (by
site and diary dates); and staff read the canonical time-zone list."""

import csv
import io
import zipfile
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

CHICAGO = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 1)


def at(day: date, hour: int = 20):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHICAGO), tick=False
    )


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return response.get_json()


@pytest.fixture
def diary(participant_client):
    """LBP-001 (SITE-A, day 0 = 2026-03-01) with entries on 40 of the first 45 days
    (none on days 10-14) and, on day 3, 60 MME of oxycodone."""
    with at(DAY0, 9):
        phone = participant_client("LBP-001", injection_date=DAY0)
    for offset in range(45):
        if 10 <= offset <= 14:
            continue
        day = DAY0 + timedelta(days=offset)
        with at(day):
            doses = [{"drug": "oxycodone", "strength": 10, "units": 4}] if offset == 3 else []
            body = entry(back_pain=offset % 11, doses=doses)
            assert phone.put(f"entries/{day}", body).status_code == 201
    return phone


# --- participants ------------------------------------------------------------------------


def test_participants_come_in_pages_by_study_id_with_the_total(enroll, staff_client):
    with at(DAY0, 9):
        for n in range(1, 8):
            enroll(f"LBP-{n:03d}", injection_date=DAY0 - timedelta(days=n))
        enroll("LBP-900", site="SITE-B")
        coordinator = staff_client("coordinator", ("SITE-A",))
        seen, after = [], None
        while True:
            body = ok(
                coordinator.get(f"staff/participants?limit=3{f'&after={after}' if after else ''}")
            )
            assert body["total"] == 7  # SITE-B's participant is not counted
            assert len(body["participants"]) <= 3
            seen += [p["study_id"] for p in body["participants"]]
            after = body["next_after"]
            if after is None:
                break
        assert seen == [f"LBP-{n:03d}" for n in range(1, 8)]


def test_participants_filter_by_the_first_injection_dates(enroll, staff_client):
    with at(DAY0, 9):
        for n in range(1, 6):
            enroll(f"LBP-{n:03d}", injection_date=DAY0 - timedelta(days=n))
        coordinator = staff_client("coordinator", ("SITE-A",))
        body = ok(coordinator.get("staff/participants?from=2026-02-25&to=2026-02-27"))
    # day 0 of LBP-00n is 2026-03-01 minus n days: 02-27, 02-26, 02-25 are n = 2, 3, 4
    assert [p["study_id"] for p in body["participants"]] == ["LBP-002", "LBP-003", "LBP-004"]
    assert body["total"] == 3 and body["next_after"] is None


@pytest.mark.parametrize(
    "query, field",
    [("limit=201", "limit"), ("limit=0", "limit"), ("from=2026-03-02&to=2026-03-01", "to")],
)
def test_a_participant_page_past_the_cap_or_backwards_dates_is_refused(staff_client, query, field):
    response = staff_client("coordinator", ("SITE-A",)).get(f"staff/participants?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


# --- a participant's entries -----------------------------------------------------------------


def test_a_long_diary_comes_newest_page_first_and_every_entry_once(diary, staff_client):
    with at(DAY0 + timedelta(days=46), 10):
        coordinator = staff_client("coordinator", ("SITE-A",))
        pages, before = [], None
        while True:
            query = "limit=15" + (f"&before={before}" if before else "")
            body = ok(coordinator.get(f"staff/participants/LBP-001/entries?{query}"))
            assert body["total"] == 40
            dates = [e["date"] for e in body["entries"]]
            assert dates == sorted(dates)  # each page oldest first, as the unpaged list
            pages.append(dates)
            before = body["next_before"]
            if before is None:
                break
    assert [len(p) for p in pages] == [15, 15, 10]
    assert pages[0][-1] == str(DAY0 + timedelta(days=44))  # the newest page comes first
    every = [d for p in pages for d in p]
    assert len(set(every)) == 40 and pages[1][-1] < pages[0][0]


def test_entries_between_two_dates_page_within_them(diary, staff_client):
    with at(DAY0 + timedelta(days=46), 10):
        coordinator = staff_client("coordinator", ("SITE-A",))
        body = ok(
            coordinator.get(
                "staff/participants/LBP-001/entries?from=2026-03-08&to=2026-03-20&limit=4"
            )
        )
        # 03-08..03-20 is days 7..19: without days 10-14, 8 entries
        assert body["total"] == 8
        assert [e["date"] for e in body["entries"]] == [
            "2026-03-17",
            "2026-03-18",
            "2026-03-19",
            "2026-03-20",
        ]
        rest = ok(
            coordinator.get(
                "staff/participants/LBP-001/entries?from=2026-03-08&to=2026-03-20&limit=4"
                f"&before={body['next_before']}"
            )
        )
    assert [e["date"] for e in rest["entries"]] == [
        "2026-03-08",
        "2026-03-09",
        "2026-03-10",
        "2026-03-16",
    ]
    assert rest["next_before"] is None


def test_an_entry_page_is_capped_at_a_year(diary, staff_client):
    coordinator = staff_client("coordinator", ("SITE-A",))
    response = coordinator.get("staff/participants/LBP-001/entries?limit=367")
    assert response.status_code == 422 and "limit" in response.get_json()["error"]["fields"]


def test_another_sites_participant_has_no_entry_pages(diary, staff_client):
    other = staff_client("coordinator", ("SITE-B",))
    assert other.get("staff/participants/LBP-001/entries?limit=5").status_code == 404


# --- the audit trail ---------------------------------------------------------------------------


def test_the_audit_trail_filters_by_dates_in_the_study_zone(diary, staff_client):
    with at(DAY0 + timedelta(days=46), 10):
        admin = staff_client("admin", ())
        body = ok(admin.get("staff/audit?object_type=entry&from=2026-03-05&to=2026-03-06"))
    # Entries are audited when made, at 20:00 Chicago on their own date.
    assert sorted(r["object_id"] for r in body["rows"]) == [
        "LBP-001/2026-03-05",
        "LBP-001/2026-03-06",
    ]
    for row in body["rows"]:
        local = datetime.fromisoformat(row["at"]).astimezone(CHICAGO).date()
        assert date(2026, 3, 5) <= local <= date(2026, 3, 6)


def test_the_audit_object_types_are_the_trails_own_with_words(diary, staff_client):
    admin = staff_client("admin", ())
    types = ok(admin.get("staff/audit/object-types"))["object_types"]
    names = [t["type"] for t in types]
    assert names == sorted(names) and {"entry", "participant", "flag"} <= set(names)
    assert {t["type"]: t["label"] for t in types}["entry"] == "Diary entry"
    for t in types:  # each one filters to rows of that type
        rows = ok(admin.get(f"staff/audit?object_type={t['type']}&limit=5"))["rows"]
        assert rows and {r["object_type"] for r in rows} == {t["type"]}


def test_only_admins_read_the_audit_object_types(staff_client):
    response = staff_client("coordinator", ("SITE-A",)).get("staff/audit/object-types")
    assert response.status_code == 403


# --- exports -------------------------------------------------------------------------------------


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def test_exports_keep_the_rows_of_the_dates_asked_for(diary, staff_client, db):
    with at(DAY0 + timedelta(days=46), 10):
        coordinator = staff_client("coordinator", ("SITE-A",))
        query = "site=SITE-A&from=2026-03-03&to=2026-03-09"
        entries = table(coordinator.get(f"staff/exports/entries.csv?{query}"))
        doses = table(coordinator.get(f"staff/exports/doses.csv?{query}"))
        flags = table(coordinator.get(f"staff/exports/flags.csv?{query}"))
        later = table(coordinator.get("staff/exports/flags.csv?from=2026-04-01"))
        adherence = table(coordinator.get(f"staff/exports/adherence.csv?{query}"))
        package = coordinator.get(f"staff/exports/sdtm.zip?{query}")
        disposition = coordinator.get(f"staff/exports/entries.csv?{query}").headers[
            "Content-Disposition"
        ]
    assert [e["date"] for e in entries] == [str(date(2026, 3, d)) for d in range(3, 10)]
    assert [(d["date"], d["drug"]) for d in doses] == [("2026-03-04", "oxycodone")]
    kinds = {f["kind"]: (f["first_date"], f["last_date"]) for f in flags}
    assert kinds["opioid_threshold"] == ("2026-03-04", "2026-03-04")
    assert "missed_entries" not in kinds  # days 10-14 lie after the period
    assert all(f["last_date"] >= "2026-04-01" for f in later)
    (row,) = adherence
    assert row["expected"] == "7" and row["entered"] == "7"
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        qs = list(csv.DictReader(io.StringIO(archive.read("QS.csv").decode("utf-8"))))
        dm = list(csv.DictReader(io.StringIO(archive.read("DM.csv").decode("utf-8"))))
    pain_days = {r["QSDTC"] for r in qs if r["QSCAT"] == "PAIN NRS"}
    assert pain_days == {str(date(2026, 3, d)) for d in range(3, 10)}
    assert [r["SUBJID"] for r in dm] == ["LBP-001"]
    assert "_SITE-A_2026-03-03-to-2026-03-09_" in disposition
    (audited,) = db.execute(
        "SELECT after FROM audit_log WHERE action = 'export.entries.csv' ORDER BY id LIMIT 1"
    ).fetchall()
    assert '"from":"2026-03-03"' in audited[0] and '"to":"2026-03-09"' in audited[0]


def test_an_export_without_dates_holds_the_whole_diary(diary, staff_client):
    with at(DAY0 + timedelta(days=46), 10):
        entries = table(staff_client("coordinator", ("SITE-A",)).get("staff/exports/entries.csv"))
    assert len(entries) == 40


def test_export_dates_backwards_are_refused(staff_client):
    response = staff_client("coordinator", ("SITE-A",)).get(
        "staff/exports/entries.csv?from=2026-03-09&to=2026-03-03"
    )
    assert response.status_code == 422 and "to" in response.get_json()["error"]["fields"]


# --- time zones for staff ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "investigator", "admin"])
def test_staff_read_the_canonical_time_zones_by_country_and_city(staff_client, role):
    client = staff_client(role, () if role == "admin" else ("SITE-A",))
    body = ok(client.get("staff/timezones?device=Asia/Calcutta"))
    zones = {z["zone"]: (c["name"], z["city"]) for c in body["countries"] for z in c["zones"]}
    assert zones["America/Chicago"] == ("United States", "Chicago")
    assert "US/Central" not in zones and "Asia/Calcutta" not in zones
    assert body["device"] == "Asia/Kolkata"


def test_the_staff_time_zones_are_not_for_participants_or_strangers(participant_client, api):
    phone = participant_client("LBP-001")
    assert phone.get("staff/timezones").status_code == 403
    assert api.get("staff/timezones").status_code == 401
