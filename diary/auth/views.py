"""Session, staff sign-in/out, participant activation and sign-out."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import audit, clock
from ..access import staff_required
from ..audit import access_log
from ..db import get_db, transaction
from ..schemas import Blueprint, OkSchema
from . import (
    StaffUser,
    device_signed_in_at,
    queries,
    remember_device,
    sign_in,
    sign_out,
    throttle,
    totp,
)
from .passwords import hash_password, needs_rehash
from .schemas import SessionSchema, SiteListSchema, StaffLoginSchema, UserSchema
from .staff import check_password

blp = Blueprint("auth", __name__, description="Sessions, sign-in and activation")


@blp.route("/session", methods=["GET"])
@blp.response(200, SessionSchema)
def get_session():
    """Who is signed in, and the CSRF token for mutating requests."""
    user = current_user.public() if current_user.is_authenticated else None
    return {"user": user, "csrf_token": generate_csrf()}


@blp.route("/staff/login", methods=["POST"])
@blp.arguments(StaffLoginSchema)
@blp.response(200, UserSchema)
@blp.alt_response(401, description="Wrong e-mail or password")
@blp.alt_response(429, description="Too many attempts (the same answer for every e-mail)")
def staff_login(body):
    db = get_db()
    now = clock.now()
    client = request.remote_addr or "unknown"
    staff = queries.staff_by_email(db, body["email"])
    device_at = device_signed_in_at(body["email"])
    factor = check_password(
        db,
        staff,
        body["password"],
        email=body["email"],
        client=client,
        limits=throttle.Limits.from_config(current_app.config),
        now=now,
        otp=body.get("otp"),
        secret_key=current_app.config["SECRET_KEY"],
        trusted_device=device_at is not None,
        device_signed_in_at=device_at,
    )
    actor = audit.Actor("staff", str(staff["id"]), staff["email"])
    # Stronger argon2 parameters in a new release reach stored hashes at the next sign-in.
    rehashed = hash_password(body["password"]) if needs_rehash(staff["password_hash"]) else None
    with transaction(db):
        queries.record_login_success(db, staff["id"], now=now, password_hash=rehashed)
        token = queries.create_session(db, kind="staff", staff_id=staff["id"], now=now)
        audit.record(
            db,
            actor=actor,
            action="staff.login",
            object_type="staff",
            object_id=staff["id"],
            after={"second_factor": factor} if factor else None,
            at=now,
        )
        access_log.record(
            db,
            event="sign_in",
            now=now,
            client=client,
            staff_id=staff["id"],
            account=staff["email"],
            object=factor,
        )
    session_id = queries.session_by_token(db, token)["id"]
    user = StaffUser.from_row(token, session_id, staff)
    sign_in(user)
    remember_device(staff["email"])
    answer = user.public()
    if factor == "recovery":
        answer["recovery_codes_left"] = totp.recovery_codes_left(db, staff["id"])
    return answer


@blp.route("/staff/logout", methods=["POST"])
@blp.response(200, OkSchema)
def staff_logout():
    sign_out()
    return {"ok": True}


@blp.route("/logout", methods=["POST"])
@blp.response(200, OkSchema)
def logout():
    sign_out()
    return {"ok": True}


@blp.route("/staff/sites", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, SiteListSchema)
def list_sites():
    """The sites the signed-in staff member works at (every site for admins)."""
    return {"sites": queries.list_sites(get_db(), current_user.site_ids)}
