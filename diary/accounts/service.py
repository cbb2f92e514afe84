"""What an administrator and each staff member do with accounts and sites (SPEC §15).
Every change is audited with who and why; none needs the server's command line."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..audit import access_log
from ..auth import queries as auth_queries
from ..auth import throttle, totp
from ..auth.passwords import UNUSABLE, check_strength, hash_password, usable
from ..auth.roles import ROLES
from ..auth.staff import check_password, create_staff
from ..db import connect, transaction
from ..errors import APIError, not_found
from . import links, mail

# --- reading ----------------------------------------------------------------


def _sites_of(db: Database, staff_id: int) -> list[str]:
    return [
        r["code"]
        for r in db.query(
            "SELECT s.code FROM staff_sites ss JOIN sites s ON s.id = ss.site_id"
            " WHERE ss.staff_id = ? ORDER BY s.code",
            [staff_id],
        )
    ]


def account(db: Database, staff_id: int, *, now: datetime) -> dict[str, Any]:
    row = auth_queries.staff_by_id(db, staff_id)
    if row is None:
        raise not_found("No such staff account.")
    invitation = next(
        db.query(
            "SELECT expires_at FROM staff_links WHERE staff_id = ? AND purpose = 'invitation'"
            " AND used_at IS NULL AND voided_at IS NULL AND expires_at > ?"
            " ORDER BY id DESC LIMIT 1",
            [staff_id, clock.iso(now)],
        ),
        None,
    )
    return {
        "id": row["id"],
        "email": row["email"],
        "full_name": row["full_name"],
        "role": row["role"],
        "sites": _sites_of(db, staff_id),
        "active": bool(row["active"]),
        "created_at": row["created_at"],
        "last_login_at": row["last_login_at"],
        "password_set": usable(row["password_hash"]),
        "invitation_expires_at": invitation["expires_at"] if invitation else None,
        "mfa_enabled": bool(row["totp_enabled_at"]),
    }


def accounts(db: Database, *, now: datetime) -> list[dict[str, Any]]:
    ids = [r["id"] for r in db.query("SELECT id FROM staff ORDER BY active DESC, email")]
    return [account(db, i, now=now) for i in ids]


# --- the administrator's tasks ------------------------------------------------


def _site_rows(db: Database, codes: list[str]) -> list[dict]:
    rows, unknown = [], []
    for code in dict.fromkeys(codes):
        site = auth_queries.site_by_code(db, code)
        (rows if site else unknown).append(site or code)
    if unknown:
        raise APIError(
            422,
            f"No such site: {', '.join(unknown)}. Create the site first.",
            fields={"sites": [f"unknown site {c}" for c in unknown]},
        )
    return rows


def _check_role_sites(role: str, sites: list[str]) -> None:
    if role not in ROLES:
        raise APIError(422, "Choose a role.", fields={"role": [f"one of {', '.join(ROLES)}"]})
    if role != "admin" and not sites:
        raise APIError(
            422,
            "A coordinator or investigator works at one site at least: choose their sites.",
            fields={"sites": ["choose at least one site"]},
        )


def _send_link(config, db, staff: dict, *, by: Any, now: datetime) -> dict[str, Any]:
    """Issue and mail the account's link: an invitation while it has no password,
    else a reset. Returns whether the mail went."""
    invited = not usable(staff["password_hash"])
    purpose = "invitation" if invited else "reset"
    lifetime = config["STAFF_INVITATION_LIFETIME" if invited else "STAFF_RESET_LINK_LIFETIME"]
    with transaction(db):
        token, expires, link_id = links.issue(
            db, staff["id"], purpose=purpose, lifetime=lifetime, now=now, created_by=by.staff_id
        )
        audit.record(
            db,
            actor=by.actor,
            action=f"staff.{purpose}_sent",
            object_type="staff",
            object_id=staff["id"],
            after={"expires_at": clock.iso(expires)},
            at=now,
        )
    if invited:
        subject, body = mail.invitation(
            config,
            to=staff["email"],
            full_name=staff["full_name"],
            role=staff["role"],
            sites=_sites_of(db, staff["id"]),
            token=token,
            expires=expires,
            invited_by=by.full_name or by.email,
        )
    else:
        subject, body = mail.reset(
            config, to=staff["email"], full_name=staff["full_name"], token=token, expires=expires
        )
    try:
        mail.send(config, to=staff["email"], subject=subject, body=body, now=now)
    except mail.MailNotSent:
        # The earlier link (if one was mailed) keeps working: this one never arrived.
        with transaction(db):
            db.execute(
                "UPDATE staff_links SET voided_at = ? WHERE id = ?", [clock.iso(now), link_id]
            )
        return {"purpose": purpose, "sent": False, "expires_at": clock.iso(expires)}
    with transaction(db):
        links.void_links(db, staff["id"], now=now, keep=link_id)  # the new one replaces them
    return {"purpose": purpose, "sent": True, "expires_at": clock.iso(expires)}


def invite(
    db: Database, config: Mapping[str, Any], *, by: Any, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    _check_role_sites(body["role"], body["sites"])
    with transaction(db):
        _site_rows(db, body["sites"])
        staff_id = create_staff(
            db,
            actor=by.actor,
            email=body["email"],
            role=body["role"],
            password=None,
            site_codes=body["sites"],
            default_timezone="UTC",
            now=now,
            full_name=body.get("full_name"),
            reason=body.get("reason"),
        )
    sent = _send_link(config, db, auth_queries.staff_by_id(db, staff_id), by=by, now=now)
    return {**account(db, staff_id, now=now), "link": sent}


def send_link(db: Database, config, *, by: Any, staff_id: int, now: datetime) -> dict[str, Any]:
    staff = auth_queries.staff_by_id(db, staff_id)
    if staff is None:
        raise not_found("No such staff account.")
    if not staff["active"]:
        raise APIError(409, "This account is deactivated: reactivate it first.", code="inactive")
    sent = _send_link(config, db, staff, by=by, now=now)
    return {**account(db, staff_id, now=now), "link": sent}


def _other_active_admins(db: Database, staff_id: int) -> int:
    """Other admins who can sign in now (an invited one has no password yet)."""
    return db.execute(
        "SELECT count(*) FROM staff WHERE role = 'admin' AND active = 1 AND id != ?"
        " AND password_hash != ?",
        [staff_id, UNUSABLE],
    ).fetchone()[0]


def update(
    db: Database,
    *,
    by: Any,
    staff_id: int,
    changes: Mapping[str, Any],
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    with transaction(db):
        staff = auth_queries.staff_by_id(db, staff_id)
        if staff is None:
            raise not_found("No such staff account.")
        before = account(db, staff_id, now=now)
        after = {k: before[k] for k in ("full_name", "role", "sites", "active")}
        if "full_name" in changes:
            name = " ".join((changes["full_name"] or "").split())
            if not 2 <= len(name) <= 120:
                raise APIError(
                    422,
                    "The full name needs 2 to 120 characters.",
                    fields={"full_name": ["2–120 characters"]},
                )
            after["full_name"] = name
        for key in ("role", "sites", "active"):
            if key in changes:
                after[key] = changes[key]
        if after["role"] == "admin" and "sites" not in changes:
            after["sites"] = []
        _check_role_sites(after["role"], after["sites"])
        site_rows = _site_rows(db, after["sites"])
        losing_admin = (
            staff["role"] == "admin"
            and staff["active"]
            and (after["role"] != "admin" or not after["active"])
        )
        if losing_admin and _other_active_admins(db, staff_id) == 0:
            raise APIError(
                409,
                "This is the last active administrator: make another account an administrator"
                " first.",
                code="last_admin",
            )
        old = {k: before[k] for k in after}
        if old == after:
            return before
        db.execute(
            "UPDATE staff SET full_name = ?, role = ?, active = ? WHERE id = ?",
            [after["full_name"], after["role"], int(after["active"]), staff_id],
        )
        db.execute("DELETE FROM staff_sites WHERE staff_id = ?", [staff_id])
        for site in site_rows:
            auth_queries.add_staff_site(db, staff_id, site["id"])
        ended = 0
        if not after["active"]:
            # Deactivated: their open sessions end now, and no link of theirs works.
            ended = auth_queries.end_staff_sessions(db, staff_id, "deactivated", now=now)
            links.void_links(db, staff_id, now=now)
        audit.record(
            db,
            actor=by.actor,
            action="staff.deactivate" if old["active"] and not after["active"] else "staff.update",
            object_type="staff",
            object_id=staff_id,
            before=old,
            after={**after, **({"sessions_ended": ended} if ended else {})},
            reason=reason,
            at=now,
        )
    return account(db, staff_id, now=now)


def reset_second_factor(
    db: Database, *, by: Any, staff_id: int, reason: str, now: datetime
) -> dict[str, Any]:
    """The account sets up its second factor again (a lost phone): the old secret and
    recovery codes stop working and its sessions end."""
    with transaction(db):
        staff = auth_queries.staff_by_id(db, staff_id)
        if staff is None:
            raise not_found("No such staff account.")
        if not staff["totp_enabled_at"] and not staff["totp_pending"]:
            raise APIError(
                409, "This account has no second factor to reset.", code="no_second_factor"
            )
        db.execute(
            "UPDATE staff SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL,"
            " totp_last_step = NULL WHERE id = ?",
            [staff_id],
        )
        db.execute("DELETE FROM staff_recovery_codes WHERE staff_id = ?", [staff_id])
        ended = auth_queries.end_staff_sessions(db, staff_id, "second_factor_reset", now=now)
        audit.record(
            db,
            actor=by.actor,
            action="staff.second_factor_reset",
            object_type="staff",
            object_id=staff_id,
            after={"sessions_ended": ended},
            reason=reason,
            at=now,
        )
    return account(db, staff_id, now=now)


# --- sites --------------------------------------------------------------------


def _site(row: dict) -> dict[str, Any]:
    return {k: row[k] for k in ("code", "name", "timezone", "phone")}


def create_site(db: Database, *, by: Any, body: Mapping[str, Any], now: datetime) -> dict:
    with transaction(db):
        if auth_queries.site_by_code(db, body["code"]):
            raise APIError(409, f"Site {body['code']} exists already.", fields={"code": ["exists"]})
        db.execute(
            "INSERT INTO sites (code, name, timezone, phone, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                body["code"],
                body.get("name") or body["code"],
                body["timezone"],
                body.get("phone"),
                clock.iso(now),
            ],
        )
        site = auth_queries.site_by_code(db, body["code"])
        audit.record(
            db,
            actor=by.actor,
            action="site.create",
            object_type="site",
            object_id=site["code"],
            site_id=site["id"],
            after=_site(site),
            reason=body.get("reason"),
            at=now,
        )
    return _site(site)


def update_site(
    db: Database, *, by: Any, code: str, changes: Mapping[str, Any], reason: str, now: datetime
) -> dict:
    with transaction(db):
        site = auth_queries.site_by_code(db, code)
        if site is None:
            raise not_found("No such site.")
        before = _site(site)
        after = {**before, **{k: changes[k] for k in ("name", "timezone", "phone") if k in changes}}
        if after == before:
            return before
        db.execute(
            "UPDATE sites SET name = ?, timezone = ?, phone = ? WHERE id = ?",
            [after["name"], after["timezone"], after["phone"], site["id"]],
        )
        audit.record(
            db,
            actor=by.actor,
            action="site.update",
            object_type="site",
            object_id=code,
            site_id=site["id"],
            before=before,
            after=after,
            reason=reason,
            at=now,
        )
    return after


# --- each staff member's own password and second factor -------------------------


def change_password(
    db: Database, config, *, user: Any, current: str, new: str, client: str, now: datetime
) -> None:
    staff = auth_queries.staff_by_id(db, user.staff_id)
    check_password(
        db,
        staff,
        current,
        email=staff["email"],
        client=client,
        limits=throttle.Limits.from_config(config),
        now=now,
        purpose="password_change",
    )
    if new == current:
        raise APIError(
            422,
            "The new password is the one you have now: choose a different one.",
            fields={"new_password": ["the same as the current one"]},
        )
    check_strength(new, email=staff["email"], full_name=staff["full_name"])
    password_hash = hash_password(new)
    with transaction(db):
        db.execute(
            "UPDATE staff SET password_hash = ?, password_changed_at = ? WHERE id = ?",
            [password_hash, clock.iso(now), staff["id"]],
        )
        links.void_links(db, staff["id"], now=now)
        ended = auth_queries.end_staff_sessions(
            db, staff["id"], "password_changed", now=now, keep=user.session_id
        )
        audit.record(
            db,
            actor=user.actor,
            action="staff.password_change",
            object_type="staff",
            object_id=staff["id"],
            after={"other_sessions_ended": ended},
            at=now,
        )


def request_reset(db: Database, config, *, email_typed: str, client: str, now: datetime) -> None:
    """A self-service reset: a link is mailed when the account exists, is active and has
    a password (an invitation is an admin's to send), at most a few per hour per
    account and per address. The request does the same work whatever the e-mail: it
    counts and logs the request; the link is made and mailed from a thread."""
    since = clock.iso(now - config["STAFF_RESET_REQUEST_WINDOW"])
    account_key = email_typed.strip().lower()
    with transaction(db):
        by_account, by_address = db.execute(
            "SELECT sum(account = ?), sum(client = ?) FROM access_log"
            " WHERE event = 'password_reset_requested' AND at > ?",
            [account_key, client, since],
        ).fetchone()
        access_log.record(
            db, event="password_reset_requested", now=now, client=client, account=account_key
        )
    if (by_account or 0) >= config["STAFF_RESET_REQUESTS_PER_HOUR"] or (by_address or 0) >= config[
        "STAFF_RESET_REQUESTS_PER_ADDRESS_PER_HOUR"
    ]:
        return
    settings = dict(config)
    mail.run_soon(lambda: _mail_reset(settings, email_typed, client, now))


def _mail_reset(config, email_typed: str, client: str, now: datetime) -> None:
    """Make and mail a reset link, if the e-mail is an account that may have one."""
    db = connect(config["DIARY_DATABASE"])
    try:
        with transaction(db):
            staff = auth_queries.staff_by_email(db, email_typed)
            if staff is None or not staff["active"] or not usable(staff["password_hash"]):
                return
            token, expires, _ = links.issue(
                db,
                staff["id"],
                purpose="reset",
                lifetime=config["STAFF_RESET_LINK_LIFETIME"],
                now=now,
            )
            audit.record(
                db,
                actor=audit.Actor("staff", str(staff["id"]), staff["email"]),
                action="staff.reset_requested",
                object_type="staff",
                object_id=staff["id"],
                after={"client": client, "expires_at": clock.iso(expires)},
                at=now,
            )
        subject, body = mail.reset(
            config, to=staff["email"], full_name=staff["full_name"], token=token, expires=expires
        )
        mail.send(config, to=staff["email"], subject=subject, body=body, now=now)
    except mail.MailNotSent:
        pass  # logged by mail.send (never the link)
    finally:
        db.conn.close()


def begin_second_factor(db: Database, config, *, user: Any, now: datetime) -> dict[str, Any]:
    staff = auth_queries.staff_by_id(db, user.staff_id)
    if staff["totp_enabled_at"]:
        raise APIError(
            409,
            "Two-step sign-in is on already. To move it to a new phone, ask an administrator"
            " to reset it.",
            code="second_factor_on",
        )
    enrollment = totp.new_enrollment(staff["email"])
    with transaction(db):
        db.execute(
            "UPDATE staff SET totp_pending = ? WHERE id = ?",
            [totp.seal(enrollment.secret, config["SECRET_KEY"]), staff["id"]],
        )
    return {
        "secret": enrollment.secret,
        "otpauth_uri": enrollment.uri,
        "qr_data_uri": enrollment.qr_data_uri,
    }


def confirm_second_factor(
    db: Database, config, *, user: Any, code: str, now: datetime
) -> dict[str, Any]:
    codes = totp.new_recovery_codes()
    with transaction(db):
        staff = auth_queries.staff_by_id(db, user.staff_id)
        if staff["totp_enabled_at"]:
            raise APIError(409, "Two-step sign-in is on already.", code="second_factor_on")
        secret = (
            totp.unseal(staff["totp_pending"], config["SECRET_KEY"])
            if staff["totp_pending"]
            else None
        )
        if secret is None:
            raise APIError(409, "Start setting up two-step sign-in first.", code="no_enrollment")
        step = totp.matching_step(secret, code, now, None)
        if step is None:
            raise APIError(
                422,
                "That code is not right. Check the phone's time, wait for the next code and"
                " enter it.",
                fields={"code": ["not the code the app shows now"]},
            )
        db.execute(
            "UPDATE staff SET totp_secret = totp_pending, totp_pending = NULL,"
            " totp_enabled_at = ?, totp_last_step = ? WHERE id = ?",
            [clock.iso(now), step, staff["id"]],
        )
        totp.store_recovery_codes(db, staff["id"], codes, now=now)
        # Turned on because of a doubt: no other session of the account stays open.
        ended = auth_queries.end_staff_sessions(
            db, staff["id"], "second_factor_on", now=now, keep=user.session_id
        )
        audit.record(
            db,
            actor=user.actor,
            action="staff.second_factor_on",
            object_type="staff",
            object_id=staff["id"],
            after={"other_sessions_ended": ended},
            at=now,
        )
    return {"recovery_codes": codes}
