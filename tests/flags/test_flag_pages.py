"""The flag list comes a page at a time, in the inbox's order, with how many there are
(a study's resolved flags grow for two years; its unresolved come first)."""

from __future__ import annotations

from datetime import date

import pytest

from diary import audit, clock
from diary.db import transaction
from diary.flags import episodes as flag_episodes
from diary.flags.rules import Finding
from diary.participants import queries as participant_queries


@pytest.fixture
def many_flags(app, db, enroll):
    """n flags, one per participant LBP-100…, high pain flares, opened in that order."""

    def make(n, site="SITE-A"):
        ids = []
        for i in range(n):
            study_id = f"LBP-{100 + i}"
            enroll(study_id, site=site, injection_date=date(2025, 10, 1))
            participant = participant_queries.get_by_study_id(db, study_id)
            finding = Finding(
                "pain_flare",
                "high",
                date(2025, 10, 5),
                date(2025, 10, 6),
                {"max_back_pain": 9, "baseline_back_pain": 4, "days": 2},
            )
            with transaction(db):
                flag_id, _ = flag_episodes.upsert(
                    db,
                    app.extensions["diary.study"].thresholds,
                    participant=participant,
                    finding=finding,
                    episode_key=f"flare-{i}",
                    actor=audit.system("test"),
                    now=clock.now(),
                )
            ids.append(flag_id)
        return ids

    return make


def test_flags_page_in_the_inbox_order_with_their_total(many_flags, staff_client):
    ids = many_flags(7)
    coordinator = staff_client("coordinator")
    first = coordinator.get("staff/flags?limit=3").get_json()
    assert (first["total"], first["offset"], first["limit"]) == (7, 0, 3)
    pages = [first["flags"]]
    for offset in (3, 6):
        pages.append(coordinator.get(f"staff/flags?limit=3&offset={offset}").get_json()["flags"])
    assert [f["id"] for page in pages for f in page] == ids  # oldest first, none twice
    assert coordinator.get("staff/flags?limit=501").status_code == 422
    assert coordinator.get("staff/flags?offset=-1").status_code == 422
    # Another site's coordinator counts none of them.
    other = staff_client("coordinator", ("SITE-B",)).get("staff/flags").get_json()
    assert (other["total"], other["flags"]) == (0, [])
