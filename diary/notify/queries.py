"""SQL for push subscriptions, the outbox and the notification bookkeeping tables."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..errors import APIError

# --- recipients ---------------------------------------------------------------


# Who acts on a site's flags (staff `s` linked by `ss`): its active investigators and
# coordinators. A site with none has its flags sent to the admins instead (_UNSTAFFED).
_ACTS_ON_FLAGS = "s.active = 1 AND s.role IN ('investigator', 'coordinator')"


def site_flag_staff(db: Database, site_id: int) -> list[dict[str, Any]]:
    """Active investigators and coordinators of one site (never another site's staff)."""
    return list(
        db.query(
            "SELECT s.id, s.email, s.role FROM staff s"
            " JOIN staff_sites ss ON ss.staff_id = s.id"
            f" WHERE ss.site_id = ? AND {_ACTS_ON_FLAGS} ORDER BY s.id",
            [site_id],
        )
    )


def admins(db: Database) -> list[dict[str, Any]]:
    """Every active admin."""
    return list(
        db.query(
            "SELECT id, email, role FROM staff WHERE active = 1 AND role = 'admin' ORDER BY id"
        )
    )


def escalation_staff(db: Database, site_id: int) -> list[dict[str, Any]]:
    """Active investigators of the site, and every active admin."""
    return list(
        db.query(
            "SELECT s.id, s.email, s.role FROM staff s WHERE s.active = 1 AND (s.role = 'admin'"
            " OR (s.role = 'investigator' AND s.id IN"
            "     (SELECT staff_id FROM staff_sites WHERE site_id = ?)))"
            " ORDER BY s.id",
            [site_id],
        )
    )


def staff_member(db: Database, staff_id: int) -> dict[str, Any] | None:
    return next(
        db.query("SELECT id, email, role, active FROM staff WHERE id = ?", [staff_id]), None
    )


# --- push subscriptions -------------------------------------------------------


def save_subscription(
    db: Database,
    *,
    owner_kind: str,
    owner_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    now: datetime,
) -> int:
    """Insert or revive the subscription for `endpoint` (a browser has one per app);
    409 when a live subscription of another owner holds it."""
    staff_id = owner_id if owner_kind == "staff" else None
    participant_id = owner_id if owner_kind == "participant" else None
    row = db.execute(
        "INSERT INTO push_subscriptions (owner_kind, staff_id, participant_id, endpoint, p256dh,"
        " auth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (endpoint) DO UPDATE SET owner_kind = excluded.owner_kind,"
        " staff_id = excluded.staff_id, participant_id = excluded.participant_id,"
        " p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at,"
        " last_success_at = NULL, ended_at = NULL, end_reason = NULL"
        # An endpoint stays its first owner's until they remove it (or it is gone).
        " WHERE push_subscriptions.ended_at IS NOT NULL"
        " OR (push_subscriptions.owner_kind = excluded.owner_kind"
        " AND push_subscriptions.staff_id IS excluded.staff_id"
        " AND push_subscriptions.participant_id IS excluded.participant_id)"
        " RETURNING id",
        [owner_kind, staff_id, participant_id, endpoint, p256dh, auth, clock.iso(now)],
    ).fetchall()
    if not row:
        raise APIError(
            409,
            "This browser's notifications belong to another account. Sign that account out of"
            " notifications first (Settings), then turn them on here.",
            code="subscription_taken",
        )
    return row[0][0]


def end_owned_subscription(
    db: Database, *, owner_kind: str, owner_id: int, endpoint: str, now: datetime
) -> int | None:
    """End the owner's live subscription for `endpoint`; return its id, None if none."""
    column = "staff_id" if owner_kind == "staff" else "participant_id"
    row = db.execute(
        f"UPDATE push_subscriptions SET ended_at = ?, end_reason = 'unsubscribed'"
        f" WHERE endpoint = ? AND {column} = ? AND ended_at IS NULL RETURNING id",
        [clock.iso(now), endpoint, owner_id],
    ).fetchall()
    return row[0][0] if row else None


def end_subscription(db: Database, subscription_id: int, reason: str, *, now: datetime) -> bool:
    cursor = db.execute(
        "UPDATE push_subscriptions SET ended_at = ?, end_reason = ?"
        " WHERE id = ? AND ended_at IS NULL",
        [clock.iso(now), reason, subscription_id],
    )
    return cursor.rowcount == 1


def subscription(db: Database, subscription_id: int) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM push_subscriptions WHERE id = ?", [subscription_id]), None)


def live_subscriptions(db: Database, owner_kind: str, owner_ids: Iterable[int]) -> list[dict]:
    ids = sorted(set(owner_ids))
    if not ids:
        return []
    column = "staff_id" if owner_kind == "staff" else "participant_id"
    marks = ", ".join("?" for _ in ids)
    return list(
        db.query(
            f"SELECT * FROM push_subscriptions WHERE {column} IN ({marks}) AND ended_at IS NULL"
            " ORDER BY id",
            ids,
        )
    )


def mark_subscription_success(db: Database, subscription_id: int, *, now: datetime) -> None:
    db.execute(
        "UPDATE push_subscriptions SET last_success_at = ? WHERE id = ?",
        [clock.iso(now), subscription_id],
    )


def participant_subscriptions(db: Database, participant_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, endpoint, created_at, last_success_at, ended_at, end_reason"
            " FROM push_subscriptions WHERE participant_id = ? ORDER BY id DESC",
            [participant_id],
        )
    )


# --- the outbox ---------------------------------------------------------------


def enqueue(
    db: Database,
    *,
    recipient_kind: str,
    recipient_id: int,
    channel: str,
    purpose: str,
    subject: str,
    payload: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    flag_id: int | None = None,
    participant_id: int | None = None,
    push_subscription_id: int | None = None,
    expires_at: datetime | None = None,
) -> int | None:
    """Insert one outbox row; None when the same dedupe_key was enqueued before."""
    row = db.execute(
        "INSERT INTO outbox (recipient_kind, recipient_id, channel, push_subscription_id,"
        " purpose, flag_id, participant_id, subject, payload, dedupe_key, next_attempt_at,"
        " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        [
            recipient_kind,
            recipient_id,
            channel,
            push_subscription_id,
            purpose,
            flag_id,
            participant_id,
            subject,
            json.dumps(payload, sort_keys=True),
            dedupe_key,
            clock.iso(now),
            clock.iso(expires_at) if expires_at else None,
            clock.iso(now),
        ],
    ).fetchall()  # fetch all: a RETURNING statement left unfinished keeps its transaction open
    return row[0][0] if row else None


def link_flags(db: Database, outbox_id: int, flag_ids: Iterable[int]) -> None:
    db.conn.executemany(
        "INSERT INTO outbox_flags (outbox_id, flag_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(outbox_id, flag_id) for flag_id in flag_ids],
    )


def expire_overdue(db: Database, *, now: datetime) -> int:
    """Pending rows past their expiry (a reminder for a day that ended) are given up."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'dead', last_error = 'expired before it could be delivered'"
        " WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?",
        [clock.iso(now)],
    )
    return cursor.rowcount


def claim_next(
    db: Database,
    *,
    token: str,
    now: datetime,
    stale_before: datetime,
    channels: Iterable[str],
) -> dict[str, Any] | None:
    """Atomically take one due row for this runner (status 'sending', attempts + 1).

    Due: pending with next_attempt_at reached, or a claim left 'sending' by a
    runner that died (claimed before `stale_before`). One UPDATE … RETURNING,
    so two runners can never hold the same row.
    """
    channels = sorted(set(channels))
    if not channels:
        return None
    marks = ", ".join("?" for _ in channels)
    row = db.execute(
        "UPDATE outbox SET status = 'sending', claim_token = ?, claimed_at = ?,"
        " attempts = attempts + 1"
        " WHERE id = (SELECT id FROM outbox"
        f"   WHERE channel IN ({marks}) AND ((status = 'pending' AND next_attempt_at <= ?)"
        "     OR (status = 'sending' AND claimed_at <= ?))"
        "   ORDER BY next_attempt_at, id LIMIT 1)"
        " RETURNING *",
        [token, clock.iso(now), *channels, clock.iso(now), clock.iso(stale_before)],
    )
    names = [d[0] for d in row.description]
    values = row.fetchall()
    return dict(zip(names, values[0], strict=True)) if values else None


def mark_sent(db: Database, outbox_id: int, token: str, *, channel: str, now: datetime) -> bool:
    cursor = db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, channel = ?, last_error = NULL,"
        " claim_token = NULL WHERE id = ? AND claim_token = ? AND status = 'sending'",
        [clock.iso(now), channel, outbox_id, token],
    )
    return cursor.rowcount == 1


def mark_retry(
    db: Database, outbox_id: int, token: str, *, error: str, next_attempt_at: datetime
) -> bool:
    cursor = db.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?,"
        " claim_token = NULL WHERE id = ? AND claim_token = ? AND status = 'sending'",
        [clock.iso(next_attempt_at), error[:1000], outbox_id, token],
    )
    return cursor.rowcount == 1


def mark_given_up(db: Database, outbox_id: int, token: str, *, status: str, error: str) -> bool:
    if status not in ("failed", "dead"):
        raise ValueError(status)
    cursor = db.execute(
        "UPDATE outbox SET status = ?, last_error = ?, claim_token = NULL"
        " WHERE id = ? AND claim_token = ? AND status = 'sending'",
        [status, error[:1000], outbox_id, token],
    )
    return cursor.rowcount == 1


def fail_pending_for_subscription(db: Database, subscription_id: int, error: str) -> int:
    cursor = db.execute(
        "UPDATE outbox SET status = 'failed', last_error = ?"
        " WHERE push_subscription_id = ? AND status = 'pending'",
        [error, subscription_id],
    )
    return cursor.rowcount


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["payload"] = json.loads(row["payload"])
    return row


def outbox_rows(db: Database, **where: Any) -> list[dict[str, Any]]:
    """Outbox rows matching column = value filters, oldest first (tests and tools)."""
    clauses = [f"{column} = ?" for column in where]
    sql = "SELECT * FROM outbox" + (" WHERE " + " AND ".join(clauses) if clauses else "")
    return [_decode(r) for r in db.query(sql + " ORDER BY id", list(where.values()))]


def flag_notifications(db: Database, flag_id: int) -> list[dict[str, Any]]:
    """Every notification about one flag (its own and the digests that listed it)."""
    return [
        _decode(r)
        for r in db.query(
            "SELECT o.*, s.email AS staff_email, s.role AS staff_role, p.study_id"
            " FROM outbox o"
            " LEFT JOIN staff s ON o.recipient_kind = 'staff' AND s.id = o.recipient_id"
            " LEFT JOIN participants p ON o.recipient_kind = 'participant'"
            "   AND p.id = o.recipient_id"
            " WHERE o.flag_id = ?"
            "   OR o.id IN (SELECT outbox_id FROM outbox_flags WHERE flag_id = ?)"
            " ORDER BY o.id",
            [flag_id, flag_id],
        )
    ]


# --- urgent flags and escalation ---------------------------------------------


def flag_for_notice(db: Database, flag_id: int) -> dict[str, Any] | None:
    """The flag with its participant's study ID and site, as notifications need them."""
    row = next(
        db.query(
            "SELECT f.id, f.kind, f.severity, f.status, f.first_date, f.last_date, f.detail,"
            " f.opened_at, f.acknowledged_at, f.reopen_count, p.id AS participant_id, p.study_id,"
            " s.id AS site_id, s.code AS site, s.timezone AS site_timezone"
            " FROM flags f JOIN participants p ON p.id = f.participant_id"
            " JOIN sites s ON s.id = p.site_id WHERE f.id = ?",
            [flag_id],
        ),
        None,
    )
    if row:
        row["detail"] = json.loads(row["detail"])
    return row


def mark_urgent(db: Database, flag_id: int, *, now: datetime) -> bool:
    """Start the escalation clock; False when the flag was already urgent."""
    cursor = db.execute(
        "INSERT INTO urgent_flags (flag_id, urgent_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [flag_id, clock.iso(now)],
    )
    return cursor.rowcount == 1


def restart_urgency(db: Database, flag_id: int, *, now: datetime) -> None:
    """A reopened flag's escalation clock starts again from now."""
    db.execute(
        "INSERT INTO urgent_flags (flag_id, urgent_at) VALUES (?, ?) ON CONFLICT (flag_id)"
        " DO UPDATE SET urgent_at = excluded.urgent_at, escalated_at = NULL",
        [flag_id, clock.iso(now)],
    )


def flags_to_escalate(db: Database, *, urgent_before: datetime) -> list[int]:
    """Urgent flags still open (never acknowledged) since `urgent_before` or earlier."""
    return [
        r["flag_id"]
        for r in db.query(
            "SELECT u.flag_id FROM urgent_flags u JOIN flags f ON f.id = u.flag_id"
            " WHERE u.escalated_at IS NULL AND f.status = 'open' AND f.acknowledged_at IS NULL"
            " AND u.urgent_at <= ? ORDER BY u.urgent_at, u.flag_id",
            [clock.iso(urgent_before)],
        )
    ]


def mark_escalated(db: Database, flag_id: int, *, now: datetime) -> bool:
    cursor = db.execute(
        "UPDATE urgent_flags SET escalated_at = ? WHERE flag_id = ? AND escalated_at IS NULL",
        [clock.iso(now), flag_id],
    )
    return cursor.rowcount == 1


# --- digests ------------------------------------------------------------------


# A site (`si`) with nobody to act on its flags: they go to the admins instead (the
# urgent at once, enqueue_urgent_flag; the rest in their digest).
_UNSTAFFED = f"""NOT EXISTS (SELECT 1 FROM staff_sites ss JOIN staff s ON s.id = ss.staff_id
    WHERE ss.site_id = si.id AND {_ACTS_ON_FLAGS})"""


def digest_groups(db: Database) -> list[dict[str, Any]]:
    """Each active staff member's sites, grouped by site time zone; an admin's include the
    sites with nobody to act on their flags (`unstaffed_sites`: their codes)."""
    groups = db.query(
        f"""
        SELECT staff_id, email, timezone, group_concat(site_id) AS site_ids,
               group_concat(CASE WHEN unstaffed THEN code END) AS unstaffed_sites
        FROM (SELECT s.id AS staff_id, s.email, si.timezone, si.id AS site_id, si.code,
                     0 AS unstaffed
              FROM staff s JOIN staff_sites ss ON ss.staff_id = s.id
              JOIN sites si ON si.id = ss.site_id WHERE s.active = 1
              UNION
              SELECT a.id, a.email, si.timezone, si.id, si.code, 1
              FROM staff a CROSS JOIN sites si
              WHERE a.active = 1 AND a.role = 'admin' AND {_UNSTAFFED})
        GROUP BY staff_id, timezone ORDER BY staff_id, timezone
        """
    )
    return [
        {
            **g,
            "site_ids": sorted({int(x) for x in g["site_ids"].split(",")}),
            "unstaffed_sites": sorted(set((g["unstaffed_sites"] or "").split(",")) - {""}),
        }
        for g in groups
    ]


def digest_checkpoint(db: Database, staff_id: int, timezone: str) -> dict[str, Any] | None:
    return next(
        db.query(
            "SELECT * FROM digest_checkpoints WHERE staff_id = ? AND timezone = ?",
            [staff_id, timezone],
        ),
        None,
    )


def save_digest_checkpoint(
    db: Database, staff_id: int, timezone: str, *, covered_until: datetime, local_date: date
) -> None:
    db.execute(
        "INSERT INTO digest_checkpoints (staff_id, timezone, covered_until, last_local_date)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (staff_id, timezone) DO UPDATE SET"
        " covered_until = excluded.covered_until, last_local_date = excluded.last_local_date",
        [staff_id, timezone, clock.iso(covered_until), local_date.isoformat()],
    )


# The flags a job opens are stamped with the instant the job started, and may commit
# after a digest read the flags (it held the write lock first): a digest looks back this
# much further than its checkpoint, and lists each flag once per opening for each staff
# member (outbox_flags), so such a flag is in the next digest, once.
DIGEST_LOOKBACK = timedelta(days=2)


def digest_flags(
    db: Database, site_ids: Iterable[int], *, staff_id: int, after: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Non-urgent, unresolved flags at `site_ids` opened, or reopened by a new finding,
    in (after, until] (or up to DIGEST_LOOKBACK before `after`) that no digest to
    `staff_id` has listed since."""
    ids = sorted(set(site_ids))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return list(
        db.query(
            "SELECT f.id, f.kind, f.severity, f.status, f.first_date, f.last_date, f.opened_at,"
            " p.study_id, s.code AS site"
            " FROM flags f JOIN participants p ON p.id = f.participant_id"
            " JOIN sites s ON s.id = p.site_id"
            f" WHERE p.site_id IN ({marks}) AND f.severity != 'urgent'"
            " AND f.status != 'resolved'"
            # the flag's latest opening: opened, or reopened by a new finding
            " AND coalesce(f.reopened_at, f.opened_at) > ?"
            " AND coalesce(f.reopened_at, f.opened_at) <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox_flags x JOIN outbox o ON o.id = x.outbox_id"
            "   WHERE x.flag_id = f.id AND o.purpose = 'digest' AND o.recipient_id = ?"
            "   AND o.created_at >= coalesce(f.reopened_at, f.opened_at))"
            " ORDER BY s.code, CASE f.severity WHEN 'high' THEN 0 ELSE 1 END, f.opened_at, f.id",
            [*ids, clock.iso(after - DIGEST_LOOKBACK), clock.iso(until), staff_id],
        )
    )


def open_flag_count(db: Database, site_ids: Iterable[int]) -> int:
    ids = sorted(set(site_ids))
    if not ids:
        return 0
    marks = ", ".join("?" for _ in ids)
    return db.execute(
        "SELECT count(*) FROM flags f JOIN participants p ON p.id = f.participant_id"
        f" WHERE p.site_id IN ({marks}) AND f.status = 'open'",
        ids,
    ).fetchone()[0]


# --- reminders ----------------------------------------------------------------


def reminder_candidates(db: Database, participant_id: int | None = None) -> list[dict[str, Any]]:
    """Active participants with reminders on and at least one live push subscription,
    whose diary is open (not locked, the study not frozen): the one rule of who can be
    reminded, for the job and for what the console says (`participant_id`: just them)."""
    return list(
        db.query(
            # the zone and day 0 as the participant's row keeps them (migration 0018)
            "SELECT p.id, p.study_id, p.reminder_time, p.current_timezone AS timezone,"
            " p.first_injection_date AS first_injection"
            " FROM participants p WHERE p.status = 'active' AND p.notifications_enabled = 1"
            # A closed diary (locked, or the study frozen) asks nothing of anyone.
            " AND p.locked_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM study_freezes WHERE lifted_at IS NULL)"
            " AND EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.participant_id = p.id"
            "   AND ps.ended_at IS NULL)"
            " AND (? IS NULL OR p.id = ?)"
            " ORDER BY p.id",
            [participant_id, participant_id],
        )
    )


def reminder_outlook(
    db: Database, participant_id: int, *, default_time: str, push_configured: bool
) -> dict[str, Any]:
    """Whether the participant's daily reminder will arrive, in words for the staff:
    the job's own rule (reminder_candidates) decides; the text says why not."""
    row = next(
        db.query(
            "SELECT p.status, p.notifications_enabled, p.locked_at, p.reminder_time,"
            " EXISTS (SELECT 1 FROM study_freezes WHERE lifted_at IS NULL) AS frozen,"
            " (SELECT count(*) FROM push_subscriptions ps WHERE ps.participant_id = p.id"
            "   AND ps.ended_at IS NULL) AS devices"
            " FROM participants p WHERE p.id = ?",
            [participant_id],
        )
    )
    if reminder_candidates(db, participant_id) and push_configured:
        devices = row["devices"]
        return {
            "will_arrive": True,
            "text": f"Every day at {row['reminder_time'] or default_time} (the participant's"
            f" time) on {devices} device{'s' if devices != 1 else ''}, when the day's entry"
            " is missing.",
        }
    reasons = [
        (row["status"] != "active", "the participant is no longer active in the study"),
        (bool(row["locked_at"]), "the participant's diary is locked"),
        (bool(row["frozen"]), "the study is frozen"),
        (not row["notifications_enabled"], "the participant turned reminders off on the phone"),
        (
            not row["devices"],
            "no phone has allowed notifications (ask the participant to turn reminders on"
            " in the app's Settings)",
        ),
        (not push_configured, "Web Push is not set up on this server (DIARY_VAPID_PRIVATE_KEY)"),
    ]
    reason = next(text for applies, text in reasons if applies)
    return {"will_arrive": False, "text": f"No reminders will arrive: {reason}."}


def has_entry(db: Database, participant_id: int, day: date) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM entries WHERE participant_id = ? AND date = ?",
            [participant_id, day.isoformat()],
        ).fetchone()
        is not None
    )


def questionnaire_done(db: Database, occurrence_id: int) -> bool:
    """True once the questionnaire is answered or closed: its reminder is not needed."""
    row = db.execute(
        "SELECT status FROM questionnaire_occurrences WHERE id = ?", [occurrence_id]
    ).fetchone()
    return row is None or row[0] != "pending"


def was_reminded(db: Database, participant_id: int, day: date) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM participant_reminders WHERE participant_id = ? AND date = ?",
            [participant_id, day.isoformat()],
        ).fetchone()
        is not None
    )


def record_reminder(db: Database, participant_id: int, day: date, *, now: datetime) -> bool:
    """Claim the day's reminder for this participant; False when it was already sent."""
    cursor = db.execute(
        "INSERT INTO participant_reminders (participant_id, date, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [participant_id, day.isoformat(), clock.iso(now)],
    )
    return cursor.rowcount == 1


# --- reachability -------------------------------------------------------------


def reachability(db: Database, participant_id: int) -> dict[str, Any]:
    row = next(
        db.query(
            "SELECT p.last_seen_at, p.notifications_enabled, p.reminder_time,"
            " (SELECT count(*) FROM push_subscriptions ps WHERE ps.participant_id = p.id"
            "   AND ps.ended_at IS NULL) AS push_subscriptions,"
            " (SELECT max(date) FROM entries e WHERE e.participant_id = p.id)"
            "   AS last_entry_date,"
            " (SELECT max(received_at) FROM entries e WHERE e.participant_id = p.id)"
            "   AS last_entry_received_at,"
            " (SELECT max(sent_at) FROM outbox o WHERE o.participant_id = p.id"
            "   AND o.purpose = 'reminder' AND o.status = 'sent') AS last_reminder_at,"
            " (SELECT max(last_success_at) FROM push_subscriptions ps"
            "   WHERE ps.participant_id = p.id) AS last_push_delivered_at"
            " FROM participants p WHERE p.id = ?",
            [participant_id],
        )
    )
    return row
