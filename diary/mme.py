"""Daily morphine milligram equivalents (SPEC §5): pure, no Flask, no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# CDC 2022 clinical practice guideline conversion factors, except dihydrocodeine, which
# that table lacks (0.25 is from CDC's older oral MME conversion file; study.toml names
# each factor's source). fentanyl_patch is per mcg/hr worn for one day; buprenorphine
# has no factor, so it is reported rather than counted as 0.
DEFAULT_FACTORS: dict[str, float | None] = {
    "codeine": 0.15,
    "dihydrocodeine": 0.25,
    "fentanyl_patch": 2.4,
    "hydrocodone": 1,
    "hydromorphone": 5,
    "methadone": 4.7,
    "morphine": 1,
    "oxycodone": 1.5,
    "oxymorphone": 3,
    "tapentadol": 0.4,
    "tramadol": 0.2,
    "buprenorphine": None,
}

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Dose:
    """One drug taken on a diary date: strength per unit × number of units."""

    drug: str
    strength: float
    units: float


@dataclass(frozen=True)
class MMEResult:
    """A day's MME and the drugs that could not be converted."""

    mme: float | None
    unconverted: tuple[str, ...]

    @property
    def incomplete(self) -> bool:
        """True when some dose's drug has no conversion factor."""
        return bool(self.unconverted)


def _dec(value: float) -> Decimal:
    # Through str() so that 0.15 is 0.15, not its binary approximation.
    return Decimal(str(value))


def daily_mme(doses: Iterable[Dose], factors: Mapping[str, float | None]) -> MMEResult:
    """Sum strength × units × factor over the day's doses, rounded to 2 decimals."""
    total = Decimal(0)
    converted = 0
    unconverted: set[str] = set()
    seen_any = False
    for dose in doses:
        seen_any = True
        # Indexing (not .get) on purpose: drugs are validated at the API, so a miss is a bug.
        factor = factors[dose.drug]
        if factor is None:
            unconverted.add(dose.drug)
            continue
        total += _dec(dose.strength) * _dec(dose.units) * _dec(factor)
        converted += 1
    if seen_any and not converted:
        # Doses were taken but none convertible: the MME is unknown, not zero.
        mme = None
    else:
        mme = float(total.quantize(_CENT, rounding=ROUND_HALF_UP))
    return MMEResult(mme=mme, unconverted=tuple(sorted(unconverted)))
