"""Benchmark the closing job: a synthetic study, a full catch-up run and a steady-state day.

    python bench/jobs.py [--participants 10000] [--days 365] [--db bench/out/jobs.sqlite3]

Builds a study of N participants in several time zones with a year of entries
(gaps of a few days, pain flares, opioid increases), then times:
  * the catch-up run: every date of the year closed in one run (as after a
    year without a scheduler, or a first run over imported data);
  * a steady-state day: the next day's entries arrive and one run closes them;
  * a repeated run at the same instant (nothing to do).
Figures are printed beside baselines measured in the same process on the same
file (machines are noisy: compare ratios within one run).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from diary import study as study_module
from diary.db import connect, migrate, transaction
from diary.jobs import close_days

ROOT = Path(__file__).resolve().parents[1]
ZONES = [
    "America/Chicago",
    "America/New_York",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
STAMP = "2025-01-01T00:00:00.000000+00:00"


def diary_days(rng: random.Random, first: date, days: int, baseline_pain: int, baseline_mme: float):
    """One participant's entries: (date, back_pain, mme) with gaps, flares and opioid rises."""
    gap = flare = rise = 0
    for i in range(days):
        day = first + timedelta(days=i)
        if gap == 0 and rng.random() < 0.03:
            gap = rng.choice([1, 1, 1, 2, 2, 3, 5])
        if gap:
            gap -= 1
            continue
        if flare == 0 and rng.random() < 0.01:
            flare = rng.randint(1, 5)
        if rise == 0 and rng.random() < 0.005:
            rise = rng.randint(3, 10)
        pain = baseline_pain + rng.choice([-1, 0, 0, 0, 1])
        if flare:
            flare -= 1
            pain += rng.choice([2, 3, 4])
        mme = baseline_mme * rng.choice([0.8, 1, 1, 1, 1.2])
        if rise:
            rise -= 1
            mme = mme * 2 + 25
        if rng.random() < 0.002:
            mme = None  # buprenorphine only: unknown, never 0
        yield day, max(0, min(10, pain)), None if mme is None else round(mme, 2)


def build(db, *, participants: int, days: int, first: date, seed: int) -> int:
    rng = random.Random(seed)
    people, zones, injections, entries = [], [], [], []
    for n in range(1, participants + 1):
        zone = ZONES[n % len(ZONES)]
        start = first + timedelta(days=rng.randint(0, 6))
        pain, mme = rng.randint(2, 7), rng.choice([0.0, 5.0, 10.0, 15.0, 30.0])
        people.append((n, f"LBP-{n:05d}", 1 + n % len(ZONES), pain, mme, STAMP))
        zones.append((n, zone, STAMP))
        injections.append((n, start.isoformat(), STAMP))
        if rng.random() < 0.1:  # the placebo arm's crossover injection at month 6
            injections.append((n, (start + timedelta(days=182)).isoformat(), STAMP))
        for day, back, day_mme in diary_days(rng, start, days, pain, mme):
            text = day.isoformat()
            entries.append(
                (
                    n,
                    text,
                    zone,
                    back,
                    back,
                    day_mme,
                    f"{text}T20:00:00+00:00",
                    STAMP,
                    STAMP,
                    f"{n}-{text}",
                )
            )
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO sites (id, code, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)",
            [(i + 1, f"SITE-{i + 1}", f"Site {i + 1}", z, STAMP) for i, z in enumerate(ZONES)],
        )
        db.conn.executemany(
            "INSERT INTO participants (id, study_id, site_id, baseline_back_pain, baseline_mme,"
            " enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
            people,
        )
        db.conn.executemany(
            "INSERT INTO participant_timezones (participant_id, timezone, effective_from)"
            " VALUES (?, ?, ?)",
            zones,
        )
        db.conn.executemany(
            "INSERT INTO injections (participant_id, date, created_at) VALUES (?, ?, ?)",
            injections,
        )
        db.conn.executemany(
            "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
            " device_time, received_at, updated_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entries,
        )
    return len(entries)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", default=str(ROOT / "bench" / "out" / "jobs.sqlite3"))
    parser.add_argument("--seed", type=int, default=20251103)
    args = parser.parse_args()

    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = connect(str(path))
    migrate(db)
    study = study_module.load(ROOT / "study.toml")
    first = date(2025, 1, 1)

    build_s, n_entries = timed(
        lambda: build(
            db, participants=args.participants, days=args.days, first=first, seed=args.seed
        )
    )
    print(f"built {args.participants:,} participants, {n_entries:,} entries in {build_s:.1f} s")

    count_s, _ = timed(lambda: db.execute("SELECT count(*) FROM entries").fetchone())
    scan_s, _ = timed(
        lambda: db.execute("SELECT participant_id, date, back_pain, mme FROM entries").fetchall()
    )
    # Every participant's last dated entry + 1 day is closed in every zone by 18:00 UTC
    # two days later; the catch-up closes the whole year in one run.
    last = first + timedelta(days=6 + args.days - 1)
    catch_at = datetime(last.year, last.month, last.day, 23, tzinfo=UTC) + timedelta(days=1)
    catch_s, catch = timed(lambda: close_days.run(db, now=catch_at, study=study, config={}))
    again_s, again = timed(lambda: close_days.run(db, now=catch_at, study=study, config={}))

    # Steady state: the next day's entries (everyone but ~8 %) arrive, then one run a day later.
    rng = random.Random(args.seed + 1)
    next_day = (catch_at + timedelta(days=1)).date() - timedelta(days=1)
    rows = []
    for pid, zone in db.execute(
        "SELECT participant_id, timezone FROM participant_timezones ORDER BY participant_id"
    ).fetchall():
        if rng.random() < 0.92:
            text = next_day.isoformat()
            rows.append(
                (
                    pid,
                    text,
                    zone,
                    4,
                    4,
                    10.0,
                    f"{text}T20:00:00+00:00",
                    STAMP,
                    STAMP,
                    f"{pid}-{text}",
                )
            )
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
            " device_time, received_at, updated_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (participant_id, date) DO NOTHING",
            rows,
        )
    day_s, day = timed(
        lambda: close_days.run(db, now=catch_at + timedelta(days=1), study=study, config={})
    )
    flags = db.execute("SELECT kind, count(*) FROM flags GROUP BY kind ORDER BY kind").fetchall()
    audit_rows = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]

    print(f"baseline  SELECT count(*) FROM entries          {count_s * 1000:10.1f} ms")
    print(f"baseline  full scan of the entries the job reads {scan_s * 1000:10.1f} ms")
    print(
        f"catch-up  {catch['dates_closed']:,} dates, {catch['missed']:,} missed, "
        f"{catch['flags_opened']:,} flags opened: {catch_s:.2f} s "
        f"= {catch_s / count_s:,.0f}x count(*), {catch_s / scan_s:.1f}x full scan, "
        f"{catch['dates_closed'] / catch_s:,.0f} dates/s"
    )
    print(
        f"repeat    same instant, {again['dates_closed']} dates: {again_s * 1000:.0f} ms "
        f"= {again_s / count_s:,.1f}x count(*)"
    )
    print(
        f"daily     {day['dates_closed']:,} dates, {day['missed']:,} missed, "
        f"{day['flags_opened']} opened, {day['flags_updated']} updated: {day_s * 1000:.0f} ms "
        f"= {day_s / count_s:,.1f}x count(*), {day_s / scan_s:.2f}x full scan"
    )
    print("flags     " + ", ".join(f"{k} {n:,}" for k, n in flags) + f"; {audit_rows:,} audit rows")
    db.conn.close()


if __name__ == "__main__":
    main()
