"""No secret, activation code, password or note text ever reaches the logs (SPEC §9).

Every logger is captured at DEBUG while a participant is enrolled, activated
(after a wrong code), writes entries with notes and a red flag; staff sign in
(after a wrong password); and the jobs deliver the resulting mail — once to the
log channel and once to an SMTP server that refuses the connection.
"""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from app_support import migrated_app

from diary import audit, clock
from diary.auth import staff as staff_accounts
from diary.db import connect
from diary.jobs import runner
from diary.jobs.registry import JOBS
from diary.notify import webpush

NOTE = "Private note: argued with my sister about the medication"
SMTP_PASSWORD = "smtp-pass-Zq8v-do-not-log"  # noqa: S105
SECRET = "log-test-secret-key-Hk2x9w-0123456789-abcdefgh"
PASSWORD = "staff password Qm4t do not log"


class _Client:
    """JSON with the CSRF header, as the PWA and the console send it."""

    def __init__(self, app):
        self.client = app.test_client()
        self.token = None

    def post(self, path, json=None):
        return self._send("post", path, json)

    def put(self, path, json=None):
        return self._send("put", path, json)

    def _send(self, method, path, json):
        if self.token is None:
            self.token = self.client.get("/api/v1/session").get_json()["csrf_token"]
        response = getattr(self.client, method)(
            f"/api/v1/{path}", json=json, headers={"X-CSRF-Token": self.token}
        )
        if path.endswith(("login", "activate")):
            self.token = None
        return response


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("diary", "werkzeug", "apscheduler", "flask_login", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize("channel", ["log", "smtp"])
def test_logs_hold_no_secret_code_password_or_note(tmp_path, everything_logged, channel):
    keys = webpush.generate_keys()
    overrides = {
        "DIARY_DATABASE": str(tmp_path / "diary.sqlite3"),
        "DIARY_SECRET_KEY": SECRET,
        "DIARY_BASE_URL": "http://diary.test",
        "DIARY_VAPID_PRIVATE_KEY": keys.private_key,
        "DIARY_LOG_LEVEL": "DEBUG",
        "TESTING": True,
    }
    if channel == "smtp":
        overrides["DIARY_SMTP_URL"] = f"smtp://diary:{SMTP_PASSWORD}@127.0.0.1:{_closed_port()}"
    app = migrated_app(overrides)
    db = connect(app.config["DIARY_DATABASE"])
    with app.app_context():
        staff_accounts.create_staff(
            db,
            actor=audit.CLI,
            email="inv@site-a.test",
            role="investigator",
            password=PASSWORD,
            site_codes=["SITE-A"],
            default_timezone="America/Chicago",
            now=clock.now(),
        )
    staff = _Client(app)
    assert (
        staff.post(
            "staff/login", {"email": "inv@site-a.test", "password": "wrong " + PASSWORD}
        ).status_code
        == 401
    )
    assert (
        staff.post("staff/login", {"email": "inv@site-a.test", "password": PASSWORD}).status_code
        == 200
    )
    today = clock.local_date(clock.now(), "America/Chicago")
    enrolled = staff.post(
        "staff/participants",
        {
            "study_id": "LBP-101",
            "site": "SITE-A",
            "timezone": "America/Chicago",
            "injection_date": today.isoformat(),
            "baseline_back_pain": 4,
            "baseline_mme": 10,
        },
    )
    assert enrolled.status_code == 201, enrolled.get_json()
    code = enrolled.get_json()["activation_code"]

    phone = _Client(app)
    assert phone.post("participant/activate", {"code": "2222-3333-4444"}).status_code == 400
    assert phone.post("participant/activate", {"code": code}).status_code == 200
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 9,
        "leg_pain": 4,
        "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
        "symptoms": ["fever"],
        "temperature_c": 38.6,
        "note": NOTE,
        "device_time": clock.now().isoformat(),
    }
    assert phone.put(f"entries/{today.isoformat()}", body).status_code == 201
    body = {**body, "client_id": str(uuid.uuid4()), "note": NOTE + " (again)", "reason": "typo"}
    assert phone.put(f"entries/{today.isoformat()}", body).status_code == 200
    reissued = staff.post("staff/participants/LBP-101/activation-code")
    assert reissued.status_code == 201
    new_code = reissued.get_json()["activation_code"]

    # A link token in a path and a query string: only the route's rule is logged.
    token = "LinkTokenQz7-do-not-log-0123456789abcdef"
    staff.client.get(f"/api/v1/staff/password-reset/{token}?again={token}")

    results = runner.run_all(
        JOBS,
        database=app.config["DIARY_DATABASE"],
        study=app.extensions["diary.study"],
        config=app.config,
        now=clock.now(),
    )
    assert all(r.ran and r.error is None for r in results), results
    sent = db.execute("SELECT channel, status FROM outbox").fetchall()
    assert sent, "the red flag must have queued mail for the site's staff"
    db.conn.close()

    # What reaches stderr: each line as the diary's JSON handler writes it, with every
    # field it adds (request id, route, user…), besides the message itself.
    (handler,) = [h for h in logging.getLogger("diary").handlers if h.get_name() == "diary.stderr"]
    records = everything_logged.records
    assert any(r.name == "diary.request" for r in records)
    text = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in records
    ) + "\n".join(handler.format(r) for r in records if r.name.startswith("diary"))
    if channel == "log":
        assert "mail (no SMTP configured)" in text  # the log channel really was exercised
    else:
        assert "smtp" in text.lower() or any(s != "sent" for _, s in sent)
    for secret in (
        SECRET,
        PASSWORD,
        SMTP_PASSWORD,
        keys.private_key,
        keys.private_pem.splitlines()[1],
        code,
        new_code,
        code.replace("-", ""),
        NOTE,
        token,
    ):
        assert secret not in text, f"{secret[:12]}… appears in the logs"
