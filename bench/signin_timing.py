"""How long a refused staff sign-in and a reset request take, by what was wrong (SPEC §15).

    python bench/signin_timing.py [--rounds 40]

Times requests through the real app (a fresh SQLite file, the test client, no network),
interleaved round by round so machine noise falls on all alike, in three groups, each
with its own baseline:

- POST /api/v1/staff/login, 401: an unknown e-mail (the baseline), a known account with
  a wrong password, an invited account that has no password yet, a deactivated account.
  Each round uses a fresh client address so the throttle never answers instead of the
  password check.
- POST /api/v1/staff/login, 429: an unknown e-mail (the baseline) and a known account,
  each from an address that has used up its failures for that e-mail (the limit that
  looks the account up; the per-address and global limits answer before any lookup).
- POST /api/v1/staff/password-reset, 202: an unknown e-mail (the baseline) and a known
  account, whose link is made and mailed from a thread to a real SMTP server
  (aiosmtpd) on 127.0.0.1, run as its own process. The thread starts its work 50 ms
  after the answer (accounts/mail.py), so that work lands on whichever requests run
  then, as it would in a server; the threads are waited for at the end of each round.

Prints each median and its ratio to its group's baseline. Goal: every ratio within
0.9–1.1 (no answer may tell whether an account exists). A throttled answer checks no
password, so it is far quicker than a 401; its status already says it was refused, for
every e-mail alike.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from app_support import migrated_app  # noqa: E402
from mail_support import free_port  # noqa: E402

from diary import audit, clock  # noqa: E402
from diary.auth.staff import create_staff  # noqa: E402
from diary.db import connect  # noqa: E402

PASSWORD = "tawny-kettle-orbit-9241"
WRONG = "not the password at all"
LOGIN = "/api/v1/staff/login"
RESET = "/api/v1/staff/password-reset"

# (group, case) → (path, e-mail, client address or None for a fresh one, status)
CASES = {
    ("refused sign-in (401)", "unknown e-mail"): (LOGIN, "nobody@bench.test", None, 401),
    ("refused sign-in (401)", "wrong password"): (LOGIN, "known@bench.test", None, 401),
    ("refused sign-in (401)", "invited, no password"): (LOGIN, "invited@bench.test", None, 401),
    ("refused sign-in (401)", "deactivated"): (LOGIN, "gone@bench.test", None, 401),
    ("throttled sign-in (429)", "unknown e-mail"): (LOGIN, "ghost@bench.test", "10.8.0.1", 429),
    ("throttled sign-in (429)", "known account"): (LOGIN, "known@bench.test", "10.8.0.2", 429),
    ("reset request (202)", "unknown e-mail"): (RESET, "nobody@bench.test", "10.7.0.1", 202),
    ("reset request (202)", "known account"): (RESET, "known@bench.test", "10.7.0.1", 202),
}
QUICK_REPEATS = 10


class CountFailures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def smtp_server() -> tuple[subprocess.Popen, int]:
    """aiosmtpd in its own process, keeping nothing (its Sink handler)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
        + ["-l", f"127.0.0.1:{port}"]
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)


def wait_for_mail_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "account-mail":
            thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    failures = CountFailures()
    logging.getLogger("diary.accounts").addHandler(failures)
    smtp, port = smtp_server()
    try:
        times = measure(args.rounds, f"smtp://127.0.0.1:{port}")
    finally:
        smtp.terminate()
        smtp.wait()
    report(times, args.rounds, failures.count)


def measure(rounds: int, smtp_url: str) -> dict[tuple[str, str], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(
            {
                "DIARY_DATABASE": f"{tmp}/bench.sqlite3",
                "DIARY_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
                "DIARY_SMTP_URL": smtp_url,
                "TESTING": True,
                "DIARY_LOG_LEVEL": "WARNING",
                # Only the per-address-and-account limit may answer 429 here.
                "STAFF_FAILURES_PER_ACCOUNT": 10**6,
                "STAFF_FAILURES_PER_ADDRESS": 10**6,
                "STAFF_FAILURES_GLOBAL": 10**6,
                # Every reset request makes and mails its link (the most work a known
                # e-mail can cause).
                "STAFF_RESET_REQUESTS_PER_HOUR": 10**6,
                "STAFF_RESET_REQUESTS_PER_ADDRESS_PER_HOUR": 10**6,
            }
        )
        db = connect(app.config["DIARY_DATABASE"])
        with app.app_context():
            for email, password in (
                ("known@bench.test", PASSWORD),
                ("invited@bench.test", None),
                ("gone@bench.test", PASSWORD),
            ):
                create_staff(
                    db,
                    actor=audit.CLI,
                    email=email,
                    role="coordinator",
                    password=password,
                    site_codes=["B"],
                    default_timezone="UTC",
                    now=clock.now(),
                )
        db.execute("UPDATE staff SET active = 0 WHERE email = 'gone@bench.test'")
        db.conn.commit()
        client = app.test_client()
        token = client.get("/api/v1/session").get_json()["csrf_token"]

        def post(path: str, email: str, address: str):
            body = {"email": email} if path == RESET else {"email": email, "password": WRONG}
            return client.post(
                path,
                json=body,
                headers={"X-CSRF-Token": token},
                environ_base={"REMOTE_ADDR": address},
            )

        # Use up the failures of each throttled pair (address, e-mail).
        for path, email, address, status in CASES.values():
            if status == 429:
                while post(path, email, address).status_code != 429:
                    pass
        times: dict[tuple[str, str], list[float]] = {k: [] for k in CASES}
        for n in range(rounds):
            # Every other round backwards: no case always follows the same one. The quick
            # cases (no password check) run several times a round, for steadier medians.
            slow = [item for item in CASES.items() if item[1][3] == 401]
            quick = [item for item in CASES.items() if item[1][3] != 401] * QUICK_REPEATS
            if n % 2:
                slow, quick = slow[::-1], quick[::-1]
            # The password checks first: the mail threads of the quick cases, waited for
            # at the end of the round, never land on them.
            for key, (path, email, address, status) in slow + quick:
                start = time.perf_counter()
                response = post(path, email, address or f"10.9.{n // 250}.{n % 250}")
                times[key].append(time.perf_counter() - start)
                assert response.status_code == status, (key, response.get_json())
            wait_for_mail_threads()
        wait_for_mail_threads()
        return times


def report(times: dict[tuple[str, str], list[float]], rounds: int, not_sent: int) -> None:
    worst = 0.0
    group = None
    for (name, case), values in times.items():
        if name != group:
            group = name
            base = statistics.median(values)
            print(name)
        ratio = statistics.median(values) / base
        worst = max(worst, abs(ratio - 1))
        q1, _, q3 = statistics.quantiles(values, n=4)
        print(
            f"  {case:22} median {statistics.median(values) * 1000:7.2f} ms"
            f" (IQR {q1 * 1000:.2f}–{q3 * 1000:.2f})  ratio {ratio:5.2f}"
        )
    check = statistics.median(times[("refused sign-in (401)", "unknown e-mail")])
    refused = statistics.median(times[("throttled sign-in (429)", "unknown e-mail")])
    print(f"a throttled answer takes {refused / check:.3f} of a password check")
    print(f"reset mails not delivered: {not_sent} (of {rounds * QUICK_REPEATS})")
    print(f"goal: every ratio within 0.9–1.1 → {'PASS' if worst <= 0.1 else 'MISS'}")


if __name__ == "__main__":
    main()
