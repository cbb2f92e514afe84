"""Routing (SPEC §7): who gets which notification, enqueued in the event's transaction.

Every function here writes outbox rows and must run inside the caller's
transaction, so a notification exists exactly when its cause does. The
dedupe_key of each row makes enqueuing idempotent: re-running a job, or a
flag rising to urgent twice, never enqueues the same message again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit
from . import messages, queries

log = logging.getLogger("diary.notify")


def _require_transaction(db: Database) -> None:
    if not db.conn.in_transaction:
        raise RuntimeError("notifications are enqueued inside the event's transaction")


def _to_staff(
    db: Database,
    staff: list[dict[str, Any]],
    *,
    purpose: str,
    key: str,
    subject: str,
    payload: dict[str, Any],
    flag_id: int | None,
    participant_id: int | None,
    now: datetime,
) -> list[int]:
    """E-mail each staff member, and push to every live subscription they have."""
    ids: list[int] = []
    common = {
        "recipient_kind": "staff",
        "purpose": purpose,
        "subject": subject,
        "payload": payload,
        "flag_id": flag_id,
        "participant_id": participant_id,
        "now": now,
    }
    for member in staff:
        ids.append(
            queries.enqueue(
                db,
                recipient_id=member["id"],
                channel="email",
                dedupe_key=f"{key}:staff:{member['id']}:email",
                **common,
            )
        )
    for sub in queries.live_subscriptions(db, "staff", (m["id"] for m in staff)):
        ids.append(
            queries.enqueue(
                db,
                recipient_id=sub["staff_id"],
                channel="push",
                push_subscription_id=sub["id"],
                dedupe_key=f"{key}:staff:{sub['staff_id']}:push:{sub['id']}",
                **common,
            )
        )
    return [i for i in ids if i is not None]


def enqueue_urgent_flag(
    db: Database,
    *,
    flag_id: int,
    participant: dict[str, Any],
    now: datetime,
    notice: int = 0,
    restart_clock: bool = False,
    gained: tuple[str, ...] = (),
) -> list[int]:
    """A flag opened urgent, rose to urgent or gained a finding: mail (and push) the
    site's investigators and coordinators now, and start the escalation clock.

    `notice` counts the flag's urgent notices (0: the first), so that each new
    finding is its own message; `restart_clock`: an acknowledged flag was reopened,
    so it may escalate again if nobody acknowledges it this time.
    """
    _require_transaction(db)
    flag = queries.flag_for_notice(db, flag_id)
    if flag is None or flag["severity"] != "urgent":
        return []
    if restart_clock:
        queries.restart_urgency(db, flag_id, now=now)
    else:
        queries.mark_urgent(db, flag_id, now=now)
    staff = queries.site_flag_staff(db, flag["site_id"])
    unstaffed = not staff
    if unstaffed:
        # Nobody at the site to act on it: the study's admins hear of it now, and why,
        # rather than nobody until the escalation.
        log.warning(
            "urgent flag %s: site %s has no active coordinator or investigator; sent to the admins",
            flag_id,
            flag["site"],
        )
        staff = queries.admins(db)
    return _to_staff(
        db,
        staff,
        purpose="flag_urgent",
        key=f"flag_urgent:{flag_id}" + (f":{notice}" if notice else ""),
        subject=messages.urgent_subject(flag, new_finding=bool(notice)),
        payload={
            **messages.flag_payload(flag),
            "notice": notice,
            "gained": list(gained),
            "site_unstaffed": unstaffed,
        },
        flag_id=flag_id,
        participant_id=participant["id"],
        now=now,
    )


def escalate(db: Database, *, flag_id: int, after_minutes: int, now: datetime) -> list[int] | None:
    """Escalate an unacknowledged urgent flag to the site's investigators and the
    admins, once: the urgent_flags row is claimed before anything is enqueued.
    Returns the outbox ids, or None when the flag needs (or had) no escalation."""
    _require_transaction(db)
    flag = queries.flag_for_notice(db, flag_id)
    if flag is None or flag["status"] != "open" or flag["acknowledged_at"]:
        return None
    if not queries.mark_escalated(db, flag_id, now=now):
        return None
    staff = queries.escalation_staff(db, flag["site_id"])
    ids = _to_staff(
        db,
        staff,
        purpose="escalation",
        key=f"escalation:{flag_id}" + (f":{flag['reopen_count']}" if flag["reopen_count"] else ""),
        subject=messages.escalation_subject(flag, after_minutes),
        payload={**messages.flag_payload(flag), "after_minutes": after_minutes},
        flag_id=flag_id,
        participant_id=flag["participant_id"],
        now=now,
    )
    audit.record(
        db,
        actor=audit.system("escalations"),
        action="flag.escalate",
        object_type="flag",
        object_id=flag_id,
        site_id=flag["site_id"],
        participant_id=flag["participant_id"],
        after={"after_minutes": after_minutes, "recipients": [m["id"] for m in staff]},
        at=now,
    )
    return ids


def enqueue_digest(
    db: Database,
    *,
    staff_id: int,
    timezone: str,
    local_day: date,
    flags: list[dict[str, Any]],
    open_flags: int,
    now: datetime,
    unstaffed_sites: Sequence[str] = (),
) -> int | None:
    """One digest e-mail listing `flags`; linked to each flag for its history.
    `unstaffed_sites`: the codes of the sites it covers because nobody there can act."""
    _require_transaction(db)
    payload = {
        "local_date": local_day.isoformat(),
        "timezone": timezone,
        "open_flags": open_flags,
        "unstaffed_sites": list(unstaffed_sites),
        "flags": [
            {
                k: f[k]
                for k in (
                    "id",
                    "study_id",
                    "site",
                    "kind",
                    "severity",
                    "first_date",
                    "last_date",
                    "opened_at",
                )
            }
            for f in flags
        ],
    }
    outbox_id = queries.enqueue(
        db,
        recipient_kind="staff",
        recipient_id=staff_id,
        channel="email",
        purpose="digest",
        subject=messages.digest_subject(len(flags), local_day.isoformat()),
        payload=payload,
        dedupe_key=f"digest:{staff_id}:{timezone}:{local_day.isoformat()}",
        now=now,
    )
    if outbox_id is not None:
        queries.link_flags(db, outbox_id, (f["id"] for f in flags))
    return outbox_id


def enqueue_reminder(
    db: Database,
    *,
    participant_id: int,
    local_day: date,
    expires_at: datetime,
    now: datetime,
) -> list[int]:
    """The day's reminder, pushed to each of the participant's devices; at most
    one per participant and date, whatever happens later (new devices, reruns)."""
    _require_transaction(db)
    if not queries.record_reminder(db, participant_id, local_day, now=now):
        return []
    return _push_to_participant(
        db,
        participant_id,
        subject=f"Diary reminder for {local_day.isoformat()}",
        payload={"date": local_day.isoformat()},
        dedupe=f"reminder:{participant_id}:{local_day.isoformat()}",
        expires_at=expires_at,
        now=now,
    )


def enqueue_questionnaire_reminder(
    db: Database,
    *,
    participant_id: int,
    occurrence: dict[str, Any],
    title: str,
    which: str,
    expires_at: datetime,
    now: datetime,
) -> list[int]:
    """A questionnaire's reminder (`which`: window_opens or last_day), pushed to each of
    the participant's devices; once per occurrence, reminder and device."""
    _require_transaction(db)
    return _push_to_participant(
        db,
        participant_id,
        subject=f"Questionnaire reminder: {title}",
        payload={
            "occurrence_id": occurrence["id"],
            "title": title,
            "which": which,
            "date": occurrence["due_date"],
        },
        dedupe=f"questionnaire:{occurrence['id']}:{which}",
        expires_at=expires_at,
        now=now,
    )


def _push_to_participant(
    db: Database,
    participant_id: int,
    *,
    subject: str,
    payload: dict[str, Any],
    dedupe: str,
    expires_at: datetime,
    now: datetime,
) -> list[int]:
    """One reminder push per live device of the participant (dedupe key per device)."""
    ids = []
    for sub in queries.live_subscriptions(db, "participant", [participant_id]):
        ids.append(
            queries.enqueue(
                db,
                recipient_kind="participant",
                recipient_id=participant_id,
                channel="push",
                push_subscription_id=sub["id"],
                purpose="reminder",
                subject=subject,
                payload=payload,
                dedupe_key=f"{dedupe}:push:{sub['id']}",
                participant_id=participant_id,
                expires_at=expires_at,
                now=now,
            )
        )
    return [i for i in ids if i is not None]


def enqueue_sae_notice(
    db: Database, *, sae: dict[str, Any], stage: str, now: datetime
) -> list[int]:
    """A serious-adverse-event clock at 12 hours (`warning`) or run out (`overdue`)
    without a report to the sponsor: mail (and push) the site's investigators and the
    study admins. The dedupe key makes each stage of each clock one message each."""
    _require_transaction(db)
    staff = queries.escalation_staff(db, sae["site_id"])
    payload = messages.sae_payload(sae, stage)
    return _to_staff(
        db,
        staff,
        purpose="sae_clock",
        # A clock restarted after it was stopped notifies again: its start is in the key.
        key=f"sae_clock:{sae['id']}:{sae['started_at']}:{stage}",
        subject=messages.sae_subject(payload),
        payload=payload,
        flag_id=sae["flag_id"],
        participant_id=sae["participant_id"],
        now=now,
    )
