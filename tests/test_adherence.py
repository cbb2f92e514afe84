"""Adherence: expected versus entered diary dates, closed dates only (SPEC §6, §11)."""

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from diary import adherence

CHICAGO = ZoneInfo("America/Chicago")


def at(*args, tz=CHICAGO):
    return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)


def entry(**overrides):
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "device_time": datetime.now(CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def phone(participant_client):
    """LBP-001 in Chicago, day 0 = 2026-03-01, an entry on 1 March only."""
    with at(2026, 3, 1, 9, 0):
        client = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    with at(2026, 3, 1, 20, 0):
        assert client.put("entries/2026-03-01", entry()).status_code == 201
    return client


def core(counts: dict) -> dict:
    """The original counts of a row (the on-time / synced-late split comes beside them)."""
    return {k: counts[k] for k in ("site", "expected", "entered", "rate") if k in counts}


def report(staff_client, query=""):
    response = staff_client("coordinator", ("SITE-A",)).get(f"staff/adherence{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_date_counts_only_once_its_window_has_closed_in_the_participants_zone(
    phone, staff_client
):
    # 2 March has no entry. Its window closes at 12:00 Chicago time on 3 March.
    with at(2026, 3, 3, 11, 59, 59):
        (before,) = report(staff_client)["participants"]
    with at(2026, 3, 3, 12, 0, 0):
        (after,) = report(staff_client)["participants"]
    assert (before["expected"], before["entered"], before["rate"]) == (1, 1, 1.0)
    assert (after["expected"], after["entered"], after["rate"]) == (2, 1, 0.5)
    assert after["closed_through"] == "2026-03-02"


def test_an_entry_for_a_date_still_open_is_not_counted_yet(phone, staff_client):
    with at(2026, 3, 2, 20, 0):
        phone.put("entries/2026-03-02", entry())
        (row,) = report(staff_client)["participants"]
    assert (row["expected"], row["entered"]) == (1, 1)
    assert row["last_entry_date"] == "2026-03-02"  # the latest entry, closed or not


@pytest.mark.parametrize(
    "utc_instant, expected",
    [
        # CDT (UTC-5) after 8 March: 12:00 local is 17:00 UTC.
        (datetime(2026, 3, 11, 16, 59, tzinfo=UTC), 9),
        (datetime(2026, 3, 11, 17, 0, tzinfo=UTC), 10),
        # CST (UTC-6) before: 12:00 local is 18:00 UTC.
        (datetime(2026, 3, 6, 17, 59, tzinfo=UTC), 4),
        (datetime(2026, 3, 6, 18, 0, tzinfo=UTC), 5),
    ],
)
def test_windows_close_at_local_noon_on_both_sides_of_the_dst_change(
    phone, staff_client, utc_instant, expected
):
    with time_machine.travel(utc_instant, tick=False):
        (row,) = report(staff_client)["participants"]
    assert row["expected"] == expected


def test_nothing_expected_yet_is_null_not_zero(participant_client, staff_client):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=date(2026, 3, 1))
        body = report(staff_client)
        listed = staff_client("coordinator", ("SITE-A",)).get("staff/participants").get_json()
    (row,) = body["participants"]
    assert (row["expected"], row["entered"], row["rate"]) == (0, 0, None)
    assert core(row["last_7"]) == {"expected": 0, "entered": 0, "rate": None}
    assert [core(s) for s in body["sites"]] == [
        {"site": "SITE-A", "expected": 0, "entered": 0, "rate": None}
    ]
    (p,) = listed["participants"]
    assert p["adherence_7d"] is None and p["adherence_overall"] is None and p["study_day"] == 0


def test_last_7_covers_the_latest_seven_closed_dates(phone, staff_client):
    for day in (7, 8):
        with at(2026, 3, day, 20, 0):
            assert phone.put(f"entries/2026-03-0{day}", entry()).status_code == 201
    with at(2026, 3, 12, 13, 0):  # closed through 11 March: 11 expected dates
        (row,) = report(staff_client)["participants"]
    assert (row["expected"], row["entered"]) == (11, 3)
    assert core(row["last_7"]) == {"expected": 7, "entered": 2, "rate": round(2 / 7, 4)}


def test_from_and_to_narrow_the_overall_count(phone, staff_client):
    with at(2026, 3, 12, 13, 0):
        (row,) = report(staff_client, "?from=2026-03-01&to=2026-03-02")["participants"]
        (late,) = report(staff_client, "?from=2026-03-05")["participants"]
        bad = staff_client("coordinator", ("SITE-A",)).get(
            "staff/adherence?from=2026-03-05&to=2026-03-01"
        )
    assert (row["expected"], row["entered"]) == (2, 1)
    assert (late["expected"], late["entered"]) == (7, 0)
    assert bad.status_code == 422


def test_site_totals_add_up_their_participants(phone, participant_client, staff_client):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-002", injection_date=date(2026, 3, 1))
    with at(2026, 3, 5, 13, 0):
        body = report(staff_client)
    assert [p["study_id"] for p in body["participants"]] == ["LBP-001", "LBP-002"]
    assert [core(s) for s in body["sites"]] == [
        {"site": "SITE-A", "expected": 8, "entered": 1, "rate": 0.125}
    ]


def test_a_withdrawn_participant_is_expected_only_until_withdrawal(phone, staff_client):
    with at(2026, 3, 4, 13, 0):  # closed through 3 March
        staff_client("coordinator", ("SITE-A",)).patch(
            "staff/participants/LBP-001", {"status": "withdrawn", "reason": "moved away"}
        )
    with at(2026, 4, 1, 13, 0):
        (row,) = report(staff_client)["participants"]
    assert (row["status"], row["expected"], row["entered"]) == ("withdrawn", 3, 1)


def test_expected_dates_end_with_the_diary(participant_client, staff_client, app):
    length = app.extensions["diary.study"].length_days
    with at(2024, 1, 1, 9, 0):
        participant_client("LBP-001", injection_date=date(2024, 1, 1))
    with at(2026, 11, 1, 13, 0):
        (row,) = report(staff_client)["participants"]
    assert row["expected"] == length + 1  # day 0 to day length_days


def test_the_participant_list_shows_study_day_adherence_last_entry_and_open_flags(
    phone, staff_client
):
    with at(2026, 3, 2, 9, 0):
        phone.put("entries/2026-03-02", entry(symptoms=["fever"]))
    with at(2026, 3, 10, 13, 0):
        coordinator = staff_client("coordinator", ("SITE-A",))
        (p,) = coordinator.get("staff/participants").get_json()["participants"]
        (a,) = coordinator.get("staff/adherence").get_json()["participants"]
    assert p["study_day"] == 9
    assert p["last_entry_date"] == "2026-03-02"
    assert p["adherence_overall"] == a["rate"] == round(2 / 9, 4)
    assert p["adherence_7d"] == a["last_7"]["rate"] == round(0 / 7, 4)
    assert p["open_flags"] == 1
    assert p["site"] == "SITE-A" and p["baseline_back_pain"] == 4  # existing fields stay


def test_entries_synced_late_are_counted_apart_from_those_on_time(
    app, db, phone, participant_client, staff_client
):
    made = datetime(2026, 3, 2, 21, 0, tzinfo=CHICAGO)
    with at(2026, 3, 3, 15, 0):  # made offline on the 2nd, sent after the window closed
        assert phone.put("entries/2026-03-02", entry(device_time=made.isoformat())).status_code
    with at(2026, 3, 3, 20, 0):
        assert phone.put("entries/2026-03-03", entry()).status_code == 201
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-002", injection_date=date(2026, 3, 1))
    now = datetime(2026, 3, 5, 13, 0, tzinfo=CHICAGO)  # closed through 4 March
    body = adherence.report(db, app.extensions["diary.study"], None, now=now)
    first, second = body["participants"]
    assert (first["expected"], first["entered"]) == (4, 3)
    assert (first["entered_on_time"], first["entered_synced_late"]) == (2, 1)
    assert first["last_7"]["entered_on_time"] == 2 and first["last_7"]["entered_synced_late"] == 1
    assert (second["entered_on_time"], second["entered_synced_late"]) == (0, 0)
    (site,) = body["sites"]
    assert (site["entered"], site["entered_on_time"], site["entered_synced_late"]) == (3, 2, 1)
    assert site["rate"] == round(3 / 8, 4)  # the rate still counts every entered date
    narrowed = adherence.report(
        db, app.extensions["diary.study"], None, now=now, start=date(2026, 3, 3)
    )
    assert narrowed["participants"][0]["entered_synced_late"] == 0


def test_adherence_is_read_in_a_fixed_number_of_statements(app, db, enroll, participant_client):
    """Set-based: the number of SQL statements does not grow with participants or days."""
    study = app.extensions["diary.study"]

    def statements(n_participants: int) -> int:
        with at(2025, 1, 2, 9, 0):  # enrolled the day after their first injection
            for i in range(n_participants):
                enroll(f"LBP-{n_participants:02d}{i:02d}", injection_date=date(2025, 1, 1))
        seen = []
        db.conn.set_trace_callback(seen.append)
        try:
            adherence.report(db, study, None, now=datetime(2026, 3, 1, tzinfo=UTC))
        finally:
            db.conn.set_trace_callback(None)
        return len(seen)

    assert statements(2) == statements(12)
