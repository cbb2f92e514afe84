"""Flag rules (SPEC §6): pure functions from diary days to findings, one per episode.

Nothing here reads a database or a clock. `evaluate` is the whole rule set over
one participant's data; the flag engine (engine.py) and the property tests both
call it, so "the flags staff see" and "the flags the data imply" come from one
definition. `merge` and `notice` decide, also purely, how a finding changes an
existing flag and who must hear of it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from ..study import Thresholds  # the protocol's values; the rules that use them are here

_ONE_DAY = timedelta(days=1)

SEVERITY_RANK = {"low": 0, "high": 1, "urgent": 2}

# The red-flag code a measured temperature at or above fever_c reports.
FEVER = "fever"

# When each rule runs: on submission (the entry's own transaction) or when a
# date closes (the closing job, or at once for an entry that arrives after).
ON_SUBMISSION = "on_submission"
AT_CLOSE = "at_close"
# Questionnaire flags: raised by the questionnaire job (a window closed unanswered)
# and when an answer is sent; the diary's rules never evaluate them.
QUESTIONNAIRE = "questionnaire"


@dataclass(frozen=True)
class Rule:
    version: int
    evaluated: str
    thresholds: tuple[str, ...]
    text: str  # the rule in words, filled from the thresholds (str.format)


RULES: dict[str, Rule] = {
    "red_flag_symptom": Rule(
        1,
        ON_SUBMISSION,
        ("fever_c",),
        "a red-flag symptom reported, or a temperature of {fever_c:g} °C or more",
    ),
    "opioid_threshold": Rule(
        1,
        ON_SUBMISSION,
        ("mme_high", "mme_urgent"),
        "daily MME above {mme_high:g}; urgent from {mme_urgent:g}",
    ),
    "opioid_unconvertible": Rule(
        1,
        ON_SUBMISSION,
        (),
        "an opioid with no MME factor that was not taken at baseline",
    ),
    "pain_flare": Rule(
        2,
        AT_CLOSE,
        (
            "flare_abs_increase",
            "flare_pct_increase",
            "flare_consecutive",
            "flare_max_gap_days",
            "flare_absolute",
        ),
        "back pain at least {flare_abs_increase:g} points and {flare_pct_increase:g} % above"
        " baseline on {flare_consecutive} entries at most {flare_max_gap_days} days apart,"
        " or {flare_absolute} or more",
    ),
    "opioid_increase": Rule(
        2,
        AT_CLOSE,
        ("increase_window_days", "increase_abs", "increase_pct", "increase_min_entries"),
        "mean MME of the entered days in {increase_window_days} days (at least"
        " {increase_min_entries} of them) at least {increase_abs:g} and {increase_pct:g} %"
        " above baseline",
    ),
    "missed_entries": Rule(
        1,
        AT_CLOSE,
        ("missed_high_streak",),
        "an expected diary date closed without an entry; high from {missed_high_streak} in a row",
    ),
    "questionnaire_missed": Rule(
        1, QUESTIONNAIRE, (), "a questionnaire's window closed without an answer"
    ),
    "questionnaire_answer": Rule(
        1,
        QUESTIONNAIRE,
        (),
        "an answer or score of a questionnaire met a flag rule of the protocol",
    ),
}
KINDS = tuple(RULES)
# What the diary's rules evaluate (over diary dates), on submission or at date close.
DIARY_KINDS = tuple(k for k, r in RULES.items() if r.evaluated != QUESTIONNAIRE)
SUBMISSION_KINDS = tuple(k for k, r in RULES.items() if r.evaluated == ON_SUBMISSION)


def basis(kind: str, t: Thresholds) -> dict[str, Any]:
    """What a flag records of the rule that raised it, so a reviewer can see why."""
    rule = RULES[kind]
    thresholds = {name: getattr(t, name) for name in rule.thresholds}
    return {
        "id": kind,
        "version": rule.version,
        "evaluated": rule.evaluated,
        "thresholds": thresholds,
        "text": rule.text.format(**thresholds),
    }


class DayRecord(NamedTuple):
    """One diary date: back_pain None means no entry, mme None means unknown.

    unconverted: opioids taken that day with no MME factor; red_flags: the
    red-flag codes the day's entry reported (a measured fever included).
    A tuple, not a dataclass: the closing job builds millions in a catch-up.
    """

    date: date
    back_pain: int | None
    mme: float | None
    unconverted: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One episode a rule found; detail holds only JSON-serialisable values."""

    kind: str
    severity: str
    first_date: date
    last_date: date
    detail: dict[str, Any] = field(default_factory=dict)


def _dec(value: float) -> Decimal:
    # Exact decimal arithmetic so that a value exactly at a threshold is not lost to float noise.
    return Decimal(str(value))


def _raised(value: Decimal, baseline: float, abs_increase: float, pct_increase: float) -> bool:
    """True when value is both abs_increase above and pct_increase % above the baseline."""
    base = _dec(baseline)
    return value >= base + _dec(abs_increase) and value * 100 >= base * (100 + _dec(pct_increase))


@lru_cache(maxsize=256)
def _raised_pains(baseline: float, abs_increase: float, pct_increase: float) -> frozenset[int]:
    """Pain is a whole number 0–10: which values are raised above this baseline."""
    return frozenset(p for p in range(11) if _raised(_dec(p), baseline, abs_increase, pct_increase))


def _runs(dates: Iterable[date], max_gap: int = 1) -> list[list[date]]:
    """Group dates into maximal runs whose neighbours are at most max_gap days apart."""
    runs: list[list[date]] = []
    for day in sorted(set(dates)):
        if runs and (day - runs[-1][-1]).days <= max_gap:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _entered(days: Sequence[DayRecord]) -> list[DayRecord]:
    return sorted((d for d in days if d.back_pain is not None), key=lambda d: d.date)


def pain_flare(
    days: Sequence[DayRecord], *, baseline_back_pain: float, t: Thresholds
) -> list[Finding]:
    """Back pain ≥ the absolute ceiling, or raised on enough consecutive entries.

    Consecutive means consecutive *entered* dates at most flare_max_gap_days
    apart: a day without an entry neither breaks a flare nor counts toward it.
    """
    qualifying: set[date] = set()
    streak: list[date] = []
    raised = _raised_pains(baseline_back_pain, t.flare_abs_increase, t.flare_pct_increase)
    if not any(
        d.back_pain is not None and (d.back_pain in raised or d.back_pain >= t.flare_absolute)
        for d in days
    ):
        return []  # no day qualifies at all: the usual case, decided in one pass
    entered = _entered(days)
    for day in entered:
        if day.back_pain >= t.flare_absolute:
            qualifying.add(day.date)
        elevated = day.back_pain in raised
        if not elevated:
            streak = []
            continue
        if streak and (day.date - streak[-1]).days > t.flare_max_gap_days:
            streak = []
        streak.append(day.date)
        if len(streak) >= t.flare_consecutive:
            qualifying.update(streak)

    pain = {d.date: d.back_pain for d in days if d.back_pain is not None}
    return [
        Finding(
            kind="pain_flare",
            severity="high",
            first_date=run[0],
            last_date=run[-1],
            detail={
                "baseline_back_pain": baseline_back_pain,
                "max_back_pain": max(pain[d] for d in run),
                "days": len(run),
            },
        )
        for run in _episodes(entered, qualifying, t.flare_max_gap_days)
    ]


def _episodes(
    entered: Sequence[DayRecord], qualifying: set[date], max_gap: int
) -> list[list[date]]:
    """Qualifying entered dates grouped into episodes: an entered day that does not
    qualify ends one, and so does a gap wider than max_gap."""
    runs: list[list[date]] = []
    open_run = False
    for day in entered:
        if day.date not in qualifying:
            open_run = False
        elif open_run and (day.date - runs[-1][-1]).days <= max_gap:
            runs[-1].append(day.date)
        else:
            runs.append([day.date])
            open_run = True
    return runs


def opioid_threshold(days: Sequence[DayRecord], *, t: Thresholds) -> list[Finding]:
    """Daily MME strictly above mme_high; an episode reaching mme_urgent is urgent."""
    mme = {d.date: d.mme for d in days if d.mme is not None and d.mme > t.mme_high}
    findings = []
    for run in _runs(mme):
        peak = max(mme[d] for d in run)
        findings.append(
            Finding(
                kind="opioid_threshold",
                severity="urgent" if peak >= t.mme_urgent else "high",
                first_date=run[0],
                last_date=run[-1],
                detail={"max_mme": peak},
            )
        )
    return findings


def opioid_increase(
    days: Sequence[DayRecord], *, baseline_mme: float, t: Thresholds
) -> list[Finding]:
    """Mean MME over the entered days of a window raised above the baseline.

    The window is increase_window_days calendar days ending on an entered date;
    its mean is over the days with an entry and a known MME, and counts once at
    least increase_min_entries such days are in it: a missed day never hides a rise.
    """
    known = {d.date: d.mme for d in days if d.back_pain is not None and d.mme is not None}
    window = t.increase_window_days
    # A raised mean is at least both limits; below this none is, so most windows are
    # judged without exact arithmetic.
    floor = increase_floor(baseline_mme, t)
    if not known or max(known.values()) < floor:
        return []  # no mean can reach the limit when no day does
    means: dict[date, Decimal] = {}  # entered date → the highest qualifying mean it is in
    covered: set[date] = set()
    ends = {d.date for d in days}
    entered = sorted(known)
    values = [known[d] for d in entered]
    reach = timedelta(days=window - 1)
    full_from = min(ends) + reach  # a window before it reaches back before the days given
    # A window's mean is at most its highest day: only windows holding a day at the
    # floor can be raised, so only the ends within reach of one are judged.
    near = {h + timedelta(days=k) for h in entered if known[h] >= floor for k in range(window)}
    # A window ends on any day, entered or not: two raised days before a missed one count.
    for end in sorted(near.intersection(ends)):
        if end < full_from:
            continue
        lo = bisect_left(entered, end - reach)
        hi = bisect_right(entered, end)
        if hi - lo < t.increase_min_entries:
            continue
        in_window = values[lo:hi]
        in_window.reverse()  # latest first, as the window is read back from its end
        if sum(in_window) < floor * len(in_window):
            continue
        dates = entered[lo:hi]
        dates.reverse()
        mean = sum((_dec(known[d]) for d in dates), Decimal(0)) / len(dates)
        if _raised(mean, baseline_mme, t.increase_abs, t.increase_pct):
            # The episode reaches the window's last day even when that day has no entry,
            # so that the run closing it is the one that raises it, however runs are spaced.
            for d in {*dates, end}:
                means[d] = max(means.get(d, mean), mean)
                covered.add(d)

    return [
        Finding(
            kind="opioid_increase",
            severity="high",
            first_date=run[0],
            last_date=run[-1],
            detail={
                "baseline_mme": baseline_mme,
                "max_mean_mme": round(float(max(means[d] for d in run)), 2),
            },
        )
        for run in _runs(covered, max(window - 1, 1))
    ]


def opioid_unconvertible(
    days: Sequence[DayRecord], *, baseline_opioids: Collection[str]
) -> list[Finding]:
    """Days with an opioid that has no MME factor and was not taken at baseline.

    Such a day is invisible to every MME rule (buprenorphine, today), so the
    new drug itself is the finding.
    """
    baseline = set(baseline_opioids)
    new = {d.date: set(d.unconverted) - baseline for d in days if d.unconverted}
    new = {day: drugs for day, drugs in new.items() if drugs}
    return [
        Finding(
            kind="opioid_unconvertible",
            severity="high",
            first_date=run[0],
            last_date=run[-1],
            detail={"drugs": sorted(set().union(*(new[d] for d in run))), "days": len(run)},
        )
        for run in _runs(new)
    ]


def missed_entries(
    expected_dates: Sequence[date], entered_dates: Collection[date], *, t: Thresholds
) -> list[Finding]:
    """One finding per run of consecutive expected dates without an entry."""
    entered = set(entered_dates)
    runs: list[list[date]] = []
    in_run = False
    for day in expected_dates:
        if day in entered:
            in_run = False
        elif in_run:
            runs[-1].append(day)
        else:
            runs.append([day])
            in_run = True
    return [missed_finding(run, t=t) for run in runs]


def missed_finding(run: Sequence[date], *, t: Thresholds) -> Finding:
    return Finding(
        kind="missed_entries",
        severity="high" if len(run) >= t.missed_high_streak else "low",
        first_date=run[0],
        last_date=run[-1],
        detail={"count": len(run), "dates": [d.isoformat() for d in run]},
    )


def red_flag_findings(
    symptoms: Iterable[str],
    temperature_c: float | None,
    *,
    red_flag_codes: Collection[str],
    t: Thresholds,
) -> list[str]:
    """Sorted red-flag codes an entry triggers; a measured fever counts as 'fever'."""
    codes = {s for s in symptoms if s in red_flag_codes}
    if temperature_c is not None and temperature_c >= t.fever_c:
        codes.add(FEVER)
    return sorted(codes)


def red_flag_symptom(days: Sequence[DayRecord]) -> list[Finding]:
    """One urgent finding per date whose entry reported a red flag."""
    return [
        Finding(
            kind="red_flag_symptom",
            severity="urgent",
            first_date=d.date,
            last_date=d.date,
            detail={"symptoms": sorted(d.red_flags)},
        )
        for d in days
        if d.red_flags
    ]


@dataclass(frozen=True)
class Extremes:
    """What newly closed dates (or an entry's dates, on submission) hold, at most, for
    `closes_quietly`.

    missing: an expected date among them has no entry. max_back_pain, max_mme:
    over their entries. max_window_mme: over the entries from
    increase_window_days − 1 days before the first of them (a raised mean may end
    on a new date). unconverted: an entry of theirs lists an opioid with no factor.
    """

    missing: bool
    max_back_pain: int | None
    max_mme: float | None
    max_window_mme: float | None
    unconverted: bool


def closes_quietly(
    e: Extremes, *, baseline_back_pain: float, baseline_mme: float, t: Thresholds
) -> bool:
    """True when no at-close rule can find anything ending on the new dates.

    Each rule's findings end on a date that qualifies by itself (a missed date, a
    raised or ceiling pain, an MME above mme_high, an unconverted opioid) or on the
    last day of a window whose mean, and so whose highest day, reaches the increase
    limit. When none of these extremes does, evaluating the dates would change no
    flag: the closing job need only advance its checkpoint.
    """
    if e.missing or e.unconverted:
        return False
    if e.max_back_pain is not None and e.max_back_pain >= flare_pain_floor(baseline_back_pain, t):
        return False
    if e.max_mme is not None and e.max_mme > t.mme_high:
        return False
    return e.max_window_mme is None or e.max_window_mme < increase_floor(baseline_mme, t)


def flare_pain_floor(baseline_back_pain: float, t: Thresholds) -> float:
    """The lowest back pain a flare can count for this baseline: the lowest raised pain,
    or the ceiling `flare_absolute` when lower. Raised pains are every pain from the
    lowest up (both limits grow with the pain), so a pain below it never counts."""
    raised = _raised_pains(baseline_back_pain, t.flare_abs_increase, t.flare_pct_increase)
    return min([t.flare_absolute, *raised])


def increase_floor(baseline_mme: float, t: Thresholds) -> float:
    """A bound under every raised mean MME for this baseline (both limits, less a margin
    for float error): a window whose highest day is below it is not raised."""
    return max(baseline_mme + t.increase_abs, baseline_mme * (100 + t.increase_pct) / 100) - 1e-6


def evaluate(
    days: Sequence[DayRecord],
    expected_dates: Sequence[date],
    *,
    baseline_back_pain: float,
    baseline_mme: float,
    baseline_opioids: Collection[str] = (),
    t: Thresholds,
    kinds: Collection[str] = DIARY_KINDS,
) -> list[Finding]:
    """Every finding of the rules in `kinds` over one participant's days.

    `days` are the dates with data to judge (entered or not); `expected_dates`
    the closed dates an entry was due on (missed entries are judged on those only).
    """
    findings: list[Finding] = []
    if "red_flag_symptom" in kinds:
        findings += red_flag_symptom(days)
    if "pain_flare" in kinds:
        findings += pain_flare(days, baseline_back_pain=baseline_back_pain, t=t)
    if "opioid_threshold" in kinds:
        findings += opioid_threshold(days, t=t)
    if "opioid_increase" in kinds:
        findings += opioid_increase(days, baseline_mme=baseline_mme, t=t)
    if "opioid_unconvertible" in kinds:
        findings += opioid_unconvertible(days, baseline_opioids=baseline_opioids)
    if "missed_entries" in kinds:
        entered = {d.date for d in days if d.back_pain is not None}
        findings += missed_entries(expected_dates, entered, t=t)
    return findings


# --- how a finding changes a flag, and who must hear of it -------------------------


# The peak values a finding's detail may carry, in words for the people who read them.
PEAKS = {
    "max_mme": "MME per day up to",
    "max_mean_mme": "mean MME per day up to",
    "max_back_pain": "back pain up to",
}


@dataclass(frozen=True)
class Merge:
    """A finding applied to an existing unresolved flag of its episode."""

    severity: str
    first_date: date
    last_date: date
    detail: dict[str, Any]
    gained: tuple[str, ...]  # what is new: red-flag codes, or dates beyond the flag's
    peaks: tuple[str, ...] = ()  # a peak value raised inside the flag's dates, in words


def merge(
    *,
    severity: str,
    first_date: date,
    last_date: date,
    detail: dict[str, Any],
    finding: Finding,
    again: Collection[str] = (),
) -> Merge:
    """Severity never drops while a flag is unresolved (staff must look at the level it
    reached); dates only widen; a red flag keeps every symptom its episode reported, and
    its highest temperature. `again`: red-flag codes reported again after they left the
    entry, gained even though the flag lists them."""
    new_detail = dict(finding.detail)
    gained: tuple[str, ...]
    peaks: tuple[str, ...] = ()
    if finding.kind == "red_flag_symptom":
        before = set(detail.get("symptoms", []))
        now = set(finding.detail.get("symptoms", []))
        new_detail["symptoms"] = sorted(before | now)
        gained = tuple(sorted((now - before) | (now & set(again))))
        was, is_now = detail.get("temperature_c"), finding.detail.get("temperature_c")
        if isinstance(is_now, int | float) and (not isinstance(was, int | float) or is_now > was):
            if FEVER in now & before:  # (a fever new to the flag is gained as such)
                peaks = (f"temperature up to {is_now:g} °C",)
        elif isinstance(was, int | float):
            new_detail["temperature_c"] = was  # the highest reported never drops
    else:
        # New dates, or a higher peak inside the dates (a dose corrected upward).
        gained = tuple(
            d.isoformat()
            for d in (finding.first_date, finding.last_date)
            if d < first_date or d > last_date
        )
        peaks = tuple(
            f"{PEAKS[key]} {finding.detail[key]:g}"
            for key in PEAKS
            if isinstance(finding.detail.get(key), int | float)
            and isinstance(detail.get(key), int | float)
            and finding.detail[key] > detail[key]
        )
        for key in PEAKS:  # a peak never drops while the flag is unresolved
            if isinstance(detail.get(key), int | float) and isinstance(
                new_detail.get(key), int | float
            ):
                new_detail[key] = max(detail[key], new_detail[key])
    if "added_after_acknowledgement" in detail:
        new_detail["added_after_acknowledgement"] = detail["added_after_acknowledgement"]
    return Merge(
        severity=max(severity, finding.severity, key=SEVERITY_RANK.__getitem__),
        first_date=min(first_date, finding.first_date),
        last_date=max(last_date, finding.last_date),
        detail=new_detail,
        gained=gained,
        peaks=peaks,
    )


@dataclass(frozen=True)
class Notice:
    notify: bool  # queue an urgent notice to the site now
    reopen: bool  # an acknowledged flag goes back to open (and its escalation clock restarts)


def notice(
    *, status: str | None, severity_before: str | None, merged: Merge | None, severity: str
) -> Notice:
    """What a finding asks of the people who work flags.

    status None: the finding opens a new flag. Otherwise the flag was `status`
    and `merged` is what the finding made of it. Every urgent finding reaches the
    site (a new urgent flag, one rising to urgent, one gaining a finding); an
    acknowledged flag that gains a finding or rises goes back to open. A higher peak
    inside the flag's dates (a dose corrected upward) counts once someone has
    acknowledged the flag; before that, the alert already sent is still unanswered.
    """
    if status is None:
        return Notice(severity == "urgent", False)
    gained = merged is not None and bool(merged.gained)
    peaked = merged is not None and bool(merged.peaks) and status == "acknowledged"
    rose = SEVERITY_RANK[severity] > SEVERITY_RANK[severity_before or "low"]
    notify = severity == "urgent" and (gained or rose or peaked)
    return Notice(notify, status == "acknowledged" and (gained or rose or peaked))
