"""Staff accounts and the sites they work at."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlite_utils import Database

from .. import audit, clock
from ..audit import access_log
from ..db import transaction
from ..errors import APIError
from . import queries, throttle, totp
from .passwords import UNUSABLE, hash_password, verify_password


def create_staff(
    db: Database,
    *,
    actor: audit.Actor,
    email: str,
    role: str,
    password: str | None,
    site_codes: Iterable[str],
    default_timezone: str,
    now: datetime,
    full_name: str | None = None,
    reason: str | None = None,
) -> int:
    """Create a staff account; sites named that do not exist yet are created.
    `full_name` (2–120 characters) is printed with the person's signatures; `reason`
    (why the account is made) goes to the audit trail."""
    if full_name is not None:
        full_name = " ".join(full_name.split())
        if not 2 <= len(full_name) <= 120:
            raise APIError(
                422,
                "The full name needs 2 to 120 characters.",
                fields={"full_name": ["2–120 characters"]},
            )
    # slow: before the write lock is taken. No password: an invitation will set it.
    password_hash = UNUSABLE if password is None else hash_password(password)
    with transaction(db):
        if queries.staff_by_email(db, email):
            raise APIError(409, f"Staff {email} already exists.", fields={"email": ["exists"]})
        sites = []
        for code in site_codes:
            site, created = queries.ensure_site(db, code, default_timezone, now=now)
            if created:
                audit.record(
                    db,
                    actor=actor,
                    action="site.create",
                    object_type="site",
                    object_id=code,
                    site_id=site["id"],
                    after={"code": code, "timezone": site["timezone"]},
                    at=now,
                )
            sites.append(site)
        staff_id = queries.insert_staff(
            db, email=email, password_hash=password_hash, role=role, now=now, full_name=full_name
        )
        db.execute(
            f"UPDATE staff SET {'invited_at' if password is None else 'password_changed_at'} = ?"
            " WHERE id = ?",
            [clock.iso(now), staff_id],
        )
        for site in sites:
            queries.add_staff_site(db, staff_id, site["id"])
        audit.record(
            db,
            actor=actor,
            action="staff.create",
            object_type="staff",
            object_id=staff_id,
            after={
                "email": email,
                "full_name": full_name,
                "role": role,
                "sites": [s["code"] for s in sites],
            },
            reason=reason,
            at=now,
        )
    return staff_id


def second_factor_required(staff: dict, required_roles: frozenset[str]) -> bool:
    """Whether this account must use a second factor it has not set up yet."""
    return staff["role"] in required_roles and not staff["totp_enabled_at"]


def check_password(
    db: Database,
    staff: dict | None,
    password: str,
    *,
    email: str,
    client: str,
    limits: throttle.Limits,
    now: datetime,
    purpose: str = "sign_in",
    otp: str | None = None,
    secret_key: str = "",
    trusted_device: bool = False,
    device_signed_in_at: datetime | None = None,
    second_factor_failures: int = 10,
) -> str | None:
    """A staff member's password (and, once they have set it up, their second factor),
    checked through the sign-in throttle, whether typed to sign in, to sign a record or
    to change the password. Unknown, inactive and wrong all answer the same 401 after
    the same work; a throttled check answers 429 for any e-mail. A right password
    without its code answers 401 `otp_required`; a wrong code 401 `wrong_otp`.

    `trusted_device`: this browser signed in to the account before (its device cookie,
    signed in at `device_signed_in_at`); signing and changing the password come from a
    live session of the account and are trusted too.

    Returns the second factor used ('totp', 'recovery') or None (no second factor)."""
    known = staff is not None and bool(staff["active"])
    two_step = purpose != "password_change" and known and bool(staff["totp_enabled_at"])
    trusted = trusted_device or purpose != "sign_in"
    used: dict[str, str | None] = {}

    def check() -> bool | str:
        if not verify_password(staff["password_hash"] if known else None, password):
            used["failed"] = "password"
            return False
        if not two_step:
            return True
        if not otp:
            used["failed"] = "otp_missing"
            return throttle.PARTIAL
        if (
            not _spared_from_pause(staff, purpose, device_signed_in_at)
            and _second_factor_failures(db, staff["id"], now) >= second_factor_failures
        ):
            used["failed"] = "otp_paused"
            return False
        used["factor"] = totp.verify(db, staff, otp, secret_key=secret_key, now=now)
        if used["factor"] is None:
            used["failed"] = "otp"
            return False
        return True

    try:
        outcome = throttle.checked(
            db,
            account=email,
            client=client,
            purpose=purpose,
            limits=limits,
            now=now,
            check=check,
            trusted_device=trusted,
        )
    except APIError as refused:
        if refused.status == 429 and purpose == "sign_in":
            _log_throttled(db, client=client, account=email, now=now)
        raise
    if outcome is True:
        if used.get("factor") == "recovery":
            access_log.record(
                db,
                event="recovery_code_used",
                now=now,
                client=client,
                staff_id=staff["id"],
                account=email,
            )
        return used.get("factor")
    failed = used.get("failed")
    if failed == "otp_missing":
        raise APIError(
            401,
            "Enter the 6-digit code from your authenticator app (or one of your recovery codes).",
            code="otp_required",
            fields={"otp": ["the code from your authenticator app"]},
        )
    if purpose == "sign_in" or failed in ("otp", "otp_paused"):
        access_log.record(
            db,
            event="second_factor_failed" if failed in ("otp", "otp_paused") else "sign_in_failed",
            now=now,
            client=client,
            staff_id=staff["id"] if known else None,
            account=email,
            object=purpose,
        )
    if known:
        with transaction(db):
            audit.record(
                db,
                actor=audit.Actor("staff", str(staff["id"]), staff["email"]),
                action={
                    "sign_in": "staff.login_failed",
                    "signature": "signature.failed_password",
                    "password_change": "staff.password_change_failed",
                }[purpose],
                object_type="staff",
                object_id=staff["id"],
                after={"client": client, "failed": failed},
                at=now,
            )
    if failed == "otp_paused":
        raise APIError(
            429,
            "Too many wrong codes for this account: codes are not checked from a browser new"
            " to it for up to 24 hours. Sign in on a computer or phone you used before, or ask"
            " your study's administrator for help.",
            code="second_factor_paused",
        )
    if failed == "otp":
        raise APIError(
            401,
            "That code is not right, or was used already. Wait for the next code and try again.",
            code="wrong_otp",
            fields={"otp": ["not right, or used already"]},
        )
    if purpose == "sign_in":
        raise APIError(401, "Wrong e-mail or password.")
    if purpose == "password_change":
        raise APIError(
            401,
            "Your current password is not right: nothing was changed.",
            code="wrong_password",
            fields={"current_password": ["not right"]},
        )
    # Signed in, but the password typed to sign was wrong: not a session that ended.
    raise APIError(401, "Wrong password: nothing was signed.", code="wrong_password")


# Wrong second-factor codes are counted per account since its last sign-in, over a day:
# only someone who knows the password can make them, so past the limit code checks
# stop (NIST SP 800-63B 5.2.2) instead of letting a botnet guess on — but not for the
# account's owner: a live session, or a browser that signed in to the account with its
# second factor, still has its code checked. Whoever guesses cannot lock them out.
SECOND_FACTOR_WINDOW = timedelta(hours=24)


def _spared_from_pause(staff: dict, purpose: str, device_signed_in_at: datetime | None) -> bool:
    """Whether this check comes from the account's owner: a live session of the account,
    or a browser whose last sign-in to it came after the second factor was turned on (a
    browser that signed in with the password alone — perhaps the one that made the
    owner turn it on — is not)."""
    if purpose != "sign_in":
        return True
    if device_signed_in_at is None:
        return False
    enabled = clock.parse_iso(staff["totp_enabled_at"]).replace(microsecond=0)
    return device_signed_in_at >= enabled


def _second_factor_failures(db: Database, staff_id: int, now: datetime) -> int:
    return db.execute(
        "SELECT count(*) FROM access_log WHERE staff_id = ? AND event = 'second_factor_failed'"
        " AND at > ? AND id > (SELECT coalesce(max(id), 0) FROM access_log"
        " WHERE staff_id = ? AND event = 'sign_in')",
        [staff_id, clock.iso(now - SECOND_FACTOR_WINDOW), staff_id],
    ).fetchone()[0]


def _log_throttled(db: Database, *, client: str, account: str, now: datetime) -> None:
    """A refused (throttled) sign-in, in the access log once a minute per address: a
    spray being refused is visible, and cannot flood the log."""
    recent = db.execute(
        "SELECT 1 FROM access_log WHERE event = 'sign_in_failed' AND object = 'throttled'"
        " AND client = ? AND at > ? LIMIT 1",
        [client[:64], clock.iso(now - timedelta(minutes=1))],
    ).fetchone()
    if recent is None:
        access_log.record(
            db, event="sign_in_failed", now=now, client=client, account=account, object="throttled"
        )
