"""Staff accounts and the sites they work at."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..errors import APIError
from . import queries
from .passwords import hash_password, verify_password


def create_staff(
    db: Database,
    *,
    actor: audit.Actor,
    email: str,
    role: str,
    password: str,
    site_codes: Iterable[str],
    default_timezone: str,
    now: datetime,
    full_name: str | None = None,
) -> int:
    """Create a staff account; sites named that do not exist yet are created.
    `full_name` (2–120 characters) is printed with the person's signatures."""
    if full_name is not None:
        full_name = " ".join(full_name.split())
        if not 2 <= len(full_name) <= 120:
            raise APIError(
                422,
                "The full name needs 2 to 120 characters.",
                fields={"full_name": ["2–120 characters"]},
            )
    password_hash = hash_password(password)  # slow: before the write lock is taken
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
            at=now,
        )
    return staff_id


def check_password(
    db: Database,
    staff: dict,
    password: str,
    *,
    failures_to_lock: int,
    lock_for: timedelta,
    now: datetime,
    action: str = "staff.login_failed",
) -> None:
    """The account's password, checked the way sign-in checks it: a locked account is
    refused (403 `account_locked`), and a wrong password counts toward the lock (401),
    whether it was typed to sign in or to sign a record."""
    if staff["locked_until"] and clock.parse_iso(staff["locked_until"]) > now:
        raise locked_error(clock.parse_iso(staff["locked_until"]), now)
    if verify_password(staff["password_hash"], password):
        return
    actor = audit.Actor("staff", str(staff["id"]), staff["email"])
    with transaction(db):
        result = queries.record_login_failure(
            db, staff["id"], failures_to_lock=failures_to_lock, lock_for=lock_for, now=now
        )
        audit.record(
            db,
            actor=actor,
            action=action,
            object_type="staff",
            object_id=staff["id"],
            after=result,
            at=now,
        )
    if result["locked_until"]:
        raise locked_error(clock.parse_iso(result["locked_until"]), now)
    if action == "staff.login_failed":
        raise APIError(401, "Wrong e-mail or password.")
    # Signed in, but the password typed to sign was wrong: not a session that ended.
    raise APIError(401, "Wrong password: nothing was signed.", code="wrong_password")


def locked_error(until: datetime, now: datetime) -> APIError:
    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
    return APIError(
        403,
        f"This account is locked after repeated failed sign-ins. Try again in {minutes} minutes.",
        code="account_locked",
    )
