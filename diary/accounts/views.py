"""Staff accounts and sites (SPEC §15)."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from .. import clock
from ..access import staff_required, staff_signed_in
from ..auth import remember_device
from ..db import get_db
from ..schemas import Blueprint, OkSchema
from . import links, mail, service
from .schemas import (
    AccountCreateSchema,
    AccountListSchema,
    AccountPatchSchema,
    AccountReasonSchema,
    AccountSchema,
    AccountWithLinkSchema,
    LinkStateSchema,
    PasswordChangeSchema,
    RecoveryCodesSchema,
    ResetRequestSchema,
    ResetUseSchema,
    SiteCreateSchema,
    SiteOutSchema,
    SitePatchSchema,
    TotpBeginSchema,
    TotpConfirmSchema,
)

blp = Blueprint("accounts", __name__, description="Staff accounts, passwords, second factor, sites")
# A reset request's mail is made from a thread started once its answer is made.
blp.teardown_request(mail.start_deferred)


def _client() -> str:
    return request.remote_addr or "unknown"


# --- administration -----------------------------------------------------------


@blp.route("/staff/accounts", methods=["GET"])
@staff_required("staff.manage")
@blp.response(200, AccountListSchema)
def list_accounts():
    return {"accounts": service.accounts(get_db(), now=clock.now())}


@blp.route("/staff/accounts", methods=["POST"])
@staff_required("staff.manage")
@blp.arguments(AccountCreateSchema)
@blp.response(201, AccountWithLinkSchema)
def create_account(body):
    """Create an account and mail its owner an invitation to choose a password."""
    return service.invite(get_db(), current_app.config, by=current_user, body=body, now=clock.now())


@blp.route("/staff/accounts/<int:staff_id>", methods=["PATCH"])
@staff_required("staff.manage")
@blp.arguments(AccountPatchSchema)
@blp.response(200, AccountSchema)
def patch_account(body, staff_id):
    """Change the name, role, sites, or deactivate (active: false ends their sessions)."""
    reason = body.pop("reason")
    return service.update(
        get_db(), by=current_user, staff_id=staff_id, changes=body, reason=reason, now=clock.now()
    )


@blp.route("/staff/accounts/<int:staff_id>/link", methods=["POST"])
@staff_required("staff.manage")
@blp.response(200, AccountWithLinkSchema)
def send_account_link(staff_id):
    """Mail the account a new link: the invitation again while it has no password, else a
    password reset. Earlier links stop working."""
    return service.send_link(
        get_db(), current_app.config, by=current_user, staff_id=staff_id, now=clock.now()
    )


@blp.route("/staff/accounts/<int:staff_id>/second-factor-reset", methods=["POST"])
@staff_required("staff.manage")
@blp.arguments(AccountReasonSchema)
@blp.response(200, AccountSchema)
def reset_account_second_factor(body, staff_id):
    return service.reset_second_factor(
        get_db(), by=current_user, staff_id=staff_id, reason=body["reason"], now=clock.now()
    )


@blp.route("/staff/sites", methods=["POST"])
@staff_required("sites.manage")
@blp.arguments(SiteCreateSchema)
@blp.response(201, SiteOutSchema)
def create_site(body):
    return service.create_site(get_db(), by=current_user, body=body, now=clock.now())


@blp.route("/staff/sites/<code>", methods=["PATCH"])
@staff_required("sites.manage")
@blp.arguments(SitePatchSchema)
@blp.response(200, SiteOutSchema)
def patch_site(body, code):
    """Change a site's name, time zone or the phone number its participants should call."""
    reason = body.pop("reason")
    return service.update_site(
        get_db(), by=current_user, code=code, changes=body, reason=reason, now=clock.now()
    )


# --- one's own password and second factor ----------------------------------------


@blp.route("/staff/password", methods=["POST"])
@staff_signed_in
@blp.arguments(PasswordChangeSchema)
@blp.response(200, OkSchema)
def change_password(body):
    """Change your password (the current one is required); your other sessions end."""
    service.change_password(
        get_db(),
        current_app.config,
        user=current_user,
        current=body["current_password"],
        new=body["new_password"],
        client=_client(),
        now=clock.now(),
    )
    return {"ok": True}


@blp.route("/staff/password-reset", methods=["POST"])
@blp.arguments(ResetRequestSchema)
@blp.response(202, OkSchema)
def request_password_reset(body):
    """Mail a reset link if the e-mail is a staff account: the answer is the same either way."""
    service.request_reset(
        get_db(), current_app.config, email_typed=body["email"], client=_client(), now=clock.now()
    )
    return {"ok": True}


@blp.route("/staff/password-reset/<token>", methods=["GET"])
@blp.response(200, LinkStateSchema)
@blp.alt_response(404, description="Unknown, used, replaced or expired link")
def get_password_link(token):
    link = links.lookup(get_db(), token, now=clock.now())
    return {k: link[k] for k in ("email", "full_name", "purpose", "expires_at")}


@blp.route("/staff/password-reset/<token>", methods=["POST"])
@blp.arguments(ResetUseSchema)
@blp.response(200, LinkStateSchema)
def use_password_link(body, token):
    """Set the password from an invitation or reset link: once; every session of the
    account ends."""
    link = links.use(get_db(), token, body["new_password"], now=clock.now())
    return {k: link[k] for k in ("email", "full_name", "purpose", "expires_at")}


@blp.route("/staff/mfa/totp", methods=["POST"])
@staff_signed_in
@blp.response(200, TotpBeginSchema)
def begin_totp():
    """Start setting up the authenticator app: a new secret and its QR code."""
    return service.begin_second_factor(
        get_db(), current_app.config, user=current_user, now=clock.now()
    )


@blp.route("/staff/mfa/totp/confirm", methods=["POST"])
@staff_signed_in
@blp.arguments(TotpConfirmSchema)
@blp.response(200, RecoveryCodesSchema)
def confirm_totp(body):
    """Turn two-step sign-in on with the app's current code: the recovery codes, once."""
    codes = service.confirm_second_factor(
        get_db(), current_app.config, user=current_user, code=body["code"], now=clock.now()
    )
    # This browser holds the second factor now: the code pause does not hold it.
    remember_device(current_user.email)
    return codes
