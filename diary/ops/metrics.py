"""Prometheus metrics (SPEC §16), with prometheus-client.

Request counts and durations are counted in each web process; under gunicorn they
are written to PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it) and a scrape of
any worker adds up every worker's. What the database knows — flags, the outbox,
the jobs' last runs, the scheduler's heartbeat, the audit anchors — and the
replication lag written by `flask diary replicate` are read at scrape time, so
they are the same whichever worker answers and survive restarts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .. import clock

# An urgent e-mail (a flag's, an escalation, an SAE clock's) still not sent this long
# after it was queued has not reached the person it was for: a mail server down, a relay
# refusing, an address that bounces. Counted for a week (older ones are history: a dead
# row stays in diary_outbox_notifications).
URGENT_PURPOSES = ("flag_urgent", "escalation", "sae_clock")
URGENT_MAIL_GRACE = timedelta(minutes=10)
URGENT_MAIL_WINDOW = timedelta(days=7)

REQUESTS = Counter(
    "diary_http_requests",
    "HTTP requests answered, by route (the URL rule), method and status.",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "diary_http_request_duration_seconds",
    "Time to answer a request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ENTRIES = Counter(
    "diary_entries_received",
    "Diary entries accepted (created, corrected or replayed) by the API, by who sent them.",
    ["by"],
)
ENTRY_ENDPOINTS = {
    "entries.put_entry": "participant",
    "entries.clarify_entry": "staff",
}


# The labelled children a request counts into, by (endpoint, route, method, status):
# labels() checks and looks its labels up under a lock on every call. A route is a URL
# rule, never a path, so there are as many keys as rules × methods × statuses seen.
_children: dict[tuple, tuple] = {}


def observe(endpoint: str | None, route: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, route, method, status)
    children = _children.get(key)
    if children is None:
        entries = None
        if status in (200, 201) and endpoint in ENTRY_ENDPOINTS:
            entries = ENTRIES.labels(ENTRY_ENDPOINTS[endpoint])
        children = (REQUESTS.labels(route, method, str(status)), DURATION.labels(route), entries)
        _children[key] = children
    requests, duration, entries = children
    requests.inc()
    duration.observe(seconds)
    if entries is not None:
        entries.inc()


class _Database:
    """Read at scrape time from the database (and the replication state file)."""

    def __init__(self, db, config: dict[str, Any], now: datetime):
        self.db = db
        self.config = config
        self.now = now

    def collect(self) -> Iterator[Metric]:
        db, now = self.db, self.now
        opened = GaugeMetricFamily(
            "diary_flags_opened",
            "Flags ever opened, by kind and (current) severity.",
            labels=["kind", "severity"],
        )
        still_open = GaugeMetricFamily(
            "diary_flags_open",
            "Flags open or acknowledged now, by kind and severity.",
            labels=["kind", "severity"],
        )
        for kind, severity, total, active in db.execute(
            "SELECT kind, severity, count(*), sum(status IN ('open', 'acknowledged'))"
            " FROM flags GROUP BY kind, severity"
        ):
            opened.add_metric([kind, severity], total)
            still_open.add_metric([kind, severity], active or 0)
        yield opened
        yield still_open

        overdue = GaugeMetricFamily(
            "diary_urgent_flags_unacknowledged_past_escalation",
            "Urgent flags still open (not acknowledged) longer than the protocol's escalation delay.",
        )
        oldest = GaugeMetricFamily(
            "diary_urgent_flag_unacknowledged_oldest_seconds",
            "Age of the oldest urgent flag nobody has acknowledged (0 when none).",
        )
        delay = self.config.get("escalation_after_minutes", 120) * 60
        ages = [
            (now - clock.parse_iso(at)).total_seconds()
            for (at,) in db.execute(
                "SELECT u.urgent_at FROM urgent_flags u JOIN flags f ON f.id = u.flag_id"
                " WHERE f.status = 'open' AND f.severity = 'urgent'"
            )
        ]
        overdue.add_metric([], sum(1 for a in ages if a > delay))
        oldest.add_metric([], max(ages, default=0))
        yield overdue
        yield oldest

        outbox = GaugeMetricFamily(
            "diary_outbox_notifications",
            "Notifications in the outbox that are not sent, by channel and status.",
            labels=["channel", "status"],
        )
        for channel, status, count in db.execute(
            "SELECT channel, status, count(*) FROM outbox"
            " WHERE status IN ('pending', 'sending', 'failed', 'dead') GROUP BY channel, status"
        ):
            outbox.add_metric([channel, status], count)
        yield outbox

        undelivered = GaugeMetricFamily(
            "diary_urgent_notifications_undelivered",
            "Urgent e-mails (flags, escalations, SAE clocks) queued in the last week and still"
            f" not sent {int(URGENT_MAIL_GRACE.total_seconds() // 60)} minutes after.",
        )
        (count,) = db.execute(
            "SELECT count(*) FROM outbox WHERE channel = 'email' AND status != 'sent'"
            f" AND purpose IN ({', '.join('?' for _ in URGENT_PURPOSES)})"
            " AND created_at > ? AND created_at <= ?",
            [
                *URGENT_PURPOSES,
                clock.iso(now - URGENT_MAIL_WINDOW),
                clock.iso(now - URGENT_MAIL_GRACE),
            ],
        ).fetchone()
        undelivered.add_metric([], count)
        yield undelivered

        success = GaugeMetricFamily(
            "diary_job_last_success_timestamp_seconds",
            "When each scheduled job last finished without error (Unix time).",
            labels=["job"],
        )
        duration = GaugeMetricFamily(
            "diary_job_last_duration_seconds",
            "How long each job's newest finished run took.",
            labels=["job"],
        )
        failed = GaugeMetricFamily(
            "diary_job_last_run_failed",
            "1 when a job's newest finished run ended in an error.",
            labels=["job"],
        )
        for job, started, finished, status, last_ok in db.execute(
            "SELECT r.job_id, r.started_at, r.finished_at, r.status,"
            " (SELECT max(finished_at) FROM job_runs o WHERE o.job_id = r.job_id AND o.status = 'ok')"
            " FROM job_runs r WHERE r.id IN"
            " (SELECT max(id) FROM job_runs WHERE finished_at IS NOT NULL GROUP BY job_id)"
        ):
            duration.add_metric(
                [job], (clock.parse_iso(finished) - clock.parse_iso(started)).total_seconds()
            )
            failed.add_metric([job], 1 if status == "error" else 0)
            if last_ok:
                success.add_metric([job], clock.parse_iso(last_ok).timestamp())
        yield success
        yield duration
        yield failed

        heartbeat = GaugeMetricFamily(
            "diary_scheduler_heartbeat_age_seconds",
            "Seconds since any scheduled job last finished (the scheduler's heartbeat).",
        )
        age = scheduler_heartbeat_age(db, now)
        heartbeat.add_metric([], age if age is not None else float("inf"))
        yield heartbeat

        lag = replication_state(self.config)
        if lag is not None:
            gauge = GaugeMetricFamily(
                "diary_replication_lag_seconds",
                "Seconds the replica is behind the database (as last measured).",
            )
            gauge.add_metric([], lag["lag_seconds"])
            yield gauge
            checked = GaugeMetricFamily(
                "diary_replication_checked_timestamp_seconds",
                "When `flask diary replicate` last measured the lag (Unix time).",
            )
            checked.add_metric([], clock.parse_iso(lag["checked_at"]).timestamp())
            yield checked


def scheduler_heartbeat_age(db, now: datetime) -> float | None:
    (last,) = db.execute("SELECT max(finished_at) FROM job_runs").fetchone()
    return None if last is None else (now - clock.parse_iso(last)).total_seconds()


def replication_state(config: dict[str, Any]) -> dict[str, Any] | None:
    """What `flask diary replicate` last wrote beside the database, or None."""
    if not config.get("DIARY_REPLICA_URL"):
        return None
    path = Path(f"{config['DIARY_DATABASE']}.replication.json")
    try:
        state = json.loads(path.read_text("utf-8"))
        float(state["lag_seconds"])
        clock.parse_iso(state["checked_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


class _Adapter:
    """The process's own metrics (or every worker's, under gunicorn) in one registry."""

    def collect(self) -> Iterator[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()


def exposition(db, config: dict[str, Any], study_escalation_minutes: int) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Adapter())
    registry.register(
        _Database(db, {**config, "escalation_after_minutes": study_escalation_minutes}, clock.now())
    )
    return generate_latest(registry)
