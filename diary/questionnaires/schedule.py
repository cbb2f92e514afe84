"""When each questionnaire is due for a participant (SPEC §13). Pure.

A schedule's offsets count days from its anchor:

- `first_injection`: day 0 of the diary;
- `each_injection`: every injection starts the series again, and a series
  stops at the next injection (the placebo arm's crossover at month 6 restarts
  the follow-up questionnaires);
- `enrollment`: the participant's local date of enrollment.

An occurrence's window runs from the start of the local date
`due - window_before_days` to the end of the local date
`due + window_after_days`, in the participant's zone: the instants move with
DST, the dates do not. A participant who left the study (withdrawn or
completed) is due nothing whose window opens after they left, and nobody is
due what closed before they were enrolled (day 0 may be weeks before).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .. import clock
from ..study import QuestionnaireSchedule


@dataclass(frozen=True)
class Due:
    instrument: str
    anchor: str
    series: int  # which injection's series (each_injection); 0 otherwise
    anchor_date: date
    offset_days: int
    due_date: date
    window_opens: datetime
    window_closes: datetime

    @property
    def key(self) -> tuple[str, str, int, int]:
        """Its place in the schedule: the same occurrence whatever its dates become."""
        return (self.instrument, self.anchor, self.series, self.offset_days)


def occurrences(
    schedules: Iterable[QuestionnaireSchedule],
    *,
    injections: Sequence[date],
    enrolled_on: date,
    tz: str,
    ended_at: datetime | None = None,
    enrolled_at: datetime | None = None,
) -> list[Due]:
    """Every occurrence the schedules give this participant, in due-date order."""
    out: list[Due] = []
    injections = sorted(injections)
    for schedule in schedules:
        for series, (anchor_date, stop) in enumerate(
            _anchors(schedule.anchor, injections, enrolled_on)
        ):
            for offset in schedule.days():
                due = anchor_date + timedelta(days=offset)
                if stop is not None and due >= stop:
                    break
                opens = clock.day_start(due - timedelta(days=schedule.window_before_days), tz)
                if ended_at is not None and opens > ended_at:
                    break
                closes = clock.day_end(due + timedelta(days=schedule.window_after_days), tz)
                if enrolled_at is not None and closes <= enrolled_at:
                    continue
                out.append(
                    Due(
                        schedule.instrument,
                        schedule.anchor,
                        series,
                        anchor_date,
                        offset,
                        due,
                        opens,
                        closes,
                    )
                )
    return sorted(out, key=lambda d: (d.due_date, d.instrument, d.anchor, d.anchor_date))


def _anchors(
    anchor: str, injections: Sequence[date], enrolled_on: date
) -> list[tuple[date, date | None]]:
    """Each series' anchor date, and the date at which the series stops (None: never)."""
    if anchor == "enrollment":
        return [(enrolled_on, None)]
    if not injections:
        return []
    if anchor == "first_injection":
        return [(injections[0], None)]
    return [
        (day, injections[i + 1] if i + 1 < len(injections) else None)
        for i, day in enumerate(injections)
    ]
