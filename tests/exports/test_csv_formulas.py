"""CSV cells a spreadsheet would run as a formula are neutralised in every export
(OWASP CSV injection): a leading ' is added, and removing it gives the value back."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry

from diary.exports import tables

CHICAGO = ZoneInfo("America/Chicago")
HOSTILE = [
    '=HYPERLINK("http://evil.test","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "'=already quoted",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def readable(value: str) -> str:
    """The data dictionary's rule for reading a cell back."""
    return value[1:] if value.startswith("'") else value


@pytest.mark.parametrize("value", [*HOSTILE, "plain", "", "it's fine", "5-10"])
def test_the_one_writer_neutralises_and_the_documented_rule_reverses(value):
    text = tables.to_csv(tables.Table(("v",), [[value]]))
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert not row["v"].startswith(FORMULA_START)
    assert readable(row["v"]) == value


def test_numbers_stay_numbers():
    text = tables.to_csv(tables.Table(("n", "x"), [[-3, -2.5]]))
    assert text.splitlines()[1] == "-3,-2.5"


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_every_export_neutralises_hostile_notes_and_terms(participant_client, staff_client, db):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    for n, value in enumerate(HOSTILE[:5]):
        with at(2026, 3, 1 + n, 20, 0):
            assert phone.put(f"entries/2026-03-0{1 + n}", entry(note=value)).status_code == 201
    with at(2026, 3, 6, 10, 0):
        investigator = staff_client("investigator", ("SITE-A",))
        for value in HOSTILE[:4]:
            made = investigator.post(
                "staff/participants/LBP-001/adverse-events",
                {
                    "source": "interview",
                    "term": value,
                    "onset_date": "2026-03-02",
                    "ctcae_grade": 1,
                    "serious": False,
                    "related": "probable",
                    "note": value,
                },
            )
            assert made.status_code == 201, made.get_json()
        files = {}
        for name in ("entries.csv", "adverse_events.csv"):
            response = investigator.get(f"staff/exports/{name}")
            assert response.status_code == 200
            files[name] = csv_rows(response.data)
        archive = zipfile.ZipFile(io.BytesIO(investigator.get("staff/exports/sdtm.zip").data))
        for member in archive.namelist():
            if member.endswith(".csv"):
                files[member] = csv_rows(archive.read(member))
    for name, rows in files.items():
        for row in rows:
            for column, value in row.items():
                assert not value.startswith(FORMULA_START), (name, column, value)
    notes = [readable(r["note"]) for r in files["entries.csv"]]
    assert sorted(notes) == sorted(HOSTILE[:5])
    terms = [readable(r["term"]) for r in files["adverse_events.csv"]]
    assert sorted(terms) == sorted(HOSTILE[:4])
    assert sorted(readable(r["AETERM"]) for r in files["AE.csv"]) == sorted(HOSTILE[:4])
