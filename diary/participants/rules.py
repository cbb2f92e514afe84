"""Which injection dates are plausible (SPEC §2): pure, each answers a problem or None.

Every date is compared with the calendar bounds before any arithmetic, so an absurd
date (year 1, year 9999) is refused as a message, never reached as an overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

# No injection of this study happened before this date; anything earlier is a typo.
EARLIEST_INJECTION = date(2000, 1, 1)
# A participant enrolled long after their first injection has no diary left to keep:
# the first injection (day 0) lies at most this many days before the enrollment date.
FIRST_INJECTION_MAX_AGE_DAYS = 60


def _calendar_problem(day: date, today: date) -> str | None:
    if day < EARLIEST_INJECTION:
        return f"must be on or after {EARLIEST_INJECTION.isoformat()}"
    if day > today:
        return (
            f"must not be in the future (today is {today.isoformat()}"
            " in the participant's time zone)"
        )
    return None


def first_injection_problem(day: date, *, today: date, enrolled: date) -> str | None:
    """Day 0: not in the future, not implausibly long before enrollment."""
    problem = _calendar_problem(day, today)
    if problem:
        return problem
    if (enrolled - day).days > FIRST_INJECTION_MAX_AGE_DAYS:
        return (
            f"must be at most {FIRST_INJECTION_MAX_AGE_DAYS} days before enrollment"
            f" ({enrolled.isoformat()}): a participant enrolled later has no diary to keep"
        )
    return None


def later_injection_problem(
    day: date, *, first: date, today: date, last_diary_date: Callable[[date], date]
) -> str | None:
    """A crossover injection: after day 0, within the diary, not in the future.

    (A date equal to one already recorded is a conflict, left to the uniqueness
    constraint.)
    """
    problem = _calendar_problem(day, today)
    if problem:
        return problem
    if day < first:
        return "must not be before the first injection (day 0 is fixed)"
    last = last_diary_date(first)  # first <= day <= today: no overflow
    if day > last:
        return f"must not be after the diary's last date ({last.isoformat()})"
    return None


def corrected_first_problem(
    day: date,
    *,
    later: Sequence[date],
    today: date,
    enrolled: date,
    last_diary_date: Callable[[date], date],
) -> str | None:
    """A new date for day 0: a first injection's rules, and it stays first with every
    later injection still inside the diary it starts."""
    problem = first_injection_problem(day, today=today, enrolled=enrolled)
    if problem or not later:
        return problem
    following = min(later)
    if day > following:
        return (
            f"must be before the next injection ({following.isoformat()}):"
            " correct or void that one first"
        )
    last = last_diary_date(day)
    beyond = [d for d in later if d > last]
    if beyond:
        return (
            f"would leave the injection of {beyond[0].isoformat()} after the diary's"
            f" last date ({last.isoformat()})"
        )
    return None
