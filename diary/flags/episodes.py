"""A finding in its episode: where it belongs, whether it changes anything, and
writing it (SPEC §6, §7).

`place` finds the episode a finding continues (an unresolved flag of its kind
that it overlaps) and trims off the dates staff already resolved; `unchanged`
says, without a query, when the listed flag already holds it; `upsert` opens
the episode's flag or merges the finding into it (rules.merge), reopens it when
it gained something after an acknowledgement, audits the change and queues the
urgent notice rules.notice asks for. All inside the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..notify import outbox
from . import queries, rules

ONE_DAY = timedelta(days=1)


def unchanged(finding: rules.Finding, episode_key: str, flags: list[dict[str, Any]]) -> bool:
    """True when the episode's unresolved flag, as listed, already holds the finding and
    nobody needs to hear of it: the common case of a daily run, decided without a query.
    (Merging only widens a flag, so a flag written earlier in this run cannot make a
    finding that matched its listed state change it.)"""
    for f in flags:
        if (
            f["kind"] == finding.kind
            and f["status"] != "resolved"
            and f["episode_key"] == episode_key
        ):
            detail = detail_of(f)
            merged = rules.merge(
                severity=f["severity"],
                first_date=f["first_date"],
                last_date=f["last_date"],
                detail=detail,
                finding=finding,
            )
            decision = rules.notice(
                status=f["status"],
                severity_before=f["severity"],
                merged=merged,
                severity=merged.severity,
            )
            return (
                not decision.notify
                and not decision.reopen
                and (merged.severity, merged.first_date, merged.last_date, merged.detail)
                == (f["severity"], f["first_date"], f["last_date"], detail)
            )
    return False


def detail_of(flag: dict[str, Any]) -> dict[str, Any]:
    """A listed flag's detail, decoded when first needed."""
    if isinstance(flag["detail"], str):
        flag["detail"] = json.loads(flag["detail"])
    return flag["detail"]


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


# What applying a finding reads of a flag (as queries.open_episode decodes it): the
# engine's listed flags carry these, so that a batch finds each episode without a query.
_STATE = (
    "id",
    "kind",
    "episode_key",
    "status",
    "severity",
    "first_date",
    "last_date",
    "detail",
    "acknowledged_at",
    "acknowledged_by",
    "reopened_at",
    "reopen_count",
    "notices",
)


class Writes:
    """The flag and audit writes of one transaction.

    Immediate (the default, for a lone change): each flag and audit row is written at
    once. Batched (the engine over its scopes): a finding's episode is found among the
    flags the engine listed (`know`) instead of by a SELECT each, a new flag takes the
    id SQLite would give it, and flags and audit rows wait, to be written by `flush`
    in a few statements — the same rows, ids and audit chain as writing them one at a
    time (tests/jobs/test_batched_writes.py compares both). `sync` writes what waits
    before anything reads the flags (an urgent notice).

    A part that must be all or nothing (one participant of a run) is framed by
    `begin(open_savepoint)` and `end()` or `undo()`: its savepoint is opened only when
    it is about to run a statement, after the writes of the parts before it.
    """

    def __init__(self, db: Database, *, batched: bool = False) -> None:
        self.db = db
        self.batched = batched
        self.audit = audit.Appender(db) if batched else None
        self._rules: dict[str, tuple[dict[str, Any], str]] = {}
        self._next_id: int | None = None
        self._new: dict[int, dict[str, Any]] = {}  # flags to insert, by id, in order
        self._changed: dict[int, dict[str, Any]] = {}  # flag id → columns to set
        self._flags: dict[int, dict[str, Any]] = {}  # flag id → as stored (see _STATE)
        self._episodes: dict[tuple[str, str], int] = {}  # (kind, key) → unresolved flag id
        self._before_write: Callable[[], None] = _nothing
        self._mark: dict[str, Any] | None = None

    def rule(self, kind: str, t: rules.Thresholds) -> tuple[dict[str, Any], str]:
        """The rule a flag of `kind` records, and its JSON as stored."""
        found = self._rules.get(kind)
        if found is None:
            rule = rules.basis(kind, t)
            found = self._rules[kind] = (rule, json.dumps(rule, sort_keys=True))
        return found

    def know(self, flags: Sequence[dict[str, Any]]) -> None:
        """The flags the engine listed for the participant it evaluates next (every flag
        whose episode the findings can continue: see engine.evaluate)."""
        if not self.batched:
            return
        self._flags = {}
        self._episodes = {}
        for f in flags:
            state = {k: f[k] for k in _STATE}
            if not isinstance(state["detail"], str):
                state["detail"] = json.dumps(state["detail"], sort_keys=True)
            self._flags[f["id"]] = state
            if f["status"] != "resolved":
                self._episodes[(f["kind"], f["episode_key"])] = f["id"]

    def episode(self, participant_id: int, kind: str, episode_key: str) -> dict[str, Any] | None:
        """The unresolved flag of an episode as stored now, if any (dates as `date`)."""
        if not self.batched:
            return queries.open_episode(self.db, participant_id, kind, episode_key)
        flag_id = self._episodes.get((kind, episode_key))
        if flag_id is None:
            return None
        state = self._flags[flag_id]
        return {**state, "detail": json.loads(state["detail"])}

    def insert(
        self,
        *,
        participant_id: int,
        finding: rules.Finding,
        episode_key: str,
        rule: tuple[dict[str, Any], str],
        entry_id: int | None,
        now: datetime,
    ) -> int:
        """A new flag (status open); its id. `rule`: as Writes.rule gives it."""
        if not self.batched:
            self._before_write()
            return queries.insert_flag(
                self.db,
                participant_id=participant_id,
                kind=finding.kind,
                severity=finding.severity,
                episode_key=episode_key,
                first_date=finding.first_date,
                last_date=finding.last_date,
                detail=finding.detail,
                rule=rule[0],
                entry_id=entry_id,
                now=now,
            )
        if self._next_id is None:
            self._next_id = queries.next_flag_id(self.db)
        flag_id = self._next_id
        self._next_id += 1
        stamp = clock.iso(now)
        detail = json.dumps(finding.detail, sort_keys=True)
        self._new[flag_id] = {
            "id": flag_id,
            "participant_id": participant_id,
            "kind": finding.kind,
            "severity": finding.severity,
            "episode_key": episode_key,
            "first_date": finding.first_date.isoformat(),
            "last_date": finding.last_date.isoformat(),
            "detail": detail,
            "rule": rule[1],
            "entry_id": entry_id,
            "opened_at": stamp,
            "updated_at": stamp,
            "notices": 0,
        }
        self._flags[flag_id] = {
            "id": flag_id,
            "kind": finding.kind,
            "episode_key": episode_key,
            "status": "open",
            "severity": finding.severity,
            "first_date": finding.first_date,
            "last_date": finding.last_date,
            "detail": detail,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "reopened_at": None,
            "reopen_count": 0,
            "notices": 0,
        }
        self._episodes[(finding.kind, episode_key)] = flag_id
        return flag_id

    def update(self, flag_id: int, changes: dict[str, Any]) -> None:
        """Set columns of a flag (as queries.update_flag takes them)."""
        if not self.batched:
            self._before_write()
            queries.update_flag(self.db, flag_id, changes)
            return
        values = queries.encode_changes(changes)
        pending = self._new.get(flag_id)
        if pending is not None:
            pending.update(values)
        else:
            self._changed.setdefault(flag_id, {}).update(values)
        state = self._flags.get(flag_id)
        if state is not None:
            for k in state.keys() & values.keys():
                state[k] = changes[k] if k in ("first_date", "last_date") else values[k]
            if state["status"] == "resolved":
                self._episodes.pop((state["kind"], state["episode_key"]), None)

    def record(self, **row: Any) -> int:
        """An audit row (audit.record's arguments)."""
        if not self.batched:
            self._before_write()
            return audit.record(self.db, **row)
        return self.audit.record(**row)

    def sync(self) -> None:
        """Write what waits: a statement that reads the flags comes next."""
        if not self.batched:
            self._before_write()
            return
        if self._mark is not None:
            # The parts before this one are written outside its savepoint.
            self._flush(self._mark["rows"], self._mark["new"], self._mark["changed"])
            self._mark.update(rows=0, new=0, changed=0)
        self._before_write()
        self._flush()

    def flush(self) -> None:
        """Write every flag and audit row that waits."""
        if self.batched:
            self._flush()

    def _flush(self, rows: int | None = None, new: int | None = None, changed: int | None = None):
        inserts = list(self._new.values())[:new]
        updates = dict(list(self._changed.items())[:changed])
        queries.insert_flags(self.db, inserts)
        queries.update_flags(self.db, updates)
        self.audit.flush(rows)
        for flag_id in [*(r["id"] for r in inserts), *updates]:
            self._new.pop(flag_id, None)
            self._changed.pop(flag_id, None)

    def begin(self, open_savepoint: Callable[[], None]) -> None:
        """The writes from here to end() or undo() are one participant's: all or none."""
        self._before_write = open_savepoint
        rows, last = self.audit.mark() if self.batched else (0, None)
        self._mark = {
            "rows": rows,
            "last": last,
            "new": len(self._new),
            "changed": len(self._changed),
            "next_id": self._next_id,
        }

    def end(self) -> None:
        self._before_write = _nothing
        self._mark = None

    def undo(self) -> None:
        """Forget the writes since begin() that wait (the caller rolls back its savepoint,
        and with it those written)."""
        mark = self._mark
        if self.batched and mark is not None:
            self.audit.undo((mark["rows"], mark["last"]))
            self._new = dict(list(self._new.items())[: mark["new"]])
            self._changed = dict(list(self._changed.items())[: mark["changed"]])
            self._next_id = mark["next_id"]
        self.end()


def _nothing() -> None:
    return None


def upsert(
    db: Database,
    t: rules.Thresholds,
    *,
    participant: Mapping[str, Any],
    finding: rules.Finding,
    episode_key: str,
    actor: audit.Actor,
    now: datetime,
    entry_id: int | None = None,
    writes: Writes | None = None,
    again: tuple[str, ...] = (),
) -> tuple[int, str]:
    """Open a flag for a new episode or apply the finding to the unresolved one; queue
    the urgent notice that rules.notice asks for. Returns the flag's id and 'opened',
    'updated' or 'unchanged'. Must run inside the caller's transaction; every change is
    audited. `writes`: the engine's, when it writes many (else each write is made now).
    `again`: red-flag codes reported again after they left the entry, news even to a flag
    that lists them."""
    writes = writes or Writes(db)
    rule = writes.rule(finding.kind, t)
    existing = writes.episode(participant["id"], finding.kind, episode_key)
    if existing is None:
        flag_id = _open_flag(
            writes, participant, finding, episode_key, rule, actor=actor, now=now, entry_id=entry_id
        )
        return flag_id, "opened"
    changed = _apply(
        writes, existing, participant, finding, rule, actor=actor, now=now, again=again
    )
    return existing["id"], "updated" if changed else "unchanged"


def _open_flag(
    writes: Writes,
    participant: Mapping[str, Any],
    finding: rules.Finding,
    episode_key: str,
    rule: tuple[dict[str, Any], str],
    *,
    actor: audit.Actor,
    now: datetime,
    entry_id: int | None,
) -> int:
    """A new episode's flag, audited, with its urgent notice queued when rules.notice asks."""
    flag_id = writes.insert(
        participant_id=participant["id"],
        finding=finding,
        episode_key=episode_key,
        rule=rule,
        entry_id=entry_id,
        now=now,
    )
    writes.record(
        actor=actor,
        action="flag.open",
        object_type="flag",
        object_id=flag_id,
        site_id=participant["site_id"],
        participant_id=participant["id"],
        after={
            "kind": finding.kind,
            "severity": finding.severity,
            "first_date": finding.first_date.isoformat(),
            "last_date": finding.last_date.isoformat(),
            "detail": finding.detail,
            "rule": rule[0],
        },
        at=now,
    )
    decision = rules.notice(
        status=None, severity_before=None, merged=None, severity=finding.severity
    )
    if decision.notify:
        writes.update(flag_id, {"notices": 1})
        writes.sync()  # the notice reads the flag
        outbox.enqueue_urgent_flag(writes.db, flag_id=flag_id, participant=participant, now=now)
    return flag_id


def _apply(
    writes: Writes,
    existing: dict[str, Any],
    participant: Mapping[str, Any],
    finding: rules.Finding,
    rule: tuple[dict[str, Any], str],
    *,
    actor: audit.Actor,
    now: datetime,
    again: tuple[str, ...] = (),
) -> bool:
    """The finding merged into the episode's unresolved flag (rules.merge); reopened, audited
    and noticed as rules.notice asks. False when the flag already held it all."""
    merged = rules.merge(
        severity=existing["severity"],
        first_date=existing["first_date"],
        last_date=existing["last_date"],
        detail=existing["detail"],
        finding=finding,
        again=again,
    )
    decision = rules.notice(
        status=existing["status"],
        severity_before=existing["severity"],
        merged=merged,
        severity=merged.severity,
    )
    new: dict[str, Any] = {
        "severity": merged.severity,
        "first_date": merged.first_date,
        "last_date": merged.last_date,
        "detail": merged.detail,
    }
    if decision.reopen:
        new.update(reopened(existing, merged.detail, (*merged.gained, *merged.peaks), now=now))
    old = {k: existing[k] for k in new}
    if new == old:
        return False
    if decision.notify:
        new["notices"] = existing["notices"] + 1
    writes.update(existing["id"], {**new, "rule": rule[0], "updated_at": now})
    writes.record(
        actor=actor,
        action="flag.reopen" if decision.reopen else "flag.update",
        object_type="flag",
        object_id=existing["id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before=jsonable({k: existing[k] for k in new}),
        after=jsonable({**new, "gained": [*merged.gained, *merged.peaks]}),
        at=now,
    )
    if decision.notify:
        writes.sync()  # the notice reads the flag
        outbox.enqueue_urgent_flag(
            writes.db,
            flag_id=existing["id"],
            participant=participant,
            now=now,
            notice=existing["notices"],
            restart_clock=decision.reopen,
            gained=(*merged.gained, *merged.peaks),
        )
    return True


def reopened(
    existing: Mapping[str, Any], detail: dict[str, Any], gained: Iterable[str], *, now: datetime
) -> dict[str, Any]:
    """The columns of an acknowledged flag going back to open for what it gained since
    staff looked (shown on the flag screen as `added_after_acknowledgement`)."""
    return {
        "detail": {
            **detail,
            "added_after_acknowledgement": sorted(
                {*detail.get("added_after_acknowledgement", []), *gained}
            ),
        },
        "status": "open",
        "acknowledged_at": None,
        "acknowledged_by": None,
        "reopened_at": clock.iso(now),
        "reopen_count": existing["reopen_count"] + 1,
    }


def with_injection(finding: rules.Finding, injections: list[date]) -> rules.Finding:
    """Watch windows count from the latest injection on or before the episode's start."""
    if finding.kind == "missed_entries":
        return finding
    latest = max((d for d in injections if d <= finding.first_date), default=None)
    if latest is None:
        return finding
    detail = {
        **finding.detail,
        "injection_date": latest.isoformat(),
        "days_after_injection": (finding.first_date - latest).days,
    }
    return dataclasses.replace(finding, detail=detail)


def _after(
    finding: rules.Finding,
    day: date,
    t: rules.Thresholds,
    records: Sequence[rules.DayRecord] | None = None,
) -> rules.Finding:
    """The part of a finding after `day` (a resolved flag covered the rest). A per-day
    rule judges that part on its own days: a resolved urgent day does not make the
    days after it urgent."""
    if finding.kind == "opioid_threshold" and records is not None:
        later = [r for r in records if day < r.date <= finding.last_date]
        rest = next(iter(rules.opioid_threshold(later, t=t)), None)
        if rest is not None:
            return dataclasses.replace(
                rest,
                detail={
                    **finding.detail,
                    **rest.detail,
                    "episode_first_date": finding.first_date.isoformat(),
                },
            )
    if finding.kind == "missed_entries":
        later = [date.fromisoformat(d) for d in finding.detail["dates"] if d > day.isoformat()]
        rest = rules.missed_finding(later, t=t)
        # The severity is the whole run's: four misses in a row are four, however split.
        return dataclasses.replace(
            rest,
            severity=finding.severity,
            detail={**rest.detail, "episode_first_date": finding.first_date.isoformat()},
        )
    return dataclasses.replace(
        finding,
        first_date=day + ONE_DAY,
        detail={**finding.detail, "episode_first_date": finding.first_date.isoformat()},
    )


def trim(
    finding: rules.Finding,
    flags: list[dict[str, Any]],
    t: rules.Thresholds,
    records: Sequence[rules.DayRecord] | None = None,
) -> rules.Finding | None:
    """The finding less the dates staff resolved in a flag of its kind: what continues
    after a resolution is raised from the day after; None if nothing is left.

    A flag the data resolved (auto_resolved) covers nothing: if its dates are missed
    again, they are raised again. A finding whose peak is above what staff resolved
    (a dose corrected upward) is raised again whole.
    """
    covering = [
        f
        for f in flags
        if f["kind"] == finding.kind
        and f["status"] == "resolved"
        and f.get("outcome") != "auto_resolved"
        and f["first_date"] <= finding.last_date
        and f["last_date"] >= finding.first_date
    ]
    if not covering:
        return finding
    if _above_reviewed(finding, covering):
        return finding  # more than staff reviewed, whatever its severity
    resolved_through = max(f["last_date"] for f in covering)
    if resolved_through < finding.first_date:
        return finding
    if resolved_through >= finding.last_date:
        return None
    return _after(finding, resolved_through, t, records)


def _above_reviewed(finding: rules.Finding, covering: list[dict[str, Any]]) -> bool:
    """True when a peak value of the finding is above the highest that staff resolved
    for it in the flags covering its dates: a finding raised again once, and resolved at
    its new peak, is not raised a third time by the next evaluation."""
    details = [detail_of(f) for f in covering]
    for k in rules.PEAKS:
        value = finding.detail.get(k)
        if not isinstance(value, int | float):
            continue
        reviewed = [d[k] for d in details if isinstance(d.get(k), int | float)]
        if reviewed and value > max(reviewed):
            return True
    return False


def place(
    finding: rules.Finding,
    flags: list[dict[str, Any]],
    t: rules.Thresholds,
    records: Sequence[rules.DayRecord] | None = None,
) -> tuple[rules.Finding, str] | None:
    """The episode key a finding belongs to, and the finding trimmed to unresolved dates.

    A finding overlapping an unresolved flag of its kind continues that flag.
    """
    trimmed = trim(finding, flags, t, records)
    if trimmed is None:
        return None
    for f in flags:  # ordered by first_date: the earliest open flag carries the episode
        if (
            f["kind"] == trimmed.kind
            and f["status"] != "resolved"
            and f["first_date"] <= trimmed.last_date
            and f["last_date"] >= trimmed.first_date
        ):
            return trimmed, f["episode_key"]
    return trimmed, trimmed.first_date.isoformat()


def resolve_by_data(
    db: Database,
    flag: dict[str, Any],
    *,
    participant: Mapping[str, Any],
    actor: audit.Actor,
    now: datetime,
    note: str,
    writes: Writes | None = None,
) -> None:
    """The data took the finding away (what was missing arrived): the flag resolves
    itself as `auto_resolved`, audited, with `note` saying why."""
    writes = writes or Writes(db)
    writes.update(
        flag["id"],
        {
            "status": "resolved",
            "outcome": "auto_resolved",
            "resolved_at": now,
            "resolution_note": note,
            "updated_at": now,
        },
    )
    writes.record(
        actor=actor,
        action="flag.auto_resolve",
        object_type="flag",
        object_id=flag["id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={"status": flag["status"], "detail": detail_of(flag)},
        after={"status": "resolved", "outcome": "auto_resolved", "note": note},
        at=now,
    )
    flag["status"] = "resolved"
