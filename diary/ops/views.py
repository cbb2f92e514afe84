"""GET /healthz, /readyz and /metrics (SPEC §16).

/healthz: the process answers and the database can be read — no authentication, no
data. /readyz: the database is migrated, the scheduler's heartbeat is fresh and the
outbox is moving; 503 with the reasons otherwise. /metrics: Prometheus text, for a
scraper holding DIARY_METRICS_TOKEN (404 while no token is configured).
"""

from __future__ import annotations

import hmac
import sqlite3
import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, jsonify, request

from .. import clock
from ..db import get_db, pending_migrations
from ..study import current_study
from . import metrics

PATHS = ("/healthz", "/readyz", "/metrics")
# Stale past this, the scheduler is not running (delivery runs every minute).
SCHEDULER_MAX_AGE = timedelta(minutes=10)
# A notification due this long ago and still not sent: delivery is stuck.
OUTBOX_MAX_DELAY = timedelta(minutes=10)

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    try:
        get_db().execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return jsonify(status="unhealthy", reason="the database cannot be read"), 503
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    db = get_db()
    now = clock.now()
    reasons: list[str] = []
    checks: dict[str, object] = {}
    try:
        pending = pending_migrations(db)
    except sqlite3.Error:
        return jsonify(ready=False, reasons=["the database cannot be read"]), 503
    checks["migrations_pending"] = len(pending)
    if pending:
        reasons.append(f"{len(pending)} migrations are pending: run `flask diary init-db`")
        return jsonify(ready=False, reasons=reasons, checks=checks), 503

    age = metrics.scheduler_heartbeat_age(db, now)
    checks["scheduler_heartbeat_age_seconds"] = None if age is None else round(age, 1)
    if age is None:
        reasons.append("the scheduler has not finished a job yet")
    elif age > SCHEDULER_MAX_AGE.total_seconds():
        reasons.append(
            f"the scheduler's last job finished {int(age // 60)} minutes ago: is "
            "`flask diary scheduler` running?"
        )

    (overdue,) = db.execute(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        " AND next_attempt_at < ?",
        [clock.iso(now - OUTBOX_MAX_DELAY)],
    ).fetchone()
    (dead,) = db.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()
    checks["outbox_overdue"] = overdue
    checks["outbox_dead"] = dead
    if overdue:
        reasons.append(
            f"{overdue} notifications are more than {int(OUTBOX_MAX_DELAY.total_seconds() // 60)}"
            " minutes overdue: delivery is stuck"
        )

    replication = metrics.replication_state(current_app.config)
    if current_app.config.get("DIARY_REPLICA_URL"):
        checks["replication_lag_seconds"] = replication["lag_seconds"] if replication else None
    body = {"ready": not reasons, "checks": checks}
    if reasons:
        body["reasons"] = reasons
    return jsonify(body), 200 if not reasons else 503


@bp.get("/metrics")
def prometheus():
    token = current_app.config.get("DIARY_METRICS_TOKEN")
    if not token:
        return jsonify(error={"code": "not_found", "message": "Metrics are off."}), 404
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = jsonify(error={"code": "unauthorized", "message": "A bearer token is needed."})
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, 401
    body = metrics.exposition(
        get_db(), current_app.config, current_study().escalation_after_minutes
    )
    return body, 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        if "metrics_started" in g and request.path not in PATHS:
            metrics.observe(
                request.endpoint,
                request.url_rule.rule if request.url_rule else "unmatched",
                request.method,
                response.status_code,
                time.perf_counter() - g.metrics_started,
            )
        return response
