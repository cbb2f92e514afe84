"""How long a failed staff sign-in takes, by what was wrong (SPEC §15).

    python bench/signin_timing.py [--rounds 40]

Times POST /api/v1/staff/login through the real app (a fresh SQLite file, the test
client, no network) for an unknown e-mail, a known account with a wrong password,
an invited account that has no password yet, and a deactivated account, interleaved
round by round so machine noise falls on all alike. Prints each median and its ratio
to the unknown e-mail's. Goal: every ratio within 0.9–1.1 (the answers must not tell
whether an account exists). Each round uses a fresh client address so the throttle
never answers instead of the password check.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from app_support import migrated_app  # noqa: E402

from diary import audit, clock  # noqa: E402
from diary.auth.staff import create_staff  # noqa: E402
from diary.db import connect  # noqa: E402

PASSWORD = "tawny-kettle-orbit-9241"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(
            {
                "DIARY_DATABASE": f"{tmp}/bench.sqlite3",
                "DIARY_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
                "TESTING": True,
                "STAFF_FAILURES_PER_ACCOUNT": 10**6,
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
        cases = {
            "unknown e-mail": "nobody@bench.test",
            "wrong password": "known@bench.test",
            "invited, no password": "invited@bench.test",
            "deactivated": "gone@bench.test",
        }
        client = app.test_client()
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        times: dict[str, list[float]] = {k: [] for k in cases}
        for n in range(args.rounds):
            for name, email in cases.items():
                start = time.perf_counter()
                response = client.post(
                    "/api/v1/staff/login",
                    json={"email": email, "password": "not the password at all"},
                    headers={"X-CSRF-Token": token},
                    environ_base={"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250}"},
                )
                times[name].append(time.perf_counter() - start)
                assert response.status_code == 401, (name, response.get_json())
        base = statistics.median(times["unknown e-mail"])
        worst = 0.0
        for name, values in times.items():
            ratio = statistics.median(values) / base
            worst = max(worst, abs(ratio - 1))
            print(
                f"{name:22} median {statistics.median(values) * 1000:7.1f} ms  ratio {ratio:5.2f}"
            )
        print(f"goal: every ratio within 0.9–1.1 → {'PASS' if worst <= 0.1 else 'MISS'}")


if __name__ == "__main__":
    main()
