"""The flag engine: the one place where findings become flags (SPEC §6, §7).

Entries (on submission) and the closing job (as dates close) hand the engine a
`Scope`: one participant and the dates whose data changed or closed. The engine
evaluates the pure rules over them, places each finding in its episode, writes
the flag and its audit row and queues the urgent notice, all inside the
caller's transaction. What it guarantees, whoever calls it:

- every urgent finding reaches the site: a new urgent flag, a flag rising to
  urgent, and an urgent flag gaining a finding each queue a notice;
- a flag that gains a finding after it was acknowledged goes back to open,
  shows what it gained, and (when urgent) may escalate again;
- a missed-entries flag always lists exactly the expected dates still without
  an entry: a date entered later comes off it, and a flag left with no date
  resolves itself (`auto_resolved`, audited);
- each flag records the rule, its version and the thresholds that raised it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import LazySavepoint
from ..study import Study
from . import adverse_events, episodes, queries, rules
from . import missed as missed_flags

ONE_DAY = timedelta(days=1)
# The screen (see _screen) reads the new dates once more than evaluating them does; it
# pays off for the few dates of a daily run, not for the weeks of a catch-up.
SCREEN_DAYS = 7
# What the closing job evaluates (a scope's default kinds; red flags have their own path).
CLOSING_KINDS = tuple(k for k in rules.DIARY_KINDS if k != "red_flag_symptom")


@dataclasses.dataclass(slots=True)
class Scope:
    """One participant's dates to evaluate.

    participant: id, site_id, study_id, baseline_back_pain, baseline_mme and
    baseline_opioids (a list of drug codes). evaluate_from: the earliest date
    whose data changed or that newly closed; findings wholly before it were
    evaluated before. through: the last date whose data is judged.
    expected_through: the last closed date an entry was due on (None: none yet).
    new_from: the first date closing in this run (its misses are recorded and
    flagged); None when nothing closes (an entry's own evaluation), which only
    takes entered dates off the missed record. late_from: the earliest closed
    date that got an entry after it closed.
    """

    participant: Mapping[str, Any]
    first: date
    evaluate_from: date
    through: date
    expected_through: date | None
    kinds: tuple[str, ...] = rules.DIARY_KINDS
    new_from: date | None = None
    late_from: date | None = None
    # The first date an entry is due on (Study.first_expected_date); None: `first`.
    expected_from: date | None = None

    @property
    def due_from(self) -> date:
        return self.expected_from or self.first


def expected_from(study: Study, participant: Mapping[str, Any]) -> date:
    """The first date an entry was due on for this participant (the later of the first
    injection and the day of enrollment, in their zone)."""
    first = date.fromisoformat(participant["first_injection"])
    enrolled = participant.get("enrolled_at")
    enrolled_on = (
        clock.local_date(clock.parse_iso(enrolled), participant["timezone"]) if enrolled else None
    )
    return study.first_expected_date(first, enrolled_on)


def lookback(t: rules.Thresholds) -> timedelta:
    """Enough days before a changed date for every rule's window (streak, mean) to see it."""
    return timedelta(
        days=max(t.flare_consecutive * t.flare_max_gap_days, t.increase_window_days) + 1
    )


def evaluate(
    db: Database,
    study: Study,
    scopes: Sequence[Scope],
    *,
    actor: audit.Actor,
    now: datetime,
    on_error: Callable[[Mapping[str, Any], Exception], None] | None = None,
    single_dates_screened: bool = False,
) -> dict[str, int]:
    """Evaluate each scope's rules and write what they find; return counts.

    `single_dates_screened`: the scopes closing one date are what `close_quietly` left
    (the screen would only read them again).

    With `on_error`, each participant runs in a savepoint of its own: a failure
    rolls back that participant only, is handed to `on_error`, and the others
    carry on. Must run inside the caller's transaction.
    """
    t = study.thresholds
    back = lookback(t)
    kinds = sorted({k for s in scopes for k in s.kinds} - {"red_flag_symptom"})
    if not scopes or not kinds:
        return {}
    since: list[tuple[int, date]] = []
    ready: list[Scope] = []
    for s in scopes:
        try:
            since.append((s.participant["id"], s.evaluate_from - back - ONE_DAY))
        except OverflowError as exc:  # a date at the edge of the calendar
            if on_error is None:
                raise
            on_error(s.participant, exc)
            continue
        ready.append(s)
    scopes, since = _screen(db, t, ready, since, kinds, single_dates_screened)
    if not scopes:
        return {}
    near = queries.flags_since(db, since, kinds)
    starts: dict[int, date] = {}
    for s in scopes:
        pid = s.participant["id"]
        earliest = min([s.evaluate_from, *(f["first_date"] for f in near.get(pid, ()))])
        starts[pid] = max(s.first, earliest - back)
    # The span may reach back before `since` (a long open episode): list every flag it
    # overlaps, so that a resolved one there still keeps its dates from being raised again.
    wider = [
        (s.participant["id"], starts[s.participant["id"]])
        for s, (_, early) in zip(scopes, since, strict=True)
        if starts[s.participant["id"]] < early
    ]
    if wider:
        near.update(queries.flags_since(db, wider, kinds))
    days = queries.diary_days(
        db, [(s.participant["id"], starts[s.participant["id"]], s.through) for s in scopes]
    )
    injections = queries.injection_dates(db, [s.participant["id"] for s in scopes])

    counts = {"flags_opened": 0, "flags_updated": 0, "flags_auto_resolved": 0, "missed": 0}
    missed = missed_flags.MissedDates()
    # Every participant's flags and audit rows are written together, at the end.
    writes = episodes.Writes(db, batched=True)
    for s in scopes:
        pid = s.participant["id"]
        args = (db, study, s, starts[pid], days.get(pid, {}), near.get(pid, []))
        kwargs = {"injections": injections.get(pid, ()), "actor": actor, "now": now}
        if on_error is None:
            _add(counts, _evaluate_one(*args, missed=missed, writes=writes, **kwargs))
            continue
        mine = missed_flags.MissedDates()
        # this participant's writes, or none of them
        savepoint = LazySavepoint(db, "flag_engine_participant")
        writes.begin(savepoint.open)
        try:
            _add(counts, _evaluate_one(*args, missed=mine, writes=writes, **kwargs))
        except Exception as exc:  # noqa: BLE001 - one participant's data must not stop the rest
            savepoint.roll_back()
            writes.undo()
            on_error(s.participant, exc)
        else:
            savepoint.release()
            writes.end()
            missed.extend(mine)
    writes.flush()
    queries.record_missed(db, missed.new, now=now)
    queries.unmark_missed(db, missed.entered)
    counts["missed"] = len(missed.new)
    return counts


def close_quietly(
    db: Database,
    study: Study,
    *,
    job_id: str,
    closed_in: Mapping[str, date],
    rechecked: Collection[int],
    now: datetime,
    ids: tuple[int, int],
) -> int:
    """Advance, in SQL, the checkpoint of each participant whose one newly closed date
    would change no flag (what `_screen` decides in Python, as one statement for every
    zone: the daily run's common case); how many. `closed_in`: each zone's latest
    closed date; `ids`: the participants' ids from, to. Everyone else is left for
    `evaluate`. Inside the caller's transaction."""
    if not closed_in:
        return 0
    return queries.close_quietly(
        db, job_id, closed_in, rechecked, now=now, ids=ids, **quiet_limits(study)
    )


def quiet_limits(study: Study) -> dict[str, Any]:
    """The thresholds `close_quietly` applies in SQL, from the rules' own functions, and
    the kinds of unresolved flag that keep a date from closing quietly (those evaluated)."""
    t = study.thresholds
    return {
        "kinds": CLOSING_KINDS,
        "length_days": study.length_days,
        # baseline back pain is a whole number 0-10 (the schema's check)
        "pain_floors": {b: rules.flare_pain_floor(b, t) for b in range(11)},
        "mme_high": t.mme_high,
        "increase_abs": t.increase_abs,
        "increase_pct": t.increase_pct,
        "window_days": t.increase_window_days,
    }


def _screen(
    db: Database,
    t: rules.Thresholds,
    scopes: list[Scope],
    since: list[tuple[int, date]],
    kinds: Collection[str],
    single_dates_screened: bool = False,
) -> tuple[list[Scope], list[tuple[int, date]]]:
    """Leave out the scopes whose changed dates cannot change any flag.

    Most of a daily run: a participant whose new dates are all entered, ordinary and
    touch no unresolved flag of the kinds evaluated; and most entries as they are sent:
    ordinary, on dates no such flag reaches. One grouped query decides it for every
    such scope (rules.closes_quietly says why it suffices; an entry's own evaluation
    is cleared on MME and unconverted opioids alone, all that the rules run on
    submission read); what it cannot clear is evaluated in full. Only plain closings
    and entries' own evaluations by the rules run on submission are screened: a late
    entry's judging by the rules at close always runs in full. (For an entry's own
    evaluation an unresolved flag is more than the rules need, which never shrink a
    flag: it is kept as the closings' rule, one rule for both.)
    """
    window = timedelta(days=t.increase_window_days - 1)
    rows = []
    on_submission: set[int] = set()
    for s in scopes:
        closing = s.new_from is not None and s.late_from is None and s.evaluate_from == s.new_from
        submitted = (
            s.new_from is None
            and s.late_from is None
            and s.expected_through is None
            and set(s.kinds) <= set(rules.SUBMISSION_KINDS)
        )
        if not (closing or submitted):
            continue
        if (s.through - s.evaluate_from).days >= SCREEN_DAYS:
            continue  # a catch-up's weeks are seldom all quiet: the screen would read them twice
        if single_dates_screened and closing and s.through == s.new_from:
            continue
        due_from = max(s.evaluate_from, s.due_from)
        due_to = (
            due_from - ONE_DAY  # nothing is due yet
            if s.expected_through is None
            else min(s.through, s.expected_through)
        )
        try:
            lo = s.evaluate_from - window
        except OverflowError:  # a date at the edge of the calendar: the full path reports it
            continue
        rows.append((s.participant["id"], lo, s.evaluate_from, s.through, due_from, due_to))
        if submitted:
            on_submission.add(s.participant["id"])
    if not rows:
        return scopes, since
    # The flags of the kinds evaluated are all the rules read and change (a red flag,
    # a questionnaire's, is neither): only those keep the dates from being cleared.
    found = queries.closing_extremes(db, rows, kinds)
    by_id = {s.participant["id"]: s.participant for s in scopes}
    quiet = set()
    for pid, _, _, _, due_from, due_to in rows:
        entered, pain, mme, window_mme, unconverted, unresolved = found[pid]
        if unresolved:
            continue
        if pid in on_submission:  # its rules read neither the pain nor the mean
            pain = window_mme = None
        extremes = rules.Extremes(
            missing=entered < (due_to - due_from).days + 1,
            max_back_pain=pain,
            max_mme=mme,
            max_window_mme=window_mme,
            unconverted=bool(unconverted),
        )
        p = by_id[pid]
        try:
            if rules.closes_quietly(
                extremes,
                baseline_back_pain=p["baseline_back_pain"],
                baseline_mme=p["baseline_mme"],
                t=t,
            ):
                quiet.add(pid)
        except (TypeError, ValueError):  # bad data of one participant: the full path reports it
            continue
    if not quiet:
        return scopes, since
    kept = [(s, r) for s, r in zip(scopes, since, strict=True) if s.participant["id"] not in quiet]
    return [s for s, _ in kept], [r for _, r in kept]


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value


def _evaluate_one(
    db: Database,
    study: Study,
    s: Scope,
    start: date,
    stored: dict[str, tuple[int, float | None, str]],
    flags: list[dict[str, Any]],
    *,
    injections: Sequence[str],
    actor: audit.Actor,
    now: datetime,
    missed: missed_flags.MissedDates,
    writes: episodes.Writes,
) -> dict[str, int]:
    t = study.thresholds
    p = s.participant
    writes.know(flags)
    injected = [date.fromisoformat(d) for d in injections]  # here: a bad row fails this one
    entered: dict[date, rules.DayRecord] = {}
    for text, (pain, mme, drugs) in stored.items():
        day = date.fromisoformat(text)
        entered[day] = rules.DayRecord(
            day, pain, mme, tuple(json.loads(drugs)) if drugs != "[]" else ()
        )
    # A catch-up builds a year of these per participant: by ordinal and slice, not by
    # date arithmetic and comparison on each day.
    origin = start.toordinal()
    span = list(map(date.fromordinal, range(origin, s.through.toordinal() + 1)))
    records = [entered.get(d) or rules.DayRecord(d, None, None) for d in span]
    expected: list[date] = []
    if s.expected_through is not None:
        lo = max(s.due_from.toordinal() - origin, 0)
        expected = span[lo : max(s.expected_through.toordinal() - origin + 1, lo)]
    findings = rules.evaluate(
        records,
        expected,
        baseline_back_pain=p["baseline_back_pain"],
        baseline_mme=p["baseline_mme"],
        baseline_opioids=baseline_opioids(p),
        t=t,
        kinds=[k for k in s.kinds if k != "red_flag_symptom"],
    )
    counts = {"flags_opened": 0, "flags_updated": 0, "flags_auto_resolved": 0}
    runs = [f for f in findings if f.kind == "missed_entries"]
    if "missed_entries" in s.kinds:
        missed_flags.record_missed_dates(s, expected, entered, missed)
        runs = missed_flags.reconcile_missed(
            db, t, s, runs, flags, actor=actor, now=now, counts=counts, writes=writes
        )
    for finding in [*runs, *(f for f in findings if f.kind != "missed_entries")]:
        if finding.last_date < s.evaluate_from:
            continue  # wholly in dates evaluated before
        finding = episodes.with_injection(finding, injected)
        placed = episodes.place(finding, flags, t, records)
        if placed is None:
            continue
        finding, episode_key = placed
        if episodes.unchanged(finding, episode_key, flags):
            continue
        _, outcome = episodes.upsert(
            db,
            t,
            participant=p,
            finding=finding,
            episode_key=episode_key,
            actor=actor,
            now=now,
            writes=writes,
        )
        if outcome == "opened":
            counts["flags_opened"] += 1
        elif outcome == "updated":
            counts["flags_updated"] += 1
    return counts


def raise_red_flags(
    db: Database,
    study: Study,
    *,
    participant: Mapping[str, Any],
    day: date,
    codes: Sequence[str],
    temperature_c: float | None,
    entry_version: int,
    entry_id: int,
    actor: audit.Actor,
    now: datetime,
    before: Collection[str] = (),
) -> None:
    """An entry's red-flag codes: an urgent finding (a new flag, or the date's unresolved
    flag gains it) when the entry reports what its date's flags have not (whatever their
    status), a code reported again after it left the entry (`before`: the codes of the
    version this write replaces; a fever "ticked by mistake", then real), or a fever
    higher than any they recorded. A code re-saved unchanged with the rest of a
    correction is not news: staff have it, or resolved it."""
    if not codes:
        return
    reported, hottest = queries.red_flags_reported(db, participant["id"], day)
    again = {c for c in codes if c in reported and c not in before}
    fresh = {c for c in codes if c not in reported} | again
    hotter = (
        temperature_c is not None
        and temperature_c >= study.thresholds.fever_c
        and (hottest is None or temperature_c > hottest)
    )
    if not fresh and not hotter:
        return
    finding = rules.Finding(
        kind="red_flag_symptom",
        severity="urgent",
        first_date=day,
        last_date=day,
        detail={
            "symptoms": sorted(codes),
            "temperature_c": temperature_c,
            "entry_version": entry_version,
        },
    )
    flag_id, _ = episodes.upsert(
        db,
        study.thresholds,
        participant=participant,
        finding=finding,
        episode_key=day.isoformat(),
        actor=actor,
        now=now,
        entry_id=entry_id,
        again=tuple(sorted(again)),
    )
    if adverse_events.SAE_TRIGGER_SYMPTOM in fresh:
        adverse_events.start_for_report(
            db, flag_id=flag_id, participant=participant, actor=actor, now=now
        )


def on_entry(
    db: Database,
    study: Study,
    *,
    participant: Mapping[str, Any],
    day: date,
    entry: Mapping[str, Any],
    actor: audit.Actor,
    now: datetime,
    before: Mapping[str, Any] | None = None,
) -> None:
    """Evaluate a stored entry in its own transaction (SPEC §6). `before`: the version
    of the entry this write replaced (None for a new entry).

    Red flags and the opioid rules run on submission, whenever the entry is made. An
    entry for a date that has already closed (synced late, a staff clarification) is
    evaluated at once by every rule, and its date comes off the missed record and
    any missed-entries flag.
    """

    def red(version: Mapping[str, Any]) -> list[str]:
        return rules.red_flag_findings(
            version["symptoms"],
            version["temperature_c"],
            red_flag_codes=study.red_flag_codes,
            t=study.thresholds,
        )

    codes = red(entry)
    raise_red_flags(
        db,
        study,
        participant=participant,
        day=day,
        codes=codes,
        temperature_c=entry["temperature_c"],
        entry_version=entry["version"],
        entry_id=entry["id"],
        actor=actor,
        now=now,
        before=red(before) if before else (),
    )
    first = date.fromisoformat(participant["first_injection"])
    closed, expected = dates_due(study, participant, now=now)
    person = {**participant, "baseline_opioids": baseline_opioids(participant)}
    today = min(clock.local_date(now, participant["timezone"]), study.last_diary_date(first))
    # The submission rules see every date entered so far (a day entered out of order
    # joins the episode of the days after it); the rules judged at close see closed dates.
    scopes = [
        Scope(
            participant=person,
            first=first,
            evaluate_from=day,
            through=max(day, today),
            expected_through=None,
            kinds=rules.SUBMISSION_KINDS,
        )
    ]
    if day <= closed:
        scopes.append(
            Scope(
                participant=person,
                first=first,
                evaluate_from=day,
                through=max(day, closed),
                expected_through=expected,
                expected_from=expected_from(study, participant),
                kinds=tuple(k for k in rules.DIARY_KINDS if k not in rules.SUBMISSION_KINDS),
                late_from=day,
            )
        )
    for scope in scopes:
        evaluate(db, study, [scope], actor=actor, now=now)


def dates_due(
    study: Study,
    participant: Mapping[str, Any],
    *,
    now: datetime,
    closed_in_zone: date | None = None,
    due_from: date | None = None,
) -> tuple[date, date | None]:
    """(the latest closed diary date, the latest closed date an entry was due on) as of
    `now`. A participant who stopped (withdrawal, completion) owed entries only for the
    dates that had closed when they stopped; None: none was due yet. The one rule for
    entries, day-0 corrections and the closing job (which passes `closed_in_zone`, the
    zone's latest closed date, worked out once per zone, and `due_from`, the
    participant's expected_from, which it keeps)."""
    tz = participant["timezone"]
    closes = study.window_closes_next_day_at
    first = date.fromisoformat(participant["first_injection"])
    if closed_in_zone is None:
        closed_in_zone = clock.last_closed_date(now, tz, closes)
    closed = min(closed_in_zone, study.last_diary_date(first))
    expected = closed
    if due_from is None:
        due_from = expected_from(study, participant)
    if participant.get("ended_at"):
        ended = clock.parse_iso(participant["ended_at"])
        expected = min(closed, clock.last_closed_date(min(ended, now), tz, closes))
    elif participant.get("status", "active") != "active":
        expected = first - ONE_DAY  # stopped before anyone recorded when
    return closed, (expected if expected >= due_from else None)


def day_zero_moved(
    db: Database,
    study: Study,
    *,
    participant: Mapping[str, Any],
    before: date,
    actor: audit.Actor,
    now: datetime,
) -> None:
    """The first injection was corrected or voided (participant holds the new one).

    Moved later: the dates before it are no longer expected, so they leave the missed
    record and every missed-entries flag (a flag left with none resolves itself).
    Moved earlier: the closing job's checkpoint goes back, so that the dates between
    are closed and judged on its next run like any other.
    """
    first = date.fromisoformat(participant["first_injection"])
    pid = participant["id"]
    if first < before:
        queries.rewind_closing(db, pid, to=first - ONE_DAY)
        return
    queries.unmark_missed_before(db, pid, first)
    closed, expected = dates_due(study, participant, now=now)
    scope = Scope(
        participant={**participant, "baseline_opioids": baseline_opioids(participant)},
        first=first,
        evaluate_from=before,
        through=max(first, closed),
        expected_through=expected,
        expected_from=expected_from(study, participant),
        kinds=("missed_entries",),
    )
    evaluate(db, study, [scope], actor=actor, now=now)


def baseline_opioids(participant: Mapping[str, Any]) -> list[str]:
    value = participant.get("baseline_opioids") or []
    if isinstance(value, str):
        return [] if value == "[]" else json.loads(value)
    return list(value)
