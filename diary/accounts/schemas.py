from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from ..auth.passwords import MAX_LENGTH
from ..auth.roles import ROLES
from ..schemas import SITE_CODE, JsonBoolean, StrictSchema, Text, TimeZoneField

_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}( ?(ext\.?|x|#) ?[0-9]{1,6})?$", re.IGNORECASE)


class PhoneField(fields.String):
    """A number participants can dial from the advice: digits, spaces and + ( ) . - /,
    and an extension (ext. 12, x12, #12)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        if len(text) > 40 or not _PHONE.match(text) or sum(ch.isdigit() for ch in text) < 3:
            raise ValidationError("a phone number, e.g. +1 312 555 0100")
        return text


class AccountSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    role = fields.String(required=True)
    sites = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    last_login_at = fields.String(allow_none=True)
    password_set = fields.Boolean(
        required=True, metadata={"description": "false until the invitation is used"}
    )
    invitation_expires_at = fields.String(allow_none=True)
    mfa_enabled = fields.Boolean(required=True)


class LinkSentSchema(Schema):
    purpose = fields.String(required=True, metadata={"description": "invitation | reset"})
    sent = fields.Boolean(
        required=True, metadata={"description": "false: the mail server did not take it"}
    )
    expires_at = fields.String(required=True)


class AccountWithLinkSchema(AccountSchema):
    link = fields.Nested(LinkSentSchema)


class AccountListSchema(Schema):
    accounts = fields.List(fields.Nested(AccountSchema), required=True)


_SITES = fields.List(fields.String(validate=SITE_CODE), validate=validate.Length(max=50))
_NAME = Text(validate=validate.Length(2, 120, error="2 to 120 characters"))


class AccountCreateSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    full_name = Text(required=True, validate=validate.Length(2, 120, error="2 to 120 characters"))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    sites = fields.List(
        fields.String(validate=SITE_CODE), load_default=list, validate=validate.Length(max=50)
    )
    reason = Text(
        validate=validate.Length(3, 500),
        metadata={"description": "why the account is made (kept in the audit trail)"},
    )


class AccountPatchSchema(StrictSchema):
    full_name = _NAME
    role = fields.String(validate=validate.OneOf(ROLES))
    sites = _SITES
    active = JsonBoolean()
    reason = Text(required=True, validate=validate.Length(3, 500))


class AccountReasonSchema(StrictSchema):
    reason = Text(required=True, validate=validate.Length(3, 500))


class SiteCreateSchema(StrictSchema):
    code = fields.String(required=True, validate=SITE_CODE)
    name = Text(validate=validate.Length(1, 120))
    timezone = TimeZoneField(required=True)
    phone = PhoneField(allow_none=True)
    reason = Text(
        validate=validate.Length(3, 500),
        metadata={"description": "why the site is added (kept in the audit trail)"},
    )


class SitePatchSchema(StrictSchema):
    name = Text(validate=validate.Length(1, 120))
    timezone = TimeZoneField()
    phone = PhoneField(allow_none=True)
    reason = Text(required=True, validate=validate.Length(3, 500))


class SiteOutSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    phone = fields.String(allow_none=True)


_PASSWORD = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))


class PasswordChangeSchema(StrictSchema):
    current_password = _PASSWORD
    new_password = _PASSWORD


class ResetRequestSchema(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(1, 254))


class ResetUseSchema(StrictSchema):
    new_password = _PASSWORD


class LinkStateSchema(Schema):
    email = fields.String(required=True)
    full_name = fields.String(allow_none=True)
    purpose = fields.String(required=True, metadata={"description": "invitation | reset"})
    expires_at = fields.String(required=True)


class TotpBeginSchema(Schema):
    secret = fields.String(
        required=True, metadata={"description": "to type in when the code cannot be scanned"}
    )
    otpauth_uri = fields.String(required=True)
    qr_data_uri = fields.String(
        required=True, metadata={"description": "the QR code of otpauth_uri, an SVG data: URI"}
    )


class TotpConfirmSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(1, 20))


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(
        fields.String(), required=True, metadata={"description": "shown once; each works once"}
    )
