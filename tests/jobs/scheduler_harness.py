"""Run the real scheduler (runner.build_scheduler) with a slow job, for the concurrency test.

Usage: python scheduler_harness.py DATABASE SECONDS START
Each process waits for the wall-clock instant START (a Unix time, so that two
processes whose imports take different times still run side by side), then fires
the job every 50 ms (jittered) for SECONDS. Each run takes 100-200 ms, drawn at random: with
a fixed length, the process whose ticks happen to fall just after the other's
release would win the lock every time, and the other would never run.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from diary import study as study_module
from diary.jobs import JobSpec, runner

ROOT = Path(__file__).resolve().parents[2]


def slow(db, *, now, study, config):
    seconds = random.uniform(0.1, 0.2)
    time.sleep(seconds)
    return {"slept": round(seconds, 3)}


def main() -> None:
    database, seconds, start = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    jobs = [JobSpec("slow_probe", slow, {"trigger": "interval", "seconds": 0.05, "jitter": 0.05})]
    scheduler = runner.build_scheduler(
        jobs,
        database=database,
        study=study_module.load(ROOT / "study.toml"),
        config={},
        blocking=False,
    )
    time.sleep(max(0.0, start - time.time()))
    scheduler.start()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main()
