"""Staff sign-in throttling (SPEC §15) that protects without locking anyone out.

Every password check (to sign in, or to sign a record) is first reserved as a
'pending' attempt inside a write transaction, after counting the failures of the
window; parallel requests queue on the write lock, so no more checks run than the
limits allow. Four limits, each over the last `window`:

- one client address: `per_address` failures across all accounts (a password
  spray from one place is refused);
- one account from one address: `per_account_at_address` failures since that
  address last signed in to it (a cool-down for that address only);
- one account from everywhere: past `per_account` failures since the account's
  last success, its checks are slowed to one per `slowed_interval` (a botnet
  cannot guess quickly, and the owner still signs in from a fresh address);
- everything: past `global_failures` failures across all addresses and accounts (a
  spray spread over a botnet, each address and account under its own limit), checks
  are refused until the window's failures fall under the ceiling.

A browser that signed in to the account before (a signed device cookie), and a live
session of the account (signing, changing the password), is held by neither the
account-wide slow-down nor the global ceiling: an attack cannot take its owner's turn.

Keys are the e-mail as typed, lower-cased, whether or not the account exists, and a
throttled answer is the same 429 for every e-mail: the answers never tell whether
an account exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlite_utils import Database

from .. import clock
from ..db import transaction
from ..errors import APIError

# Attempts are kept this long (the access record of who tried to sign in, when).
KEEP = timedelta(days=30)
# Failed checks across every address and account in the window, when the configuration
# does not set STAFF_FAILURES_GLOBAL: far above a site team's typing errors.
GLOBAL_FAILURES = 100
# The outcome of a right password still waiting for its second factor.
PARTIAL = "partial"


@dataclass(frozen=True)
class Limits:
    window: timedelta
    per_address: int
    per_account_at_address: int
    per_account: int
    slowed_interval: timedelta
    global_failures: int = GLOBAL_FAILURES

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            window=config["STAFF_THROTTLE_WINDOW"],
            per_address=config["STAFF_FAILURES_PER_ADDRESS"],
            per_account_at_address=config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"],
            per_account=config["STAFF_FAILURES_PER_ACCOUNT"],
            slowed_interval=config["STAFF_SLOWED_INTERVAL"],
            global_failures=config.get("STAFF_FAILURES_GLOBAL", GLOBAL_FAILURES),
        )


def _throttled(wait: timedelta) -> APIError:
    seconds = max(1, math.ceil(wait.total_seconds()))
    when = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return APIError(
        429,
        f"Too many sign-in attempts. Try again in {when}.",
        code="too_many_attempts",
        headers={"Retry-After": str(seconds)},
    )


def _failures(
    db: Database, where: str, params: list[Any], since: str, after_id: int = 0
) -> tuple[int, str | None]:
    """Failed (or still pending) checks matching `where` in the window and after the
    attempt `after_id` (ids order attempts even when they share an instant)."""
    row = db.execute(
        f"SELECT count(*), min(at) FROM signin_attempts WHERE {where}"  # noqa: S608
        " AND outcome IN ('pending', 'failed') AND at > ? AND id > ?",
        [*params, since, after_id],
    ).fetchone()
    return row[0], row[1]


def _last_success(db: Database, where: str, params: list[Any]) -> int:
    return db.execute(
        f"SELECT coalesce(max(id), 0) FROM signin_attempts WHERE {where}"  # noqa: S608
        " AND outcome = 'success'",
        params,
    ).fetchone()[0]


def _over_global_ceiling(
    db: Database, limits: Limits, window_start: str, now: datetime
) -> timedelta | None:
    """How long until the failures of the window fall under the global ceiling (None
    when under it already)."""
    count = db.execute(
        "SELECT count(*) FROM signin_attempts WHERE outcome IN ('pending', 'failed') AND at > ?",
        [window_start],
    ).fetchone()[0]
    if count < limits.global_failures:
        return None
    # Trusted devices may have failed past the ceiling: wait for the one that brings
    # the count back under it to leave the window.
    leaving = db.execute(
        "SELECT at FROM signin_attempts WHERE outcome IN ('pending', 'failed') AND at > ?"
        " ORDER BY at, id LIMIT 1 OFFSET ?",
        [window_start, count - limits.global_failures],
    ).fetchone()[0]
    return clock.parse_iso(leaving) + limits.window - now


def reserve(
    db: Database,
    *,
    account: str,
    client: str,
    purpose: str,
    limits: Limits,
    now: datetime,
    trusted_device: bool = False,
) -> int:
    """Count, decide and reserve one password check; 429 (same for every e-mail) if over.
    A trusted device (a browser the account signed in from before, or a live session)
    is not held by the account-wide slow-down nor the global ceiling: a botnet
    hammering the account, or every account, cannot take its owner's turn."""
    account = account.strip().lower()
    stamp = clock.iso(now)
    window_start = clock.iso(now - limits.window)
    with transaction(db):
        count, oldest = _failures(db, "client_key = ?", [client], window_start)
        if count >= limits.per_address:
            raise _throttled(clock.parse_iso(oldest) + limits.window - now)
        pair = "client_key = ? AND account_key = ?"
        since = _last_success(db, pair, [client, account])
        count, oldest = _failures(db, pair, [client, account], window_start, since)
        if count >= limits.per_account_at_address:
            raise _throttled(clock.parse_iso(oldest) + limits.window - now)
        since = _last_success(db, "account_key = ?", [account])
        count, _ = _failures(db, "account_key = ?", [account], window_start, since)
        if count >= limits.per_account and not trusted_device:
            # A right password waiting for its code is no guess: the code may follow at once.
            last = db.execute(
                "SELECT max(at) FROM signin_attempts WHERE account_key = ? AND outcome != ?",
                [account, PARTIAL],
            ).fetchone()[0]
            wait = clock.parse_iso(last) + limits.slowed_interval - now if last else None
            if wait is not None and wait > timedelta(0):
                raise _throttled(wait)
        if not trusted_device:
            wait = _over_global_ceiling(db, limits, window_start, now)
            if wait is not None:
                raise _throttled(wait)
        attempt_id = db.execute(
            "INSERT INTO signin_attempts (at, client_key, account_key, purpose)"
            " VALUES (?, ?, ?, ?)",
            [stamp, client, account, purpose],
        ).lastrowid
        db.execute("DELETE FROM signin_attempts WHERE at < ?", [clock.iso(now - KEEP)])
    return attempt_id


def settle(db: Database, attempt_id: int, *, outcome: bool | str) -> None:
    value = PARTIAL if outcome == PARTIAL else "success" if outcome is True else "failed"
    with transaction(db):
        db.execute("UPDATE signin_attempts SET outcome = ? WHERE id = ?", [value, attempt_id])


def checked(
    db: Database,
    *,
    account: str,
    client: str,
    purpose: str,
    limits: Limits,
    now: datetime,
    check: Callable[[], bool | str],
    trusted_device: bool = False,
) -> bool | str:
    """Reserve an attempt, run the (slow) password check outside any transaction, and
    record its outcome; a check that raises counts as a failure. A check may answer
    PARTIAL (a right password still waiting for its second factor): that neither
    counts as a failure nor resets the counters a success resets."""
    attempt_id = reserve(
        db,
        account=account,
        client=client,
        purpose=purpose,
        limits=limits,
        now=now,
        trusted_device=trusted_device,
    )
    outcome: bool | str = False
    try:
        outcome = check()
    finally:
        settle(db, attempt_id, outcome=outcome)
    return outcome


# --- trusted devices ---------------------------------------------------------------

DEVICE_LIFETIME = timedelta(days=90)
_DEVICE_SALT = "diary-staff-device"


def device_token(secret_key: str, account: str) -> str:
    """What the device cookie holds after a sign-in: the account, signed."""
    return URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT).dumps(account.strip().lower())


def device_signed_in_at(secret_key: str, account: str, token: str | None) -> datetime | None:
    """When this browser last signed in to `account` (to the second), from its device
    cookie; None when the cookie is missing, forged, too old or another account's."""
    if not token or len(token) > 500:
        return None
    try:
        value, signed_at = URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT).loads(
            token, max_age=int(DEVICE_LIFETIME.total_seconds()), return_timestamp=True
        )
    except BadData:
        return None
    return signed_at if value == account.strip().lower() else None


def is_trusted_device(secret_key: str, account: str, token: str | None) -> bool:
    return device_signed_in_at(secret_key, account, token) is not None
