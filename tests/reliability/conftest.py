"""A real deployment on 127.0.0.1 for fault tests: gunicorn (2 workers) + the scheduler process."""

from __future__ import annotations

import pytest
from reliability_support import PARTICIPANTS, Deployment, serverctl


@pytest.fixture
def deployment(tmp_path):
    database = tmp_path / "diary.sqlite3"
    study = serverctl.build_study(database, participants=PARTICIPANTS)
    port = serverctl.free_port()
    # DEBUG everywhere, so that the log grep sees everything the app could say.
    env = serverctl.server_env(database, port, DIARY_LOG_LEVEL="DEBUG")
    logs = [tmp_path / "gunicorn.log", tmp_path / "scheduler.log"]
    web = serverctl.gunicorn("wsgi:app", port=port, env=env, log=logs[0], log_level="debug")
    sched = serverctl.scheduler(env=env, log=logs[1])
    try:
        web.start()
        sched.start()
        serverctl.wait_ready(port)
        sessions = serverctl.activate_all(port, study.codes)
        staff = [serverctl.staff_login(port, email) for email in study.staff]
        yield Deployment(port, env, web, sched, study, sessions, staff, logs)
    finally:
        serverctl.stop_all([web, sched])
