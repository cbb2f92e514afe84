"""Push subscriptions (participants and staff), the VAPID public key, and what
staff can see of notifications: per flag, and per participant reachability."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask_login import current_user

from .. import audit, clock
from ..access import participant_required, staff_required
from ..db import get_db, transaction
from ..schemas import Blueprint, OkSchema
from . import queries, webpush
from .schemas import (
    PushEndpointSchema,
    PushSubscribedSchema,
    PushSubscriptionSchema,
    VapidKeySchema,
)

log = logging.getLogger(__name__)

blp = Blueprint("notifications", __name__, description="Push subscriptions and notifications")


def _owner() -> tuple[str, int]:
    if current_user.kind == "staff":
        return "staff", current_user.staff_id
    return "participant", current_user.participant_id


def _subscribe(body: dict) -> dict:
    db = get_db()
    now = clock.now()
    kind, owner_id = _owner()
    with transaction(db):
        sub_id = queries.save_subscription(
            db,
            owner_kind=kind,
            owner_id=owner_id,
            endpoint=body["endpoint"],
            p256dh=body["keys"]["p256dh"],
            auth=body["keys"]["auth"],
            now=now,
        )
        audit.record(
            db,
            actor=current_user.actor,
            action="push_subscription.create",
            object_type="push_subscription",
            object_id=sub_id,
            participant_id=owner_id if kind == "participant" else None,
            site_id=getattr(current_user, "site_id", None),
            after={"service": urlsplit(body["endpoint"]).hostname},  # the URL is a capability
            at=now,
        )
    return {"endpoint": body["endpoint"], "created_at": clock.iso(now)}


def _unsubscribe(body: dict) -> dict:
    db = get_db()
    now = clock.now()
    kind, owner_id = _owner()
    with transaction(db):
        sub_id = queries.end_owned_subscription(
            db, owner_kind=kind, owner_id=owner_id, endpoint=body["endpoint"], now=now
        )
        if sub_id is not None:
            audit.record(
                db,
                actor=current_user.actor,
                action="push_subscription.end",
                object_type="push_subscription",
                object_id=sub_id,
                participant_id=owner_id if kind == "participant" else None,
                site_id=getattr(current_user, "site_id", None),
                at=now,
            )
    return {"ok": True}


@blp.route("/push-subscriptions", methods=["POST"])
@participant_required
@blp.arguments(PushSubscriptionSchema)
@blp.response(201, PushSubscribedSchema)
def participant_subscribe(body):
    """Save this device's push subscription (reminders)."""
    return _subscribe(body)


@blp.route("/push-subscriptions", methods=["DELETE"])
@participant_required
@blp.arguments(PushEndpointSchema)
@blp.response(200, OkSchema)
def participant_unsubscribe(body):
    """Stop pushing to this device (idempotent)."""
    return _unsubscribe(body)


@blp.route("/staff/push-subscriptions", methods=["POST"])
@staff_required("flags.read")
@blp.arguments(PushSubscriptionSchema)
@blp.response(201, PushSubscribedSchema)
def staff_subscribe(body):
    """Save this browser's push subscription (urgent flags and escalations)."""
    return _subscribe(body)


@blp.route("/staff/push-subscriptions", methods=["DELETE"])
@staff_required("flags.read")
@blp.arguments(PushEndpointSchema)
@blp.response(200, OkSchema)
def staff_unsubscribe(body):
    return _unsubscribe(body)


@blp.route("/push/vapid-public-key", methods=["GET"])
@blp.response(200, VapidKeySchema)
def get_vapid_public_key():
    return {"vapid_public_key": webpush.app_public_key()}
