"""Expected diary dates start when the participant could first enter one: the later of
the first injection and the day they were enrolled (SPEC §6). Nothing is missed, no
flag raised and no adherence counted for days before they existed in the study."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from diary import clock
from diary.jobs import close_days

CHICAGO = ZoneInfo("America/Chicago")


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def close(app, db):
    return close_days.run(
        db, now=clock.now(), study=app.extensions["diary.study"], config=app.config
    )


def test_days_before_enrollment_are_never_missed_flagged_or_counted(
    app, db, participant_client, staff_client
):
    # Injected on 5 March, enrolled (and activated) on 10 March.
    with at(2026, 3, 10, 9, 0):
        participant_client("LBP-001", injection_date=date(2026, 3, 5))
    with at(2026, 3, 10, 12, 30):  # 9 March's window has closed: none of it is due
        close(app, db)
        assert db.execute("SELECT count(*) FROM missed_dates").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM flags").fetchone()[0] == 0
    with at(2026, 3, 13, 12, 30):  # 10, 11 and 12 March closed without an entry
        close(app, db)
        missed = [r[0] for r in db.execute("SELECT date FROM missed_dates ORDER BY date")]
        assert missed == ["2026-03-10", "2026-03-11", "2026-03-12"]
        (flag,) = db.execute("SELECT kind, first_date FROM flags").fetchall()
        assert flag == ("missed_entries", "2026-03-10")
        (row,) = staff_client("coordinator").get("staff/adherence").get_json()["participants"]
        assert (row["expected"], row["entered"]) == (3, 0)
