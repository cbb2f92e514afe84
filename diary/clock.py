"""The one seam for time: aware UTC instants and participants' local diary dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# What a phone writes offline inside its window (a diary entry, a questionnaire) is
# accepted when it syncs later, up to this long after it was made: losing it to a
# dead zone is worse than a late sync, and the receipt time stays on record next to
# the device time.
MAX_OFFLINE = timedelta(days=7)
# How far a device's clock may run ahead of the server's, or before the thing it
# dates began, and still be believed: phones keep network time to within seconds,
# so minutes more mean a clock set by hand, and the time it claims cannot be trusted.
CLOCK_SKEW = timedelta(minutes=5)


def now() -> datetime:
    """The current instant, aware, in UTC (tests travel with time-machine)."""
    return datetime.now(UTC)


def iso(instant: datetime) -> str:
    """Aware instant → UTC ISO 8601 text as stored in the database."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are never stored")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """Stored UTC text → aware datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"naive timestamp in the database: {text!r}")
    return value.astimezone(UTC)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str) -> date | None:
    """A calendar date written exactly YYYY-MM-DD, or None (no other form, no 2025-02-30)."""
    if not _ISO_DATE.fullmatch(text):
        return None  # also refuses what fromisoformat would take: 2025-W01-1, 20250101
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo for an IANA name, raising ValueError for unknown names."""
    if not is_valid_zone(name):
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


_ZONES: frozenset[str] | None = None


def is_valid_zone(name: str) -> bool:
    """True for a canonical IANA zone name (not a path, not 'localtime')."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if name in _ZONES:
        return True
    try:  # links such as "US/Central" resolve but are not listed everywhere
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return "/" in name and not name.startswith(("/", ".")) and ".." not in name


def local_date(instant: datetime, tz: str) -> date:
    """The diary date that `instant` falls on in zone `tz`."""
    return instant.astimezone(zone(tz)).date()


def local_instant(day: date, at: time, tz: str) -> datetime:
    """The aware UTC instant of wall-clock `at` on `day` in zone `tz`.

    A wall time skipped by a spring-forward change lands after the gap (02:30 →
    03:30), as cron does; an ambiguous one (fall back) takes its first occurrence.
    """
    return datetime.combine(day, at).replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def day_start(day: date, tz: str) -> datetime:
    """The instant the local date `day` begins in `tz` (UTC)."""
    return local_instant(day, time(0, 0), tz)


def day_end(day: date, tz: str) -> datetime:
    """The instant the local date `day` ends in `tz` (UTC): the next day's start."""
    return day_start(day + timedelta(days=1), tz)


def last_closed_date(instant: datetime, tz: str, closes_at: time) -> date:
    """The latest local date in `tz` whose entry window (closing at `closes_at` on the
    next local day) has closed at `instant`."""
    today = local_date(instant, tz)
    if instant >= local_instant(today, closes_at, tz):
        return today - timedelta(days=1)
    return today - timedelta(days=2)
