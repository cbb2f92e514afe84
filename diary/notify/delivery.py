"""Deliver due outbox rows: claim one, send it, record the outcome; repeat.

Claiming and recording are short transactions; the network call happens
between them, outside any transaction, so a slow mail server never holds the
database's write lock.

Delivery semantics (a deliberate choice): each claim sends at most once. A
row is claimed atomically (status 'sending', attempts + 1, a token only this
runner knows) and only the holder of that token may mark it sent, retried or
given up, so two runners never send the same row. If a runner dies between
the send and the mark, the row stays 'sending'; after CLAIM_STALE_AFTER
another run re-claims it as a new attempt. That can repeat one message that
had in fact gone out — we accept this rather than risk losing an urgent
clinical alert, and e-mails keep the same Message-ID on every attempt so
mail clients fold such a repeat into one.

Transient failures go back to 'pending' with exponential backoff (1, 2, 4 …
minutes, capped at MAX_BACKOFF) until GIVE_UP_AFTER, then 'dead'. Permanent
refusals ('failed') are not retried. Every attempt is counted and the last
error kept for staff to see.
"""

from __future__ import annotations

import json
import logging
import secrets
import smtplib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction
from ..study import Study
from . import email, messages, queries, webpush

log = logging.getLogger("diary.notify")

CLAIM_STALE_AFTER = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=60)
GIVE_UP_AFTER = timedelta(hours=72)
STAFF_PUSH_TTL_SECONDS = 24 * 3600


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 1, 2, 4 … minutes, capped."""
    return min(timedelta(minutes=2 ** min(max(attempts, 1) - 1, 16)), MAX_BACKOFF)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | failed | dead
    error: str | None = None
    channel: str | None = None  # the channel a sent row went through (email, log, push)
    channel_down: bool = False  # stop trying this channel for the rest of the run
    gone_subscription: int | None = None


class _Transports:
    """The run's mailer and pusher, created on first use and closed at the end."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._mailer: email.SmtpMailer | email.LogMailer | None = None
        self._pusher: webpush.Pusher | None = None

    def mailer(self) -> email.SmtpMailer | email.LogMailer:
        if self._mailer is None:
            url = self.config.get("DIARY_SMTP_URL")
            if url:
                self._mailer = email.SmtpMailer(email.parse_smtp_url(url))
            elif self.config.get("DIARY_ENV", "development") == "development":
                self._mailer = email.LogMailer()
            else:
                raise email.SmtpConfigError("DIARY_SMTP_URL is not set")
        return self._mailer

    def pusher(self) -> webpush.Pusher:
        if self._pusher is None:
            key = self.config.get("DIARY_VAPID_PRIVATE_KEY")
            if not key:
                raise webpush.VapidKeyError("DIARY_VAPID_PRIVATE_KEY is not set")
            self._pusher = webpush.Pusher(
                key,
                self.config.get("DIARY_VAPID_SUBJECT") or "",
                private_addresses=self.config.get("PUSH_SERVICES") is None,
            )
        return self._pusher

    def close(self) -> None:
        for transport in (self._mailer, self._pusher):
            if transport is not None:
                transport.close()


def deliver_due(
    db: Database,
    *,
    now: datetime,
    study: Study,
    config: Mapping[str, Any],
    limit: int = 500,
) -> dict[str, int]:
    """Send every due row (up to `limit`); return counts by outcome."""
    counts: Counter[str] = Counter()
    with transaction(db):
        expired = queries.expire_overdue(db, now=now)
    if expired:
        counts["expired"] = expired
    token = secrets.token_hex(16)
    # A channel that failed as a whole (server down, not configured) is not
    # tried again in this run: its other due rows get the same error and backoff.
    down: dict[str, str] = {}
    transports = _Transports(config)
    try:
        for _ in range(limit):
            with transaction(db):
                row = queries.claim_next(
                    db,
                    token=token,
                    now=now,
                    stale_before=now - CLAIM_STALE_AFTER,
                    channels=("email", "push"),
                )
            if row is None:
                break
            row["payload"] = json.loads(row["payload"])
            if row["channel"] in down:
                outcome = Outcome("retry", down[row["channel"]])
            else:
                outcome = _attempt(db, row, transports, study, config, now)
            _record(db, row, token, outcome, now)
            counts[outcome.kind] += 1
            if outcome.channel_down:
                down[row["channel"]] = outcome.error or "unavailable"
    finally:
        transports.close()
    return dict(counts)


def _attempt(db, row, transports, study, config, now) -> Outcome:
    try:
        if row["channel"] == "email":
            return _send_email(db, row, transports, study, config)
        return _send_push(db, row, transports, now)
    except Exception as exc:  # a bug must not stop the other rows: retry it, and say so
        log.exception("outbox row %s: unexpected error", row["id"])
        return Outcome("retry", f"internal error: {type(exc).__name__}")


def _send_email(db, row, transports, study, config) -> Outcome:
    staff = queries.staff_member(db, row["recipient_id"])
    if staff is None or not staff["active"]:
        return Outcome("failed", "the recipient's staff account is inactive")
    try:
        mailer = transports.mailer()
    except email.SmtpConfigError as exc:
        return Outcome("retry", str(exc), channel_down=True)
    sender = email.sender_address(config.get("DIARY_MAIL_FROM") or "diary@localhost")
    msg = email.build_message(
        sender=sender,
        to=staff["email"],
        subject=f"[{study.id}] {row['subject']}",
        body=messages.email_body(row, study, config.get("DIARY_BASE_URL") or ""),
        message_id=email.message_id(row["id"], row["created_at"], sender),
        date=clock.parse_iso(row["created_at"]),
    )
    try:
        mailer.send(msg)
    except email.PermanentMailError as exc:
        return Outcome("failed", str(exc))
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome("retry", email.describe_error(exc), channel_down=True)
    return Outcome("sent", channel=mailer.channel)


def _send_push(db, row, transports, now) -> Outcome:
    sub = queries.subscription(db, row["push_subscription_id"])
    if sub is None or sub["ended_at"]:
        reason = sub["end_reason"] if sub else "removed"
        return Outcome("failed", f"the push subscription has ended ({reason})")
    if row["purpose"] == "reminder" and "occurrence_id" in row["payload"]:
        if queries.questionnaire_done(db, row["payload"]["occurrence_id"]):
            return Outcome("dead", "not needed any more: the questionnaire was answered")
    elif row["purpose"] == "reminder" and queries.has_entry(
        db, row["participant_id"], date.fromisoformat(row["payload"]["date"])
    ):
        return Outcome("dead", "not needed any more: the day's entry was made")
    try:
        pusher = transports.pusher()
    except webpush.VapidKeyError as exc:
        return Outcome("retry", str(exc), channel_down=True)
    if row["expires_at"]:
        ttl = int((clock.parse_iso(row["expires_at"]) - now).total_seconds())
    else:
        ttl = STAFF_PUSH_TTL_SECONDS
    urgency = "normal" if row["purpose"] == "reminder" else "high"
    try:
        pusher.send(sub, messages.push_message(row), ttl=ttl, urgency=urgency)
    except webpush.PushGone as exc:
        return Outcome("failed", f"{exc}: subscription removed", gone_subscription=sub["id"])
    except webpush.PushRejected as exc:
        return Outcome("failed", str(exc))
    except webpush.PushTransient as exc:
        return Outcome("retry", str(exc))
    return Outcome("sent", channel="push")


def _record(db: Database, row: dict, token: str, outcome: Outcome, now: datetime) -> None:
    with transaction(db):
        if outcome.kind == "sent":
            done = queries.mark_sent(db, row["id"], token, channel=outcome.channel, now=now)
            if row["push_subscription_id"]:
                queries.mark_subscription_success(db, row["push_subscription_id"], now=now)
        elif outcome.kind == "retry":
            if now - clock.parse_iso(row["created_at"]) >= GIVE_UP_AFTER:
                done = queries.mark_given_up(
                    db, row["id"], token, status="dead", error=f"gave up: {outcome.error}"
                )
            else:
                done = queries.mark_retry(
                    db,
                    row["id"],
                    token,
                    error=outcome.error or "unknown error",
                    next_attempt_at=now + backoff(row["attempts"]),
                )
        else:
            done = queries.mark_given_up(
                db, row["id"], token, status=outcome.kind, error=outcome.error or outcome.kind
            )
        if outcome.gone_subscription is not None:
            _remove_subscription(db, outcome.gone_subscription, row, now)
    if not done:
        log.warning("outbox row %s: claim was lost before its outcome was recorded", row["id"])
    elif outcome.kind != "sent":
        log.warning(
            "outbox row %s (%s %s, attempt %s): %s – %s",
            row["id"],
            row["purpose"],
            row["channel"],
            row["attempts"],
            outcome.kind,
            outcome.error,
        )


def _remove_subscription(db: Database, subscription_id: int, row: dict, now: datetime) -> None:
    if not queries.end_subscription(db, subscription_id, "expired", now=now):
        return
    queries.fail_pending_for_subscription(
        db, subscription_id, "the push subscription has ended (expired)"
    )
    audit.record(
        db,
        actor=audit.system("deliver"),
        action="push_subscription.expire",
        object_type="push_subscription",
        object_id=subscription_id,
        participant_id=row["participant_id"] if row["recipient_kind"] == "participant" else None,
        after={"reason": "push service answered 404/410"},
        at=now,
    )
