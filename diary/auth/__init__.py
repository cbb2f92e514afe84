"""Sign-in: server-side sessions behind Flask-Login, roles, CSRF (SPEC §8, §9)."""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, after_this_request, current_app, g, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, same_origin, validate_csrf
from flask_wtf.csrf import logger as csrf_logger
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms import ValidationError

from .. import audit, clock
from ..audit import access_log
from ..db import get_db, transaction
from ..errors import APIError
from . import queries, throttle
from .roles import PERMISSIONS, allows

login_manager = LoginManager()

_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@functools.lru_cache(maxsize=8192)
def _signed_csrf_value(secret_key: str, signed: str) -> str:
    """The value inside a signed CSRF token, once its signature is verified (a bad one
    raises, and is not remembered): a phone sends the same token with every write."""
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").loads(signed)


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF check (header or form field, compared with the session's token;
    same-origin Referer over HTTPS), with two costs of a JSON write taken out: a body
    that is not a form is not parsed as one to look for the field, and a token whose
    signature was verified once is not verified again. Tokens never expire here
    (WTF_CSRF_TIME_LIMIT is None: a write made offline syncs days later); with a limit
    set, every request goes through Flask-WTF's own check."""

    def _get_csrf_token(self):
        if request.mimetype in _FORMS:
            return super()._get_csrf_token()
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return None

    def protect(self, apply_exemptions=False):
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        config = current_app.config
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        try:
            _validate_csrf(self._get_csrf_token())
        except ValidationError as exc:
            csrf_logger.info(exc.args[0])
            self._error_response(exc.args[0])
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True


def _validate_csrf(signed: str | None) -> None:
    """flask_wtf.csrf.validate_csrf, with the signature check remembered per token."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    if config["WTF_CSRF_TIME_LIMIT"] is not None or not signed or field not in session:
        validate_csrf(signed)
        return
    try:
        value = _signed_csrf_value(config["SECRET_KEY"], signed)
    except BadData as exc:
        raise ValidationError("The CSRF token is invalid.") from exc
    if not hmac.compare_digest(session[field], value):
        raise ValidationError("The CSRF tokens do not match.")


csrf = _CSRFProtect()

# Writing last_seen_at on every request would serialise all reads behind the
# write lock; a minute's precision is enough for 30-minute idle timeouts.
TOUCH_EVERY = timedelta(seconds=60)


class _SessionUser:
    """What Flask-Login asks of a signed-in user, for both kinds: the session token is the id."""

    token: str
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.token


@dataclass
class StaffUser(_SessionUser):
    token: str
    session_id: int
    staff_id: int
    email: str
    role: str
    # None means every site (admins).
    site_ids: frozenset[int] | None
    full_name: str | None = None
    mfa_enabled: bool = False
    # The role must use a second factor that is not set up yet: until it is, the
    # session may only set it up, change the password and sign out (access.py).
    needs_second_factor: bool = False
    kind: str = "staff"

    @classmethod
    def from_row(cls, token: str, session_id: int, staff: dict) -> StaffUser:
        db = get_db()
        sites = (
            None if staff["role"] == "admin" else frozenset(queries.staff_site_ids(db, staff["id"]))
        )
        required = current_app.config.get("STAFF_MFA_REQUIRED_ROLES") or frozenset()
        return cls(
            token,
            session_id,
            staff["id"],
            staff["email"],
            staff["role"],
            sites,
            staff["full_name"],
            mfa_enabled=bool(staff["totp_enabled_at"]),
            needs_second_factor=staff["role"] in required and not staff["totp_enabled_at"],
        )

    @property
    def actor(self) -> audit.Actor:
        """Who did it, for the audit trail: the name beside the e-mail when known."""
        label = f"{self.full_name} <{self.email}>" if self.full_name else self.email
        return audit.Actor("staff", str(self.staff_id), label)

    def can(self, permission: str) -> bool:
        return allows(self.role, permission)

    def public(self) -> dict[str, Any]:
        """Who this is, and what the console may offer them: the role's permissions and the
        idle timeout, from the server's own rules (the console keeps no copy)."""
        return {
            "kind": "staff",
            "email": self.email,
            "full_name": self.full_name,
            "role": self.role,
            "permissions": sorted(p for p in PERMISSIONS if allows(self.role, p)),
            "idle_timeout_seconds": int(current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()),
            "mfa_enabled": self.mfa_enabled,
            "second_factor_setup_required": self.needs_second_factor,
        }


@dataclass
class ParticipantUser(_SessionUser):
    token: str
    session_id: int
    participant_id: int
    study_id: str
    site_id: int
    kind: str = "participant"

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor("participant", str(self.participant_id), self.study_id)

    def public(self) -> dict[str, Any]:
        return {"kind": "participant", "study_id": self.study_id}


def _expired(row: dict, now: datetime) -> str | None:
    cfg = current_app.config
    last_seen = clock.parse_iso(row["last_seen_at"])
    if row["kind"] == "staff":
        if now - clock.parse_iso(row["created_at"]) > cfg["STAFF_ABSOLUTE_TIMEOUT"]:
            return "absolute_timeout"
        if now - last_seen > cfg["STAFF_IDLE_TIMEOUT"]:
            return "idle_timeout"
    elif now - last_seen > cfg["PARTICIPANT_SESSION_LIFETIME"]:
        return "expired"
    return None


@login_manager.user_loader
def load_user(token: str):
    db = get_db()
    now = clock.now()
    row = queries.session_for_request(db, token)
    if row is None:
        return None
    reason = _expired(row, now)
    if reason:
        with transaction(db):
            queries.end_session(db, row["id"], reason, now=now)
        return None
    if row["kind"] == "staff":
        staff = queries.staff_by_id(db, row["staff_id"])
        if staff is None or not staff["active"]:
            return None
        user = StaffUser.from_row(token, row["id"], staff)
    else:
        p = row["participant"]
        if p is None or p["status"] == "withdrawn":
            return None
        user = ParticipantUser(token, row["id"], p["id"], p["study_id"], p["site_id"])
    if now - clock.parse_iso(row["last_seen_at"]) >= TOUCH_EVERY:
        session.modified = True  # roll the cookie's expiry with the server-side session
        with transaction(db):
            queries.touch_session(db, row["id"], now=now)
            if row["kind"] == "participant":
                queries.touch_participant(db, row["participant_id"], now=now)
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    raise APIError(401, "Sign in first (your session may have ended).")


def sign_in(user) -> None:
    session.clear()
    session.permanent = True
    login_user(user)


def sign_out() -> None:
    user = current_user
    if getattr(user, "is_authenticated", False):
        db = get_db()
        with transaction(db):
            queries.end_session(db, user.session_id, "logout", now=clock.now())
            if user.kind == "staff":
                access_log.record(
                    db, event="sign_out", staff_id=user.staff_id, client=request.remote_addr
                )
            audit.record(
                db,
                actor=user.actor,
                action=f"{user.kind}.logout",
                object_type=user.kind,
                object_id=user.staff_id if user.kind == "staff" else user.study_id,
                participant_id=getattr(user, "participant_id", None),
                site_id=getattr(user, "site_id", None),
            )
    logout_user()
    session.clear()


def device_cookie() -> str:
    """The cookie that tells the sign-in throttle this browser signed in to an account."""
    return "__Host-diary-device" if current_app.config["SESSION_COOKIE_SECURE"] else "diary_device"


def device_signed_in_at(email: str) -> datetime | None:
    """When this browser last signed in to `email` (None: never, or not in 90 days)."""
    return throttle.device_signed_in_at(
        current_app.config["SECRET_KEY"], email, request.cookies.get(device_cookie())
    )


def remember_device(email: str) -> None:
    """After this response, the browser is one that signed in to `email` (now): the
    account-wide slow-down, the global ceiling and the code pause a botnet may cause
    do not hold it (auth/throttle.py, auth/staff.py)."""
    value = throttle.device_token(current_app.config["SECRET_KEY"], email)

    @after_this_request
    def _set(response):
        response.set_cookie(
            device_cookie(),
            value,
            max_age=int(throttle.DEVICE_LIFETIME.total_seconds()),
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Strict",
            path="/",
        )
        return response


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # phones change networks; sessions are server-side
    csrf.init_app(app)
