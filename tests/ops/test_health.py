"""/healthz, /readyz and /metrics in one process (SPEC §16); gunicorn with two workers
and the scheduler is tests/reliability/test_ops_endpoints.py."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import time_machine

from diary import clock
from diary.db import transaction
from diary.jobs import runner
from diary.jobs.registry import JOBS

TOKEN = "metrics-token-0123456789"


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def run_jobs(app):
    runner.run_all(
        JOBS,
        database=app.config["DIARY_DATABASE"],
        study=app.extensions["diary.study"],
        config=app.config,
        now=clock.now(),
    )


def test_healthz_answers_without_a_session_and_says_nothing_of_the_data(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_needs_a_fresh_scheduler_heartbeat_and_a_moving_outbox(app, api, db):
    with at(2026, 3, 2, 12, 0):
        first = api.get("/readyz")
        assert first.status_code == 503
        assert first.get_json()["reasons"] == ["the scheduler has not finished a job yet"]
        run_jobs(app)
        ready = api.get("/readyz")
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json()["ready"] is True
    # Eleven minutes with no job finishing: the scheduler is not running.
    with at(2026, 3, 2, 12, 11):
        stale = api.get("/readyz")
        assert stale.status_code == 503
        assert "the scheduler's last job finished 11 minutes ago" in stale.get_json()["reasons"][0]
        run_jobs(app)
        assert api.get("/readyz").status_code == 200
        # A notification due 15 minutes ago and still pending: delivery is stuck.
        with transaction(db):
            db.execute(
                "INSERT INTO outbox (recipient_kind, recipient_id, channel, purpose, subject,"
                " dedupe_key, next_attempt_at, created_at) VALUES"
                " ('staff', 1, 'email', 'digest', 'x', 'k1', ?, ?)",
                [clock.iso(clock.now() - timedelta(minutes=15))] * 2,
            )
        stuck = api.get("/readyz").get_json()
        assert stuck["ready"] is False and stuck["checks"]["outbox_overdue"] == 1
        assert "delivery is stuck" in stuck["reasons"][0]


def test_readyz_says_migrations_are_pending(app, api, db):
    db.execute(
        "DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)"
    )
    app.extensions["diary.pending_migrations"] = ["x"]
    response = api.get("/readyz")
    assert response.status_code == 503
    assert "1 migrations are pending" in response.get_json()["reasons"][0]
    assert api.get("/healthz").status_code == 200  # the process and database are fine


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(app, api):
    assert api.get("/metrics").status_code == 404
    app.config["DIARY_METRICS_TOKEN"] = TOKEN
    assert api.get("/metrics").status_code == 401
    wrong = api.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"


def scrape(api):
    text = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).data.decode()
    lines = [line for line in text.splitlines() if not line.startswith("#")]

    def value(prefix):
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    return text, value


def test_metrics_count_requests_entries_flags_outbox_and_jobs(app, api, participant_client):
    app.config["DIARY_METRICS_TOKEN"] = TOKEN
    phone = participant_client("LBP-001")
    put = 'diary_http_requests_total{method="PUT",route="/api/v1/entries/<date:day>",status="201"}'
    received = 'diary_entries_received_total{by="participant"}'
    _, before = scrape(api)  # the process's counters: other tests may have counted too
    now = clock.now().astimezone(clock.zone("America/Chicago"))
    body = {
        "client_id": "00000000-0000-4000-8000-000000000001",
        "back_pain": 3,
        "leg_pain": 1,
        "doses": [],
        "symptoms": [],
        "temperature_c": 38.9,
        "device_time": now.isoformat(),
    }
    assert phone.put(f"entries/{now.date().isoformat()}", body).status_code == 201
    run_jobs(app)
    text, value = scrape(api)
    assert value(put) - before(put) == 1
    assert value(received) - before(received) == 1
    assert value('diary_flags_opened{kind="red_flag_symptom",severity="urgent"}') == 1
    assert value('diary_flags_open{kind="red_flag_symptom",severity="urgent"}') == 1
    assert value("diary_urgent_flags_unacknowledged_past_escalation") == 0
    assert value('diary_job_last_success_timestamp_seconds{job="close_diary_dates"}') > 0
    assert value("diary_scheduler_heartbeat_age_seconds") < 60
    # The route is the URL rule, never the path with its values.
    assert now.date().isoformat() not in text


def test_an_urgent_flag_past_its_escalation_delay_shows_in_the_metrics(
    app, api, participant_client
):
    app.config["DIARY_METRICS_TOKEN"] = TOKEN
    with at(2026, 3, 2, 20, 0):
        phone = participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
        body = {
            "client_id": "00000000-0000-4000-8000-000000000002",
            "back_pain": 3,
            "leg_pain": 1,
            "doses": [],
            "symptoms": ["fever"],
            "device_time": "2026-03-02T13:59:00-06:00",
        }
        assert phone.put("entries/2026-03-02", body).status_code == 201
    with at(2026, 3, 2, 22, 1):  # two hours and a minute later, nobody acknowledged it
        _, value = scrape(api)
    assert value("diary_urgent_flags_unacknowledged_past_escalation") == 1


def test_each_request_is_one_json_log_line_with_its_id_route_status_and_user(
    app, participant_client, caplog
):
    phone = participant_client("LBP-001")
    caplog.set_level(logging.INFO, logger="diary.request")
    response = phone.client.get("/api/v1/me", headers={"X-Request-ID": "trace-42"})
    assert response.headers["X-Request-ID"] == "trace-42"
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == "trace-42"]
    assert (record.request_id, record.route, record.status, record.user_kind) == (
        "trace-42",
        "/api/v1/me",
        200,
        "participant",
    )
    assert record.user_id and record.duration_ms >= 0
    # Formatted by the diary's handler: one JSON object with those fields.
    handler = next(h for h in logging.getLogger("diary").handlers if h.get_name() == "diary.stderr")
    line = json.loads(handler.format(record))
    assert {"time", "level", "logger", "message", "request_id", "route", "status"} <= set(line)
    # An id the client sends that is not a plain token is replaced, not logged.
    caplog.clear()
    evil = phone.client.get(
        "/api/v1/entries", headers={"X-Request-ID": "<script>alert(1)</script>"}
    )
    assert evil.headers["X-Request-ID"] != "<script>alert(1)</script>"
