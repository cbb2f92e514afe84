"""Staff accounts and the sites they work at."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlite_utils import Database

from .. import audit
from ..db import transaction
from ..errors import APIError
from . import queries, throttle
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
    staff: dict | None,
    password: str,
    *,
    email: str,
    client: str,
    limits: throttle.Limits,
    now: datetime,
    purpose: str = "sign_in",
) -> dict:
    """A staff member's password, checked through the sign-in throttle whether it was
    typed to sign in or to sign a record. Unknown, inactive and wrong all answer the
    same 401 after the same work; a throttled check answers 429 for any e-mail.
    Returns the staff row when the password is right."""
    known = staff is not None and bool(staff["active"])
    ok = throttle.checked(
        db,
        account=email,
        client=client,
        purpose=purpose,
        limits=limits,
        now=now,
        check=lambda: verify_password(staff["password_hash"] if known else None, password),
    )
    if ok:
        return staff
    if known:
        with transaction(db):
            audit.record(
                db,
                actor=audit.Actor("staff", str(staff["id"]), staff["email"]),
                action="staff.login_failed"
                if purpose == "sign_in"
                else "signature.failed_password",
                object_type="staff",
                object_id=staff["id"],
                after={"client": client},
                at=now,
            )
    if purpose == "sign_in":
        raise APIError(401, "Wrong e-mail or password.")
    # Signed in, but the password typed to sign was wrong: not a session that ended.
    raise APIError(401, "Wrong password: nothing was signed.", code="wrong_password")
