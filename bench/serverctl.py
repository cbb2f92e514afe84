"""Run the real deployment shape on 127.0.0.1: gunicorn workers plus the scheduler process.

Shared by bench/api.py and the reliability tests (tests/reliability/): build a
study database of N enrolled participants, start gunicorn and
`flask --app wsgi diary scheduler` against it, activate the participants
through the real endpoint, and stop everything (kill -9 included) by pid.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
STAFF_PASSWORD = "bench staff password 1"  # noqa: S105 - a throwaway local account
TIMEZONE = "America/Chicago"
SITES = ("SITE-A", "SITE-B")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(database: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARY_")}
    env.update(
        {
            "DIARY_DATABASE": str(database),
            "DIARY_SECRET_KEY": SECRET,
            "DIARY_BASE_URL": f"http://{HOST}:{port}",
            "DIARY_ENV": "development",  # plain http on loopback: no Secure cookies
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


# --- the study database -------------------------------------------------------


@dataclass
class Study:
    database: Path
    codes: dict[str, str]  # study_id → activation code
    staff: list[str]  # staff e-mails (password STAFF_PASSWORD)
    injection: date


def build_study(
    database: Path, *, participants: int, injection_days_ago: int = 30, staff_per_site: int = 1
) -> Study:
    """A migrated database with staff and N enrolled participants (through the service layer)."""
    from diary import audit, clock, create_app
    from diary.auth import queries as auth_queries
    from diary.auth import staff as staff_accounts
    from diary.db import close_thread_connections, connect, migrate, transaction
    from diary.participants import service

    # The QR code is a picture of the activation link for a printed sheet; drawing
    # a thousand of them would dominate the set-up time and changes no state.
    real_qr, service.qr_svg = service.qr_svg, lambda url: "<svg/>"

    fresh = connect(str(database))  # what `flask diary init-db` does
    migrate(fresh)
    fresh.conn.close()
    app = create_app(
        {
            "DIARY_DATABASE": str(database),
            "DIARY_SECRET_KEY": SECRET,
            "DIARY_BASE_URL": "http://bench.invalid",
        }
    )
    study = app.extensions["diary.study"]
    now = clock.now()
    injection = clock.local_date(now, TIMEZONE) - timedelta(days=injection_days_ago)
    db = connect(str(database))
    emails: list[str] = []
    codes: dict[str, str] = {}
    try:
        with app.app_context():
            for site in SITES:
                for n in range(staff_per_site):
                    email = f"coordinator{n}@{site.lower()}.bench"
                    staff_accounts.create_staff(
                        db,
                        actor=audit.CLI,
                        email=email,
                        role="coordinator",
                        password=STAFF_PASSWORD,
                        site_codes=[site],
                        default_timezone=TIMEZONE,
                        now=now,
                    )
                    emails.append(email)
            sites = [auth_queries.site_by_code(db, s) for s in SITES]
            with transaction(db):
                for n in range(1, participants + 1):
                    study_id = f"LBP-{n:04d}"
                    _, issued = service.enroll(
                        db,
                        study,
                        actor=audit.CLI,
                        site=sites[n % len(sites)],
                        study_id=study_id,
                        timezone=TIMEZONE,
                        injection_date=injection,
                        baseline_back_pain=4,
                        baseline_mme=10.0,
                        secret_key=SECRET,
                        base_url="http://bench.invalid",
                        code_lifetime=app.config["ACTIVATION_CODE_LIFETIME"],
                        staff_id=None,
                        now=now,
                    )
                    codes[study_id] = issued.code
    finally:
        service.qr_svg = real_qr
        db.conn.close()
        close_thread_connections()
    return Study(database, codes, emails, injection)


# --- processes -----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Proc:
    """A child process with its log file; stop() ends it and its children by pid."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - fixed argv
            self.argv, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill9(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def stop(self, timeout: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        children = _children(self.popen.pid)
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
        for child in children:  # a worker that outlived its master
            if _alive(child):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def gunicorn(
    app: str, *, port: int, env: dict[str, str], log: Path, workers: int = 2, **options: str
) -> Proc:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "2048",
        "--graceful-timeout",
        "5",
        *[item for key, value in options.items() for item in (f"--{key.replace('_', '-')}", value)],
        app,
    ]
    return Proc(argv, env, log)


def scheduler(*, env: dict[str, str], log: Path) -> Proc:
    return Proc([sys.executable, "-m", "flask", "--app", "wsgi", "diary", "scheduler"], env, log)


def flask_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`flask --app wsgi diary ARGS…` with the server's environment."""
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "flask", "--app", "wsgi", "diary", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def worker_pids(master: Proc) -> list[int]:
    return [p for p in _children(master.pid) if _alive(p)]


def wait_ready(port: int, path: str = "/api/v1/session", timeout: float = 60) -> None:
    """Until the server answers 200 (workers booting on a busy machine take seconds)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except (OSError, http.client.HTTPException) as exc:
            last = exc
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready after {timeout}s: {last}")


def wait_workers(master: Proc, count: int, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(master)
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise RuntimeError(f"gunicorn did not get {count} workers within {timeout}s")


# --- HTTP sessions ------------------------------------------------------------------


@dataclass
class Session:
    """A signed-in client's cookie and CSRF token."""

    cookie: str = ""
    csrf: str = ""
    extra: dict = field(default_factory=dict)

    def headers(self, body: bool = False) -> dict[str, str]:
        h = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf, "Accept": "application/json"}
        if body:
            h["Content-Type"] = "application/json"
        return h


def request(
    port: int,
    method: str,
    path: str,
    body: object = None,
    session: Session | None = None,
    timeout: float = 30,
) -> tuple[int, dict | None, http.client.HTTPResponse]:
    """One request on a fresh connection (gunicorn's sync workers close after each)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = session.headers(body is not None) if session else {}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        if session is not None:
            _keep_cookie(session, response)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return response.status, data, response
    finally:
        conn.close()


def _keep_cookie(session: Session, response: http.client.HTTPResponse) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        if "=" in pair and pair.split("=", 1)[1]:
            session.cookie = pair


def _signed_in(port: int, method_path_body: tuple[str, str, dict]) -> Session:
    session = Session()
    status, data, _ = request(port, "GET", "/api/v1/session", session=session)
    session.csrf = data["csrf_token"]
    method, path, body = method_path_body
    status, data, _ = request(port, method, path, body, session=session)
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {data}")
    session.extra = data
    status, data, _ = request(port, "GET", "/api/v1/session", session=session)
    session.csrf = data["csrf_token"]
    return session


def activate_all(port: int, codes: dict[str, str], threads: int = 8) -> dict[str, Session]:
    """Activate every participant through POST /participant/activate (real sessions)."""
    items = list(codes.items())

    def one(item: tuple[str, str]) -> tuple[str, Session]:
        study_id, code = item
        return study_id, _signed_in(port, ("POST", "/api/v1/participant/activate", {"code": code}))

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, items))


def staff_login(port: int, email: str) -> Session:
    return _signed_in(
        port, ("POST", "/api/v1/staff/login", {"email": email, "password": STAFF_PASSWORD})
    )


def stop_all(procs: Iterable[Proc | None]) -> None:
    for proc in procs:
        if proc is not None:
            proc.stop()
