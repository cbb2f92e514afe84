"""The CSV exports (SPEC §10): one row per record, a header row, ISO dates.

Values are written as the API returns them: empty for null, `true`/`false` for
booleans, lists joined with `;`, structured detail as compact JSON.

Two times of an entry are kept apart: `late` says it was made (by the device's
clock) after its local day ended; `synced_late` says the participant's latest
write of it reached the server after the entry window closed (made offline in
time, sent later). adherence.csv splits `entered` the same way into
`entered_on_time` and `entered_synced_late`.

Text a spreadsheet would run as a formula (a cell starting with = + - @ or a tab,
CR or LF) gets a leading apostrophe, and so does text that starts with one: to read
a cell back exactly, drop its first character when it is an apostrophe.

Free text: entries.csv carries the participant's note, because the
statisticians need it; it is site-scoped and audited like every export and is
never logged. flags.csv carries no free text: its detail holds only what the
rules computed, and the resolution note stays out (for an adverse event the
same note is the AE narrative, in adverse_events.csv).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import adherence
from ..mme import Dose, daily_mme
from ..study import Study
from . import queries


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[Sequence[Any]]


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV
# injection). Such a text cell is written with a leading apostrophe; so is a cell
# that starts with an apostrophe already, so that the rule reverses exactly: a cell
# that starts with ' had one added — drop the first character to read the value.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"


def neutralise(text: str) -> str:
    return QUOTE + text if text.startswith((*FORMULA_START, QUOTE)) else text


def cell(value: Any) -> Any:
    """One value as CSV text (csv writes numbers with str(): 45.0 stays 45.0); text
    that a spreadsheet would run is neutralised (see FORMULA_START)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return neutralise(";".join(str(v) for v in value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows([cell(v) for v in row] for row in table.rows)
    return buffer.getvalue()


def study_day(first_injection: str | None, day: str) -> int | None:
    """Days since the first injection, day 0 being the injection date (as the API counts)."""
    if not first_injection:
        return None
    return (date.fromisoformat(day) - date.fromisoformat(first_injection)).days


def _table(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> Table:
    columns = tuple(columns)
    return Table(columns, [[row[c] for c in columns] for row in rows])


ENTRY_COLUMNS = (
    "study_id",
    "site",
    "date",
    "study_day",
    "timezone",
    "back_pain",
    "leg_pain",
    "mme",
    "mme_incomplete",
    "mme_unconverted",
    "dose_count",
    "symptoms",
    "temperature_c",
    "note",
    "late",
    "synced_late",
    "version",
    "entered_by",
    "device_time",
    "received_at",
    "updated_at",
    "locked_at",
)


def entries(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_
) -> Table:
    rows = []
    for e in queries.entries(db, site_ids, site_code, period):
        unconverted = json.loads(e["mme_unconverted"])
        rows.append(
            {
                **e,
                "study_day": study_day(e["first_injection"], e["date"]),
                "mme_incomplete": bool(unconverted),
                "mme_unconverted": unconverted,
                "symptoms": json.loads(e["symptoms"]),
                "late": bool(e["late"]),
                "synced_late": bool(e["synced_late"]),
            }
        )
    return _table(ENTRY_COLUMNS, rows)


DOSE_COLUMNS = (
    "study_id",
    "site",
    "date",
    "study_day",
    "dose_number",
    "drug",
    "drug_label",
    "strength",
    "unit",
    "units",
    "mme_factor",
    "dose_mme",
    "day_mme",
    "day_mme_incomplete",
)


def doses(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_
) -> Table:
    rows = []
    for d in queries.doses(db, site_ids, site_code, period):
        drug = study.drug(d["drug"])
        factor = study.factors.get(d["drug"])
        dose_mme = (
            daily_mme([Dose(d["drug"], d["strength"], d["units"])], study.factors).mme
            if factor is not None
            else None
        )
        rows.append(
            {
                **d,
                "study_day": study_day(d["first_injection"], d["date"]),
                "dose_number": d["position"] + 1,
                "drug_label": drug.label if drug else d["drug"],
                "unit": drug.unit if drug else "",
                "mme_factor": factor,
                "dose_mme": dose_mme,
                "day_mme_incomplete": bool(json.loads(d["mme_unconverted"])),
            }
        )
    return _table(DOSE_COLUMNS, rows)


FLAG_COLUMNS = (
    "flag_id",
    "study_id",
    "site",
    "kind",
    "severity",
    "status",
    "first_date",
    "last_date",
    "opened_at",
    "updated_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "outcome",
    "adverse_event_id",
    "detail",
)
# Rules put only computed values in detail; a key for free text is kept out all the same.
_FREE_TEXT = frozenset({"note", "resolution_note", "comment"})


def flags(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_
) -> Table:
    rows = [
        {
            **f,
            "flag_id": f["id"],
            "detail": {k: v for k, v in json.loads(f["detail"]).items() if k not in _FREE_TEXT},
        }
        for f in queries.flags(db, site_ids, site_code, period)
    ]
    return _table(FLAG_COLUMNS, rows)


AE_COLUMNS = (
    "adverse_event_id",
    "study_id",
    "site",
    "source",
    "flag_id",
    "term",
    "onset_date",
    "study_day",
    "end_date",
    "ctcae_grade",
    "serious",
    "seriousness_criteria",
    "related",
    "expected",
    "action_taken",
    "ae_outcome",
    "note",
    "version",
    "recorded_by",
    "recorded_at",
    "updated_at",
    "signature_status",
    "signed_by",
    "signed_by_email",
    "signed_at",
    "signature_meaning",
    "sae_clock_started_at",
    "sae_clock_due_at",
    "sponsor_reported_at",
    "sponsor_reference",
    "locked_at",
)


def signature_status(row: dict[str, Any]) -> str:
    """unsigned | signed (a valid signature) | invalidated (signed once, changed since)."""
    if row["signed_at"]:
        return "signed"
    return "invalidated" if row["ever_signed"] else "unsigned"


def adverse_events(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_
) -> Table:
    rows = [
        {
            **a,
            "adverse_event_id": a["id"],
            "study_day": study_day(a["first_injection"], a["onset_date"]),
            "serious": bool(a["serious"]),
            "seriousness_criteria": json.loads(a["seriousness_criteria"]),
            "signature_status": signature_status(a),
        }
        for a in queries.adverse_events(db, site_ids, site_code, period)
    ]
    return _table(AE_COLUMNS, rows)


ADHERENCE_COLUMNS = (
    "study_id",
    "site",
    "status",
    "first_injection",
    "closed_through",
    "expected",
    "entered",
    "entered_on_time",
    "entered_synced_late",
    "missed",
    "rate",
    "last_7_expected",
    "last_7_entered",
    "last_7_entered_on_time",
    "last_7_entered_synced_late",
    "last_7_rate",
    "last_entry_date",
    "questionnaires_expected",
    "questionnaires_answered",
    "questionnaires_synced_late",
    "questionnaires_rate",
)


def adherence_table(
    db: Database, study: Study, site_ids, site_code: str | None, *, now: datetime, period=None, **_
) -> Table:
    """Expected and entered dates per participant; in a period, the overall counts are
    those of its dates (the last-7 columns stay the latest seven closed dates)."""
    report = adherence.report(
        db,
        study,
        site_ids,
        now=now,
        site_code=site_code,
        start=period.first if period else None,
        end=period.last if period else None,
    )
    rows = [
        {
            **r,
            "missed": r["expected"] - r["entered"],
            "last_7_expected": r["last_7"]["expected"],
            "last_7_entered": r["last_7"]["entered"],
            "last_7_entered_on_time": r["last_7"]["entered_on_time"],
            "last_7_entered_synced_late": r["last_7"]["entered_synced_late"],
            "questionnaires_expected": r["questionnaires"]["expected"],
            "questionnaires_answered": r["questionnaires"]["entered"],
            "questionnaires_synced_late": r["questionnaires"]["entered_synced_late"],
            "questionnaires_rate": r["questionnaires"]["rate"],
            "last_7_rate": r["last_7"]["rate"],
        }
        for r in report["participants"]
    ]
    return _table(ADHERENCE_COLUMNS, rows)


SIGNATURE_COLUMNS = (
    "signature_id",
    "study_id",
    "site",
    "record_type",
    "record_id",
    "up_to",
    "meaning",
    "signer_name",
    "signer_email",
    "signed_at",
    "record_hash",
    "status",
    "invalidated_at",
    "invalidated_by_action",
    "invalidated_by_audit_id",
)


def signatures_table(
    db: Database, study: Study, site_ids, site_code: str | None, *, period=None, **_
) -> Table:
    """The investigators' electronic signatures as printed (21 CFR 11.50): who, when,
    what it means, the hash of the record version signed, and whether it still holds."""
    rows = [
        {
            **g,
            "signature_id": g["id"],
            # A casebook is named by its study ID; the other records by their number.
            "record_id": g["study_id"] if g["record_type"] == "participant" else g["record_id"],
        }
        for g in queries.signatures(db, site_ids, site_code, period)
    ]
    return _table(SIGNATURE_COLUMNS, rows)


CSV_EXPORTS = {
    "entries.csv": entries,
    "doses.csv": doses,
    "flags.csv": flags,
    "adverse_events.csv": adverse_events,
    "adherence.csv": adherence_table,
    "signatures.csv": signatures_table,
}
