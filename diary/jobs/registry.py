"""Every scheduled job, declared as data with a stable id (the lock and checkpoint key).

Triggers are APScheduler 3 trigger arguments, evaluated in UTC. Jobs with
local-time behaviour (windows closing at noon in each participant's zone,
whole- or half- or quarter-hour offsets) run often and decide for themselves
what is due as of `now`.
"""

from __future__ import annotations

from . import (
    JobSpec,
    audit_anchor,
    close_days,
    deliver,
    digests,
    escalations,
    questionnaires,
    reminders,
    sae_clocks,
)

JOBS: list[JobSpec] = [
    JobSpec(
        id=close_days.JOB_ID,
        run=close_days.run,
        # Every quarter hour: windows close on the hour, half hour or quarter
        # hour UTC depending on the zone's offset (Asia/Kolkata, Asia/Kathmandu).
        trigger={"trigger": "cron", "minute": "*/15", "second": 5},
        description="Close diary dates whose entry window ended; record misses; "
        "raise missed-entry, pain-flare and opioid flags.",
    ),
    JobSpec(
        id=questionnaires.JOB_ID,
        run=questionnaires.run,
        # Every quarter hour: windows open and close at local midnight in every zone.
        trigger={"trigger": "cron", "minute": "*/15", "second": 25},
        description="Schedule each participant's questionnaires from the protocol; close "
        "as missed (once) those whose window ended without a response.",
    ),
    # Notification jobs enqueue into the outbox early in the minute; delivery
    # runs later in the same minute so a message goes out within the minute.
    JobSpec(
        id=escalations.JOB_ID,
        run=escalations.run,
        trigger={"trigger": "cron", "minute": "*", "second": 10},
        description="Escalate urgent flags not acknowledged within the protocol's delay "
        "to the site's investigators and the admins (once).",
    ),
    JobSpec(
        id=sae_clocks.JOB_ID,
        run=sae_clocks.run,
        trigger={"trigger": "cron", "minute": "*", "second": 12},
        description="Notify the site's investigators and the admins when a serious "
        "adverse event is 12 hours from, or past, its 24-hour report to the sponsor (once each).",
    ),
    JobSpec(
        id=digests.JOB_ID,
        run=digests.run,
        trigger={"trigger": "cron", "minute": "*/5", "second": 15},
        description="Daily digest of new non-urgent flags per staff member at the digest "
        "time in their sites' zone.",
    ),
    JobSpec(
        id=reminders.JOB_ID,
        run=reminders.run,
        # Every minute: reminder times are HH:MM in each participant's zone.
        trigger={"trigger": "cron", "minute": "*", "second": 20},
        description="Push the diary reminder at each participant's reminder time when "
        "the day's entry is missing (once a day).",
    ),
    JobSpec(
        id=deliver.JOB_ID,
        run=deliver.run,
        trigger={"trigger": "cron", "minute": "*", "second": 40},
        description="Deliver due outbox notifications (SMTP or log, Web Push) with "
        "retries and backoff.",
    ),
    JobSpec(
        id=audit_anchor.JOB_ID,
        run=audit_anchor.run,
        trigger={"trigger": "cron", "minute": 7, "second": 50},
        description="Append the audit chain's signed head to the anchor file off the "
        "database and to the log, when it grew since the last anchor.",
    ),
]
