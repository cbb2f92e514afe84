from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import StrictSchema


class UserSchema(Schema):
    kind = fields.String(required=True)
    email = fields.String()
    full_name = fields.String(
        allow_none=True, metadata={"description": "printed with the staff member's signatures"}
    )
    role = fields.String()
    permissions = fields.List(
        fields.String(), metadata={"description": "what the staff member's role may do"}
    )
    idle_timeout_seconds = fields.Integer(
        metadata={"description": "the staff session ends after this long without a request"}
    )
    study_id = fields.String()
    mfa_enabled = fields.Boolean(metadata={"description": "signs in with a second factor"})
    second_factor_setup_required = fields.Boolean(
        metadata={"description": "the role needs a second factor not set up yet"}
    )
    recovery_codes_left = fields.Integer(
        metadata={"description": "after signing in with a recovery code"}
    )


class SessionSchema(Schema):
    user = fields.Nested(UserSchema, allow_none=True, required=True)
    csrf_token = fields.String(required=True)


class StaffLoginSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    otp = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the authenticator app's 6-digit code, or a recovery code"},
    )


class ActivateSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SiteSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    phone = fields.String(
        allow_none=True, metadata={"description": "the number the site's participants call"}
    )


class SiteListSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema), required=True)
