"""`flask diary audit verify` in one place (SPEC §9): the keyed chain, the anchors kept
outside the database, every audited row against its last audit row, and every
electronic signature. Each finding is one line; none means the database holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from ..audit import anchors, verify
from . import integrity


@dataclass
class Verdict:
    ok: bool
    lines: list[str] = field(default_factory=list)  # what holds, then what does not
    problems: list[str] = field(default_factory=list)
    # With `restored`: anchors the database is shorter than (rows lost since its copy).
    lost: list[str] = field(default_factory=list)


def run(db: Database, anchor_file: str | Path | None, *, restored: bool = False) -> Verdict:
    """`restored`: the database is a copy (a backup, a replica) that may legitimately
    end before the newest anchors; those are listed as `lost`, not as problems."""
    from ..signoff import signatures

    verdict = Verdict(ok=True)
    chain = verify(db)
    if chain.ok:
        verdict.lines.append(f"{chain.rows} audit rows, chain keyed and intact")
    else:
        verdict.problems.append(f"at audit row {chain.broken_id}: {chain.problem}")

    if anchor_file is None or not Path(anchor_file).exists():
        verdict.lines.append(
            f"no anchors at {anchor_file}: rows removed from the chain's end cannot be found"
        )
    else:
        kept, unreadable = anchors.read(anchor_file)
        verdict.problems.extend(unreadable)
        found = anchors.check(db, kept)
        for kind, text in found:
            (verdict.lost if restored and kind == anchors.SHORTER else verdict.problems).append(
                text
            )
        if kept and not found:
            newest = kept[-1]
            verdict.lines.append(
                f"{len(kept)} anchors hold (newest {newest['at']}, row {newest['rows']})"
            )

    report = integrity.check(db)
    verdict.problems.extend(report.problems)
    if not report.problems:
        verdict.lines.append(
            ", ".join(f"{n} {name}" for name, n in report.checked.items())
            + " match their audit rows"
        )

    derived = integrity.derived(db)
    if derived is None:
        verdict.lines.append(
            "participants' current time zone and first injection date are not kept on their"
            " rows in this file (from before migration 0018)"
        )
    elif derived[1]:
        verdict.problems.extend(derived[1])
    else:
        verdict.lines.append(
            f"{derived[0]} participants' current time zone and first injection date"
            " match their histories"
        )

    broken = signatures.problems(db)
    verdict.problems.extend(broken)
    if not broken:
        (count,) = db.execute("SELECT count(*) FROM signatures").fetchone()
        verdict.lines.append(f"{count} signatures hold")
    verdict.ok = not verdict.problems
    return verdict
