"""One rule for `from`/`to` in every query string: `to` never before `from`."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "who, path",
    [
        ("participant", "entries?from=2026-03-05&to=2026-03-04"),
        ("staff", "staff/participants/LBP-001/entries?from=2026-03-05&to=2026-03-04"),
        ("staff", "staff/adherence?from=2026-03-05&to=2026-03-04"),
    ],
)
def test_a_range_ending_before_it_starts_is_422_naming_to(
    participant_client, staff_client, who, path
):
    phone = participant_client("LBP-001")
    client = phone if who == "participant" else staff_client("coordinator", ("SITE-A",))
    response = client.get(path)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["to"] == ["must not be before 'from'"]


def test_a_participants_range_is_at_most_366_days(participant_client):
    phone = participant_client("LBP-001")
    response = phone.get("entries?from=2025-01-01&to=2026-01-03")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["to"] == ["at most 366 days per request"]
    assert phone.get("entries?from=2025-01-01&to=2026-01-02").status_code == 200
