"""Flag rules (SPEC §6): pure functions from diary days to findings, one per episode."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds; defaults are SPEC §6, the protocol file may override each."""

    flare_abs_increase: float = 2
    flare_pct_increase: float = 30
    flare_consecutive: int = 2
    flare_absolute: int = 9
    mme_high: float = 50
    mme_urgent: float = 90
    increase_window_days: int = 3
    increase_abs: float = 10
    increase_pct: float = 50
    missed_high_streak: int = 3
    fever_c: float = 38.0


@dataclass(frozen=True)
class DayRecord:
    """One closed diary date: back_pain None means no entry, mme None means unknown."""

    date: date
    back_pain: int | None
    mme: float | None


@dataclass(frozen=True)
class Finding:
    """One episode a rule found; detail holds only JSON-serialisable values."""

    kind: str
    severity: str
    first_date: date
    last_date: date
    detail: dict[str, Any]


def _dec(value: float) -> Decimal:
    # Exact decimal arithmetic so that a value exactly at a threshold is not lost to float noise.
    return Decimal(str(value))


def _raised(value: Decimal, baseline: float, abs_increase: float, pct_increase: float) -> bool:
    """True when value is both abs_increase above and pct_increase % above the baseline."""
    base = _dec(baseline)
    return value >= base + _dec(abs_increase) and value * 100 >= base * (100 + _dec(pct_increase))


def _runs(dates: Iterable[date]) -> list[list[date]]:
    """Group dates into maximal runs of consecutive calendar dates."""
    runs: list[list[date]] = []
    for day in sorted(set(dates)):
        if runs and day - runs[-1][-1] == _ONE_DAY:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _entered(days: Sequence[DayRecord]) -> dict[date, DayRecord]:
    return {d.date: d for d in days if d.back_pain is not None}


def pain_flare(
    days: Sequence[DayRecord], *, baseline_back_pain: float, t: Thresholds
) -> list[Finding]:
    """Back pain ≥ the absolute ceiling, or raised on enough consecutive entries."""
    qualifying: set[date] = set()
    streak: list[date] = []
    previous: date | None = None
    for day in days:
        if day.back_pain is None:
            continue
        if day.back_pain >= t.flare_absolute:
            qualifying.add(day.date)
        elevated = _raised(
            _dec(day.back_pain), baseline_back_pain, t.flare_abs_increase, t.flare_pct_increase
        )
        # A missing day (no entry) between two elevated entries breaks the run.
        if not elevated or previous is None or day.date - previous != _ONE_DAY:
            streak = []
        if elevated:
            streak.append(day.date)
            if len(streak) >= t.flare_consecutive:
                qualifying.update(streak)
        previous = day.date

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
        for run in _runs(qualifying)
    ]


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
    """Mean MME over a full window of entries raised above the baseline."""
    entered = _entered(days)
    window = t.increase_window_days
    means: dict[date, Decimal] = {}  # window end date → mean, for qualifying windows only
    for end in sorted(entered):
        dates = [end - timedelta(days=i) for i in range(window - 1, -1, -1)]
        records = [entered.get(d) for d in dates]
        # A window with a missing day or an unconvertible day says nothing about the trend.
        if any(r is None or r.mme is None for r in records):
            continue
        mean = sum((_dec(r.mme) for r in records), Decimal(0)) / window
        if _raised(mean, baseline_mme, t.increase_abs, t.increase_pct):
            means[end] = mean

    covered = {end - timedelta(days=i) for end in means for i in range(window)}
    return [
        Finding(
            kind="opioid_increase",
            severity="high",
            first_date=run[0],
            last_date=run[-1],
            detail={
                "baseline_mme": baseline_mme,
                "max_mean_mme": round(float(max(means[d] for d in run if d in means)), 2),
            },
        )
        for run in _runs(covered)
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
    return [
        Finding(
            kind="missed_entries",
            severity="high" if len(run) >= t.missed_high_streak else "low",
            first_date=run[0],
            last_date=run[-1],
            detail={"count": len(run), "dates": [d.isoformat() for d in run]},
        )
        for run in runs
    ]


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
        codes.add("fever")
    return sorted(codes)
