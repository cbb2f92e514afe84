"""Every scheduled job, declared as data with a stable id (the lock and checkpoint key).

Triggers are APScheduler 3 trigger arguments, evaluated in UTC. Jobs with
local-time behaviour (windows closing at noon in each participant's zone,
whole- or half- or quarter-hour offsets) run often and decide for themselves
what is due as of `now`.
"""

from __future__ import annotations

from . import JobSpec, close_days

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
    # Notification jobs (deliver, reminders, digests, escalations) are appended here.
]
