"""Build one export for the caller's sites and record it in the audit trail and the
access log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..audit import access_log, access_queries
from ..auth import queries as auth_queries
from ..db import transaction
from ..errors import not_found
from ..questionnaires import catalog
from ..study import Study
from . import queries as export_queries
from . import questionnaires, sdtm, tables

CSV_EXPORTS = {
    **tables.CSV_EXPORTS,
    "questionnaires.csv": questionnaires.responses_table,
    "questionnaire_items.csv": questionnaires.items_table,
}
NAMES = (*CSV_EXPORTS, "questionnaire_responses.json", "sdtm.zip")


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    body: bytes
    rows: dict[str, int]


def filename(
    study: Study,
    name: str,
    site_code: str | None,
    now: datetime,
    period: export_queries.Period | None = None,
) -> str:
    """e.g. BMMSC-LBP_entries_SITE-A_2026-03-02.csv (date in the study's zone), with the
    period's dates when there is one: ..._SITE-A_2026-01-01-to-2026-01-31_2026-03-02.csv."""
    stem, ext = name.rsplit(".", 1)
    today = clock.local_date(now, study.timezone).isoformat()
    dates = f"_{period.first}-to-{period.last}" if period else ""
    return f"{study.id}_{stem}_{site_code or 'all-sites'}{dates}_{today}.{ext}"


def _build(db: Database, study: Study, name: str, site_ids, site_code, now, period) -> Export:
    instruments = catalog.current()
    if name == "questionnaire_responses.json":
        bundle = questionnaires.bundle(
            db, study, site_ids, site_code, instruments=instruments, period=period
        )
        return Export(
            filename(study, name, site_code, now, period),
            "application/fhir+json",
            (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
            {"questionnaire_responses": len(bundle["entry"])},
        )
    if name == "sdtm.zip":
        datasets = sdtm.tables(db, study, site_ids, site_code, instruments, period)
        return Export(
            filename(study, name, site_code, now, period),
            "application/zip",
            sdtm.package(
                study,
                datasets,
                now=now,
                data_state={
                    "exported_at": clock.iso(now),
                    **export_queries.data_state(db, site_ids, site_code),
                },
            ),
            {k: len(t.rows) for k, t in datasets.items()},
        )
    table = CSV_EXPORTS[name](
        db, study, site_ids, site_code, now=now, instruments=instruments, period=period
    )
    return Export(
        filename(study, name, site_code, now, period),
        "text/csv; charset=utf-8",
        tables.to_csv(table).encode("utf-8"),
        {name.rsplit(".", 1)[0]: len(table.rows)},
    )


def export(
    db: Database,
    study: Study,
    name: str,
    *,
    site_ids: Iterable[int] | None,
    site_code: str | None,
    actor: audit.Actor,
    staff_id: int | None,
    client: str | None,
    now: datetime,
    period: export_queries.Period | None = None,
) -> Export:
    """Read the export from one snapshot, then audit it (who, which sites and dates, how
    many rows) and log the read (who, from where, which export; its site when it holds
    one site's). With a `period`, only the records dated in it (queries.Period)."""
    if name not in NAMES:
        raise not_found(f"No export {name}; there are {', '.join(NAMES)}.")
    scope = None if site_ids is None else frozenset(site_ids)
    # A read transaction: every table of the package comes from the same snapshot,
    # without holding the write lock while it is built.
    with transaction(db, immediate=False):
        result = _build(db, study, name, scope, site_code, now, period)
        site = auth_queries.site_by_code(db, site_code) if site_code else None
    in_scope = site is not None and (scope is None or site["id"] in scope)
    if in_scope:
        read_site = site["id"]
    elif site_code is None and scope is not None and len(scope) == 1:
        read_site = next(iter(scope))  # a single-site account's file is that site's
    else:
        read_site = None
    after: dict[str, Any] = {
        "site": site_code,
        "scope": "all" if scope is None else sorted(scope),
        **({"from": period.first.isoformat(), "to": period.last.isoformat()} if period else {}),
        "rows": result.rows,
        "filename": result.filename,
    }
    with transaction(db):
        audit.record(
            db,
            actor=actor,
            action=f"export.{name}",
            object_type="export",
            object_id=name,
            site_id=site["id"] if in_scope else None,
            after=after,
            at=now,
        )
        access_log.record(
            db,
            event="export_read",
            now=now,
            client=client,
            staff_id=staff_id,
            site_id=read_site,
            object=name,
        )
    return result


ACCESS_LOG_COLUMNS = (
    "id",
    "at",
    "event",
    "staff_id",
    "staff_email",
    "staff_name",
    "account",
    "client",
    "participant",
    "site",
    "object",
)


def access_log_file(
    db: Database,
    study: Study,
    *,
    site_ids: Iterable[int] | None,
    query: dict[str, Any],
    now: datetime,
) -> Export:
    """The access log's rows for `query` (audit.schemas.AccessQuerySchema) as a CSV file."""
    query = dict(query)
    wanted = query.pop("limit", None)
    rows: list[dict[str, Any]] = []
    while wanted is None or len(rows) < wanted:  # pages of the newest first, to the end
        page = min(1000, wanted - len(rows)) if wanted else 1000
        batch = access_queries.browse(
            db, site_ids=site_ids, timezone=study.timezone, **query, limit=page
        )
        rows.extend(batch)
        if len(batch) < page:
            break
        query["before_id"] = batch[-1]["id"]
    table = tables.Table(ACCESS_LOG_COLUMNS, [[r[c] for c in ACCESS_LOG_COLUMNS] for r in rows])
    return Export(
        filename(study, "access_log.csv", None, now),
        "text/csv; charset=utf-8",
        tables.to_csv(table).encode("utf-8"),
        {"access_log": len(rows)},
    )
