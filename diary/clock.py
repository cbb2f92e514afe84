"""The one seam for time: aware UTC instants and participants' local diary dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone
from importlib.resources import files
from zoneinfo import ZoneInfo

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


# Every date the diary takes in (API, URL, command line) lies in these years: a
# date at the edge of the calendar would overflow the first day added to it.
FIRST_YEAR, LAST_YEAR = 2000, 2100
DATE_RULE = f"must be a date as YYYY-MM-DD, from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"


def parse_date(text: str, *, bounded: bool = True) -> date | None:
    """A calendar date written exactly YYYY-MM-DD (in FIRST_YEAR–LAST_YEAR unless not
    `bounded`), or None (no other form, no 2025-02-30)."""
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
        return None  # also refuses what fromisoformat would take: 2025-W01-1, 20250101
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if not bounded or FIRST_YEAR <= day.year <= LAST_YEAR else None


# An instant as the diary takes one in (a phone's device time, `run-jobs --at`): the
# extended ISO 8601 form with seconds optional, a fraction of up to six digits and a
# UTC offset (Z or ±HH:MM, never more than 14 hours: no zone is further from UTC), in
# the years of the date rule, so that it always converts to UTC.
_ISO_INSTANT = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>[0-9]{2}):(?P<off_m>[0-9]{2}))"
)
MAX_OFFSET = timedelta(hours=14)
INSTANT_RULE = (
    "must be a date and time with its UTC offset, e.g. 2026-11-26T20:15:00-06:00,"
    f" from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31 (offset at most ±14:00)"
)


def parse_instant(text: str) -> datetime | None:
    """An aware instant written as _ISO_INSTANT describes, or None (no week date, no
    basic form, no bare local time, no year outside FIRST_YEAR–LAST_YEAR)."""
    match = _ISO_INSTANT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    day = parse_date(match["date"])
    if day is None:
        return None
    offset = timedelta(0)
    if not match["utc"]:
        offset = timedelta(hours=int(match["off_h"]), minutes=int(match["off_m"]))
        if int(match["off_m"]) > 59 or offset > MAX_OFFSET:
            return None
        offset = -offset if match["sign"] == "-" else offset
    try:
        at = time(
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int((match["fraction"] or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    return datetime.combine(day, at, tzinfo=timezone(offset))


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo for a name of the IANA database, raising ValueError for unknown names.
    Stored values may be an alias written before input took canonical names only."""
    if not is_known_zone(name):
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


_KNOWN: frozenset[str] | None = None
_CANONICAL: frozenset[str] | None = None
_LINKS: dict[str, str] | None = None


def _tzdata_zones() -> tuple[frozenset[str], frozenset[str]]:
    """(every name tzdata holds, the canonical ones): the zones its zone1970.tab and
    zone.tab list (one name per place, as time zone pickers offer them), plus UTC."""
    global _KNOWN, _CANONICAL
    if _KNOWN is None or _CANONICAL is None:
        data = files("tzdata")
        _KNOWN = frozenset(data.joinpath("zones").read_text("utf-8").split()) - {"Factory"}
        listed = {"UTC", "Etc/UTC"}
        for table in ("zone1970.tab", "zone.tab"):
            for line in data.joinpath("zoneinfo", table).read_text("utf-8").splitlines():
                if line and not line.startswith("#"):
                    listed.add(line.split("\t")[2])
        _CANONICAL = frozenset(listed) & _KNOWN
    return _KNOWN, _CANONICAL


def is_known_zone(name: str) -> bool:
    """True for any name of the IANA time zone database as the tzdata package lists it,
    backward links such as US/Central included (for reading stored values), never a
    system file such as 'localtime', 'posixrules', 'posix/…' or 'right/…', nor
    'Factory'."""
    return isinstance(name, str) and name in _tzdata_zones()[0]


def canonical_zone(name: str) -> str | None:
    """The canonical zone an alias links to in tzdata (US/Central → America/Chicago,
    Asia/Calcutta → Asia/Kolkata), so that a refusal can say what to write; None when
    there is none."""
    global _LINKS
    if _LINKS is None:
        text = files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
        _LINKS = {
            parts[2]: parts[1]
            for parts in (line.split() for line in text.splitlines())
            if len(parts) == 3 and parts[0] == "L"
        }
    target = _LINKS.get(name) if isinstance(name, str) else None
    return target if target and is_valid_zone(target) else None


def is_valid_zone(name: str) -> bool:
    """True for a canonical IANA zone name, the only kind the diary takes in (API, CLI,
    study file): America/Chicago, Europe/Kyiv, UTC — not an alias such as US/Central,
    EST5EDT, Etc/GMT+6 or Asia/Calcutta, which name the same rules under another name."""
    return isinstance(name, str) and name in _tzdata_zones()[1]


def _tab(name: str) -> list[list[str]]:
    text = files("tzdata").joinpath("zoneinfo", name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


_CHOICES: list[dict] | None = None


def zone_choices() -> list[dict]:
    """Every canonical zone, as a person picks one: by country or region (named as in
    tzdata's iso3166.tab, sorted by name), then by city, with zone.tab's note on which
    part of the country a zone covers ("Central (most areas)"); UTC last, on its own.
    The same names is_valid_zone takes, and no others."""
    global _CHOICES
    if _CHOICES is None:
        names = {row[0]: row[1] for row in _tab("iso3166.tab")}
        names.update({code: code for code in {row[0] for row in _tab("zone.tab")} - names.keys()})
        canonical = _tzdata_zones()[1]
        countries: dict[str, list[dict]] = {}
        # zone.tab names each zone under the one country it is in (zone1970.tab merges
        # countries that share rules since 1970: Oslo's row there is Berlin's).
        for row in _tab("zone.tab"):
            if row[2] in canonical:
                city = row[2].rsplit("/", 1)[-1].replace("_", " ")
                area = row[3] if len(row) > 3 and row[3] else None
                countries.setdefault(row[0], []).append(
                    {"zone": row[2], "city": city, "area": area}
                )
        placed = {z["zone"] for zones in countries.values() for z in zones}
        _CHOICES = [
            {"country": code, "name": names.get(code, code), "zones": zones}
            for code, zones in sorted(countries.items(), key=lambda c: _sort_key(names[c[0]]))
        ]
        rest = sorted(canonical - placed - {"Etc/UTC", "UTC"})
        if rest:  # none in tzdata today; offered by name should a release add one
            _CHOICES.append(
                {
                    "country": None,
                    "name": "Other time zones",
                    "zones": [{"zone": z, "city": z, "area": None} for z in rest],
                }
            )
        _CHOICES.append(
            {
                "country": None,
                "name": "Coordinated Universal Time (UTC)",
                "zones": [{"zone": "UTC", "city": "UTC", "area": None}],
            }
        )
    return _CHOICES


def _sort_key(name: str) -> str:
    """Åland Islands among the A's, Réunion among the R's."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def canonical_or_none(name: str) -> str | None:
    """`name` if canonical, else the canonical zone an alias stands for (what a phone
    reports may be Asia/Calcutta), else None."""
    return name if is_valid_zone(name) else canonical_zone(name)


def zone_problem(name: str) -> str:
    """Why `name` is not taken as a time zone, naming the canonical zone of an alias."""
    target = canonical_zone(name)
    if target:
        return f"must be a canonical IANA time zone name: {name} is an old name of {target}"
    return "must be a canonical IANA time zone name (e.g. America/Chicago, not US/Central)"


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
