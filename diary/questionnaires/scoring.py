"""Scores of a questionnaire response, from the methods in study.toml (SPEC §13). Pure.

An item's value is its chosen option's ordinal score (choice), or the number
given (integer, decimal). With `n` items in a score, `k` of them answered and
`missing = n - k`:

- no score when `missing > max_missing` (or nothing is answered);
- `mean`: the mean of the answered values;
- `sum`: the sum prorated to all items, mean × n (the plain sum when none is missing);
- `percent_of_max`: the answered values' sum over their items' highest possible
  sum, × 100 (the Oswestry Disability Index's rule: missing items leave the
  denominator);
- `lookup`: the prorated sum rounded half up to a whole raw score, then the
  table's value for the highest raw score not above it (a PROMIS short form's
  raw score → T-score table). The study file's check makes the table cover every
  raw score the items can give, and never decrease.

Results are rounded half up to the score's `digits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..study import Score
from .instruments import Instrument, Item

NUMERIC = ("choice", "integer", "decimal")


def scored_items(score: Score, instrument: Instrument) -> list[Item]:
    """The items a score counts: those it names, or every numeric item that has a value."""
    if score.items is not None:
        return [instrument.item(link_id) for link_id in score.items]
    return [i for i in instrument.items if i.type in NUMERIC and _has_values(i)]


def item_range(item: Item) -> tuple[float, float] | None:
    """The lowest and highest value an item can give, if known."""
    if item.type == "choice":
        values = [o.score for o in item.options]
        return (min(values), max(values)) if values and None not in values else None
    if item.minimum is None or item.maximum is None:
        return None
    return float(item.minimum), float(item.maximum)


def value_of(item: Item, answer: Any) -> float | None:
    if answer is None:
        return None
    if item.type == "choice":
        option = item.option(answer)
        return option.score if option is not None else None
    if item.type in ("integer", "decimal") and not isinstance(answer, bool):
        return float(answer)
    return None


def compute(score: Score, instrument: Instrument, answers: Mapping[str, Any]) -> float | None:
    items = scored_items(score, instrument)
    values = [(item, value_of(item, answers.get(item.link_id))) for item in items]
    answered = [(item, v) for item, v in values if v is not None]
    missing = len(items) - len(answered)
    if not answered or missing > score.max_missing:
        return None
    total = sum(v for _, v in answered)
    if score.method == "mean":
        result = total / len(answered)
    elif score.method == "sum":
        result = total * len(items) / len(answered)
    elif score.method == "percent_of_max":
        highest = sum(item_range(item)[1] for item, _ in answered)
        result = 100 * total / highest if highest else 0.0
    else:  # lookup
        raw = _round(total * len(items) / len(answered), 0)
        result = lookup(score.table, raw)
        if result is None:
            return None
    return _round(result, score.digits)


def compute_all(instrument: Instrument, scores, answers: Mapping[str, Any]) -> dict[str, Any]:
    return {score.name: compute(score, instrument, answers) for score in scores}


def lookup(table, raw: float) -> float | None:
    """The value of the highest raw score in the table not above `raw` (None below it)."""
    found = None
    for row_raw, value in table:
        if row_raw > raw:
            break
        found = value
    return found


def check(score: Score, instrument: Instrument) -> str | None:
    """Why this score cannot be computed from this instrument, or None."""
    if score.items is not None:
        unknown = [link_id for link_id in score.items if instrument.item(link_id) is None]
        if unknown:
            return f"names unknown item(s): {', '.join(unknown)}"
    items = scored_items(score, instrument)
    if not items:
        return "counts no item (name numeric or scored choice items)"
    for item in items:
        if item.type not in NUMERIC:
            return f"item {item.link_id!r} is a {item.type} item and has no value"
        if item.type == "choice" and not _has_values(item):
            return f"item {item.link_id!r}: every answer option needs an ordinalValue"
        if score.method in ("percent_of_max", "lookup") and item_range(item) is None:
            return f"item {item.link_id!r} needs minValue and maxValue for a {score.method} score"
    if score.max_missing >= len(items):
        return "max_missing must be below the number of items"
    if score.method == "lookup":
        low = sum(item_range(i)[0] for i in items)
        high = sum(item_range(i)[1] for i in items)
        raws = [r for r, _ in score.table]
        if raws[0] > low or raws[-1] < high:
            return (
                f"the table must cover raw scores {_num(low)} to {_num(high)}"
                f" (it has {_num(raws[0])} to {_num(raws[-1])})"
            )
    return None


def _has_values(item: Item) -> bool:
    if item.type == "choice":
        return bool(item.options) and all(o.score is not None for o in item.options)
    return True


def _round(value: float, digits: int) -> float:
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if digits == 0 else float(rounded)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
