"""Direct edits of the audited tables (SPEC §9): every current row of the diary data
must be what its last audit row says it became.

The application writes an entry, a questionnaire response or an adverse event in the
same transaction as the audit row that records its new values; someone who edits the
table with the file (the sqlite3 shell, a script) writes no audit row. `check` reads
every current row the way the application does, compares it with its last audit row,
and names each one that differs, has no audit row, or is gone although its audit
rows say it exists: entries (with doses), questionnaire responses, adverse events and
attempts to reach a participant. Signatures are checked by signoff.signatures.problems.
`derived` compares what a participant's row keeps from their histories (current time
zone, first injection date) with the histories themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlite_utils import Database

from ..audit import _canonical

_EVER = (date(1900, 1, 1), date(2999, 12, 31))


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)  # table → rows compared
    problems: list[str] = field(default_factory=list)


def check(db: Database) -> Report:
    report = Report()
    for name, recorded, current in (
        ("entries", _recorded_entries, _current_entries),
        ("questionnaire responses", _recorded_responses, _current_responses),
        ("adverse events", _recorded_adverse_events, _current_adverse_events),
        ("contact attempts", _recorded_contacts, _current_contacts),
    ):
        _compare(name, recorded(db), current(db), report)
    return report


def derived(db: Database) -> tuple[int, list[str]] | None:
    """The participants whose current time zone or first injection date, kept on their
    row (migration 0018's triggers), differs from their history: (participants
    compared, problems); None for a file from before that migration (a copy restored
    from before the upgrade keeps no such column)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(participants)")}
    if not {"current_timezone", "first_injection_date"} <= columns:
        return None
    count, problems = 0, []
    for study_id, zone_differs, first_differs in db.execute(
        "SELECT p.study_id,"
        " p.current_timezone IS NOT (SELECT t.timezone FROM participant_timezones t"
        "  WHERE t.participant_id = p.id ORDER BY t.effective_from DESC, t.id DESC LIMIT 1),"
        " p.first_injection_date IS NOT (SELECT min(i.date) FROM injections i"
        "  WHERE i.participant_id = p.id)"
        " FROM participants p ORDER BY p.id"
    ):
        count += 1
        for differs, what in ((zone_differs, "time zone"), (first_differs, "first injection date")):
            if differs:
                problems.append(
                    f"participant {study_id}: the {what} kept on their row differs from "
                    "their history: changed outside the application"
                )
    return count, problems


def _compare(
    name: str,
    recorded: dict[str, tuple[int, dict[str, Any]]],
    current: Iterator[tuple[str, dict[str, Any]]],
    report: Report,
) -> None:
    """`recorded`: object id → (last audit row id, the state it recorded); `current`:
    (object id, state read now). Only the fields the audit rows record are compared."""
    count = 0
    seen = set()
    singular = name[:-3] + "y" if name.endswith("ies") else name[:-1]
    for object_id, state in current:
        count += 1
        seen.add(object_id)
        if object_id not in recorded:
            report.problems.append(
                f"{singular} {object_id} has no audit row: written outside the application"
            )
            continue
        audit_id, expected = recorded[object_id]
        differs = sorted(k for k in expected if _canonical(state.get(k)) != _canonical(expected[k]))
        if differs:
            report.problems.append(
                f"{singular} {object_id} differs from its last audit row {audit_id} "
                f"({', '.join(differs)}): changed outside the application"
            )
    for object_id in sorted(set(recorded) - seen):
        report.problems.append(
            f"{singular} {object_id} is recorded in audit row {recorded[object_id][0]} "
            "but missing: deleted outside the application"
        )
    report.checked[name] = count


def _last_rows(db: Database, object_type: str, actions: tuple[str, ...]) -> Iterator[tuple]:
    marks = ", ".join("?" for _ in actions)
    return db.execute(
        f"SELECT id, object_id, after FROM audit_log WHERE object_type = ? AND action IN ({marks})"  # noqa: S608
        " ORDER BY id",
        [object_type, *actions],
    )


# --- entries: the audit row's `after` is the whole entry as the API sees it ----------


def _recorded_entries(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    return {
        object_id: (audit_id, json.loads(after))
        for audit_id, object_id, after in _last_rows(db, "entry", ("entry.create", "entry.correct"))
    }


def _current_entries(db: Database) -> Iterator[tuple[str, dict[str, Any]]]:
    from ..entries import queries
    from ..entries.service import audited_entry

    for pid, study_id in db.execute("SELECT id, study_id FROM participants ORDER BY id"):
        for entry in queries.entries_between(db, pid, *_EVER):
            yield f"{study_id}/{entry['date']}", audited_entry(entry)


# --- questionnaire responses: answers, scores and version ----------------------------


def _recorded_responses(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    found = {}
    for audit_id, object_id, after in _last_rows(
        db,
        "questionnaire",
        ("questionnaire.respond", "questionnaire.correct", "questionnaire.clarify"),
    ):
        if after is not None:
            found[object_id] = (audit_id, json.loads(after))
    return found


def _current_responses(db: Database) -> Iterator[tuple[str, dict[str, Any]]]:
    for occurrence_id, answers, scores, version in db.execute(
        "SELECT occurrence_id, answers, scores, version FROM questionnaire_responses ORDER BY id"
    ):
        yield (
            str(occurrence_id),
            {"answers": json.loads(answers), "scores": json.loads(scores), "version": version},
        )


# --- adverse events: recorded whole (on their own or in a flag's resolution), then
# corrected field by field -----------------------------------------------------------


def _recorded_adverse_events(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for audit_id, action, object_id, after in db.execute(
        "SELECT id, action, object_id, after FROM audit_log WHERE"
        " (object_type = 'adverse_event' AND action IN"
        "   ('adverse_event.record', 'adverse_event.correct'))"
        " OR (object_type = 'flag' AND action = 'flag.resolve'"
        "   AND after LIKE '%\"adverse_event\":{%') ORDER BY id"
    ):
        values = json.loads(after)
        if action == "flag.resolve":
            values = values["adverse_event"]
            object_id = str(values["id"])
        state = dict(found[object_id][1]) if object_id in found else {}
        state.update(values)
        found[object_id] = (audit_id, state)
    return found


def _current_adverse_events(db: Database) -> Iterator[tuple[str, dict[str, Any]]]:
    from ..flags.adverse_events import audited_event

    for row in db.query("SELECT * FROM adverse_events ORDER BY id"):
        yield str(row["id"]), audited_event(row)


# --- attempts to reach a participant: written once, never changed -------------------


def _recorded_contacts(db: Database) -> dict[str, tuple[int, dict[str, Any]]]:
    return {
        object_id: (audit_id, json.loads(after))
        for audit_id, object_id, after in _last_rows(
            db, "contact_attempt", ("contact_attempt.record",)
        )
    }


def _current_contacts(db: Database) -> Iterator[tuple[str, dict[str, Any]]]:
    for row in db.query(
        "SELECT id, flag_id, attempted_at, method, outcome, note FROM contact_attempts ORDER BY id"
    ):
        yield str(row.pop("id")), row
