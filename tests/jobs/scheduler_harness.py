"""Run the real scheduler (runner.build_scheduler) with a slow job, for the concurrency test.

Usage: python scheduler_harness.py DATABASE SECONDS
Each process fires the job every 50 ms for SECONDS; each run takes 150 ms, so
two processes started together keep colliding on the database lock.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from diary import study as study_module
from diary.jobs import JobSpec, runner

ROOT = Path(__file__).resolve().parents[2]


def slow(db, *, now, study, config):
    time.sleep(0.15)
    return {"slept": 0.15}


def main() -> None:
    database, seconds = sys.argv[1], float(sys.argv[2])
    jobs = [JobSpec("slow_probe", slow, {"trigger": "interval", "seconds": 0.05})]
    scheduler = runner.build_scheduler(
        jobs,
        database=database,
        study=study_module.load(ROOT / "study.toml"),
        config={},
        blocking=False,
    )
    scheduler.start()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main()
