"""Request and response schemas for push subscriptions and notification visibility."""

from __future__ import annotations

import ipaddress
import re

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates

from ..schemas import StrictSchema
from .webpush import b64url_decode

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _b64url_bytes(value: str, length: int) -> bytes:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    body = value.rstrip("=")
    if not body or set(body) - allowed or len(value) - len(body) > 2:
        raise ValidationError("must be base64url")
    try:
        raw = b64url_decode(body)
    except ValueError:
        raise ValidationError("must be base64url") from None
    if len(raw) != length:
        raise ValidationError(f"must encode {length} bytes")
    return raw


class PushKeysSchema(StrictSchema):
    p256dh = fields.String(required=True, validate=validate.Length(max=200))
    auth = fields.String(required=True, validate=validate.Length(max=100))

    @validates("p256dh")
    def _p256dh(self, value: str, **kwargs) -> None:
        raw = _b64url_bytes(value, 65)
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise ValidationError("must be an uncompressed P-256 public key") from None

    @validates("auth")
    def _auth(self, value: str, **kwargs) -> None:
        _b64url_bytes(value, 16)


# A push endpoint as browsers give one: http(s), a plain host name or IPv4 address
# (letters, digits, hyphens and dots: no userinfo, backslash, percent-escape or IPv6
# literal in the authority), an optional port, then a path. Written like this, every
# URL parser (urllib.parse, urllib3, requests, a browser's WHATWG parser) finds the
# same host, so the host checked here is the one the push is sent to.
_ENDPOINT = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]{1,253})(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<rest>[/?][\x21-\x7e]*)?"
)


def endpoint_host(value: str) -> tuple[str, str, int | None] | None:
    """(scheme, lower-cased host, port) of an endpoint written as _ENDPOINT says (no
    backslash anywhere: a WHATWG parser reads it as a slash), or None."""
    match = _ENDPOINT.fullmatch(value)
    if match is None or "\\" in value:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    return match["scheme"], match["host"].lower(), port


def _check_endpoint(value: str) -> None:
    parsed = endpoint_host(value)
    if parsed is None:
        raise ValidationError("must be an https URL with a plain host name")
    scheme, host, port = parsed
    local_allowed = current_app.config["DIARY_ENV"] == "development" or current_app.config.get(
        "TESTING"
    )
    if scheme == "http" and host in _LOCAL_HOSTS and local_allowed:
        return
    if scheme != "https":
        raise ValidationError("must be an https URL")
    if not local_allowed and port not in (None, 443):
        raise ValidationError("must be an https URL on the standard port (443)")
    if not local_allowed and (host in _LOCAL_HOSTS or _is_ip(host)):
        # The server POSTs to this URL: keep it pointed at real push services.
        raise ValidationError("must be the URL of a push service")
    allowed = current_app.config.get("PUSH_SERVICES")
    if allowed is not None and not is_known_push_service(host, allowed):
        raise ValidationError("must be the URL of a known push service (DIARY_PUSH_SERVICES)")


def is_known_push_service(host: str, allowed) -> bool:
    """`host` (as endpoint_host gives it, lower-cased) is one of `allowed`, or under one that
    starts with a dot. Written exactly: no trailing dot, no IP in any spelling."""
    if not host or host.endswith(".") or _is_ip(host) or host.isdigit():
        return False
    return any(host == a or (a.startswith(".") and host.endswith(a)) for a in allowed)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class PushSubscriptionSchema(StrictSchema):
    """What PushSubscription.toJSON() gives in the browser."""

    endpoint = fields.String(required=True, validate=validate.Length(min=8, max=2048))
    keys = fields.Nested(PushKeysSchema, required=True)
    expirationTime = fields.Raw(load_default=None, allow_none=True)  # noqa: N815 - browser's name

    @validates("endpoint")
    def _endpoint(self, value: str, **kwargs) -> None:
        _check_endpoint(value)


class PushEndpointSchema(StrictSchema):
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class PushSubscribedSchema(Schema):
    endpoint = fields.String(required=True)
    created_at = fields.String(required=True)


class VapidKeySchema(Schema):
    vapid_public_key = fields.String(allow_none=True, required=True)


class RecipientSchema(Schema):
    kind = fields.String(required=True)
    id = fields.Integer(required=True)
    email = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    study_id = fields.String(allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    purpose = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True)
    recipient = fields.Nested(RecipientSchema, required=True)
    subject = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    next_attempt_at = fields.String(allow_none=True)
    sent_at = fields.String(allow_none=True)


def recipient_of(row: dict) -> dict:
    """A notification row's recipient, as FlagNotificationsSchema shows it."""
    if row["recipient_kind"] == "staff":
        return {
            "kind": "staff",
            "id": row["recipient_id"],
            "email": row["staff_email"],
            "role": row["staff_role"],
        }
    return {"kind": "participant", "id": row["recipient_id"], "study_id": row["study_id"]}


class FlagNotificationsSchema(Schema):
    flag_id = fields.Integer(required=True)
    notifications = fields.List(fields.Nested(NotificationSchema), required=True)


class SubscriptionStateSchema(Schema):
    id = fields.Integer(required=True)
    service = fields.String(required=True, metadata={"description": "push service host"})
    created_at = fields.String(required=True)
    last_success_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)


class SyncProblemSchema(Schema):
    kind = fields.String(required=True)
    date = fields.String(allow_none=True)
    occurrence_id = fields.Integer(allow_none=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    first_reported_at = fields.String(required=True)
    last_reported_at = fields.String(required=True)
    reports = fields.Integer(required=True)


class ReminderOutlookSchema(Schema):
    will_arrive = fields.Boolean(required=True)
    text = fields.String(required=True)


class ReachabilitySchema(Schema):
    study_id = fields.String(required=True)
    push_subscriptions = fields.Integer(
        required=True, metadata={"description": "live push subscriptions"}
    )
    notifications_enabled = fields.Boolean(required=True)
    reminder_time = fields.String(allow_none=True)
    last_seen_at = fields.String(allow_none=True)
    last_entry_date = fields.String(allow_none=True)
    last_entry_received_at = fields.String(allow_none=True)
    last_reminder_at = fields.String(allow_none=True)
    last_push_delivered_at = fields.String(allow_none=True)
    subscriptions = fields.List(fields.Nested(SubscriptionStateSchema), required=True)
    reminders = fields.Nested(
        ReminderOutlookSchema,
        required=True,
        metadata={"description": "whether the daily reminder will arrive, and why not"},
    )
    sync_problems = fields.List(
        fields.Nested(SyncProblemSchema),
        metadata={"description": "what the phone reported it could not send (30 days)"},
    )
