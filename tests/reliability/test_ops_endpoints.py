"""/healthz, /readyz and /metrics in the deployment shape (SPEC §16): gunicorn with two
workers and the scheduler process beside them. The metrics of both workers add up
whichever one answers the scrape; readiness turns unready when the scheduler's
heartbeat is stale, seen by a server whose clock runs 15 minutes ahead (faketime)."""

from __future__ import annotations

import http.client
import json
import shutil
import time

import pytest
from reliability_support import serverctl

TOKEN = "ops-test-metrics-token-0123456789"
REQUESTS = 40


def get(port: int, path: str, token: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection(serverctl.HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def counted(text: str, route: str) -> float:
    prefix = "diary_http_requests_total{"
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and f'route="{route}"' in line
    )


def wait_until(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not true after {timeout}s")


@pytest.fixture
def ops_deployment(tmp_path):
    database = tmp_path / "diary.sqlite3"
    serverctl.build_study(database, participants=2)
    port = serverctl.free_port()
    env = serverctl.server_env(database, port, DIARY_METRICS_TOKEN=TOKEN)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    web = serverctl.gunicorn("wsgi:app", port=port, env=env, log=tmp_path / "gunicorn.log")
    sched = serverctl.scheduler(env=env, log=tmp_path / "scheduler.log")
    try:
        web.start()
        sched.start()
        serverctl.wait_ready(port)
        yield port, env, web, sched, tmp_path
    finally:
        serverctl.stop_all([web, sched])


def test_health_readiness_and_metrics_under_gunicorn_with_two_workers(ops_deployment):
    port, env, web, _sched, tmp_path = ops_deployment
    assert serverctl.wait_workers(web, 2)
    assert get(port, "/healthz") == (200, '{"status":"ok"}\n')
    # The scheduler runs every job at start: the heartbeat is fresh, the outbox moves.
    status, body = wait_until(lambda: (s := get(port, "/readyz"))[0] == 200 and s)
    assert json.loads(body)["ready"] is True

    for _ in range(REQUESTS):
        assert get(port, "/api/v1/session")[0] == 200
    # Scraped many times, each worker answering some: always the sum of both.
    seen = set()
    for _ in range(12):
        status, text = get(port, "/metrics", TOKEN)
        assert status == 200
        seen.add(counted(text, "/api/v1/session"))
    assert seen == {REQUESTS + 1}  # and wait_ready's
    assert "diary_job_last_success_timestamp_seconds{" in text
    assert get(port, "/metrics")[0] == 401


@pytest.mark.skipif(shutil.which("faketime") is None, reason="scripts/test installs faketime")
def test_readiness_turns_unready_when_the_scheduler_heartbeat_is_stale(ops_deployment):
    port, env, _web, sched, tmp_path = ops_deployment
    wait_until(lambda: get(port, "/readyz")[0] == 200)
    # The same database, seen by a server 15 minutes in the future: no job has run since.
    ahead = serverctl.free_port()
    later = serverctl.Proc(
        [
            "faketime",
            "-f",
            "+15m",
            *serverctl.gunicorn("wsgi:app", port=ahead, env=env, log=tmp_path / "x").argv,
        ],
        env,
        tmp_path / "ahead.log",
    )
    try:
        later.start()
        serverctl.wait_ready(ahead, path="/healthz")
        status, body = get(ahead, "/readyz")
        assert status == 503, body
        reasons = json.loads(body)["reasons"]
        assert any("the scheduler's last job finished 1" in r for r in reasons), reasons
        # Back in the present the scheduler is alive: ready.
        assert get(port, "/readyz")[0] == 200
    finally:
        later.stop()
