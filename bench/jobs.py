"""Benchmark the closing job: catch-up, steady-state days, and how each scales.

    python bench/jobs.py            # 10,000 participants × a year, plus the scaling runs
    python bench/jobs.py --quick    # 1,000 × 60 days: a smoke check in under a minute

Builds synthetic studies (participants in several time zones; entries with gaps
of a few days, pain flares and opioid rises), then measures on each:
  * the catch-up: every date of the history closed in one run of the job, in a
    process of its own that runs it as the scheduler does (runner.run_job), with
    that process's peak RSS;
  * steady-state days: each day the next date's entries arrive (everyone but
    ~8 %) and one run closes that date in every zone; the median of several days.
The main study is measured against the full scan of the entries the job reads,
timed in the same run on the same file (these machines are noisy: only ratios
within one run mean anything). The scaling runs repeat the days on a study with
less history and one with fewer participants. Prints only its figures, each with
its goal and PASS or MISS.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diary import clock  # noqa: E402
from diary import study as study_module  # noqa: E402
from diary.db import WalCheckpointer, checkpoint, connect, migrate, transaction  # noqa: E402
from diary.jobs import close_days, registry, runner  # noqa: E402

ZONES = [
    "America/Chicago",
    "America/New_York",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
STAMP = "2025-01-01T00:00:00.000000+00:00"
FIRST = date(2025, 1, 1)
MISS_RATE = 0.08  # a steady-state day: the share of participants without an entry

GOAL_DAILY = 0.1  # × full scan
GOAL_CATCH_UP = 3.0  # × full scan
GOAL_FLAT = 1.25  # daily run, most vs least history
GOAL_LINEAR = 1.25  # daily run per participant, most vs fewest participants
GOAL_RSS = 1.25  # catch-up peak RSS, most vs fewest dates


def quiet_logs() -> None:
    """Only figures: the job's per-flag warnings (a site with no staff) stay out."""
    logging.getLogger("diary").setLevel(logging.ERROR)


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


def entry_row(pid: int, day: date, zone: str, pain: int, mme: float | None, written: str):
    text = day.isoformat()
    return (
        pid,
        text,
        zone,
        pain,
        pain,
        mme,
        f"{text}T20:00:00+00:00",
        written,
        written,
        f"{pid}-{text}",
    )


INSERT_ENTRIES = (
    "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
    " device_time, received_at, updated_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def build(db, *, participants: int, days: int, seed: int) -> int:
    rng = random.Random(seed)
    people, zones, injections, entries = [], [], [], []
    for n in range(1, participants + 1):
        zone = ZONES[n % len(ZONES)]
        start = FIRST + timedelta(days=rng.randint(0, 6))
        pain, mme = rng.randint(2, 7), rng.choice([0.0, 5.0, 10.0, 15.0, 30.0])
        people.append((n, f"LBP-{n:05d}", 1 + n % len(ZONES), pain, mme, STAMP))
        zones.append((n, zone, STAMP))
        injections.append((n, start.isoformat(), STAMP))
        if rng.random() < 0.1:  # the placebo arm's crossover injection at month 6
            injections.append((n, (start + timedelta(days=182)).isoformat(), STAMP))
        for day, back, day_mme in diary_days(rng, start, days, pain, mme):
            entries.append(entry_row(n, day, zone, back, day_mme, STAMP))
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
        db.conn.executemany(INSERT_ENTRIES, entries)
    return len(entries)


def add_closing_day(db, *, now: datetime, closes_at, rng: random.Random) -> None:
    """The entries of the date that closes at `now` in each participant's zone: made on
    that date (so never late), for everyone but MISS_RATE of them."""
    rows = []
    for pid, zone, pain, mme in db.execute(
        "SELECT p.id, t.timezone, p.baseline_back_pain, p.baseline_mme FROM participants p"
        " JOIN participant_timezones t ON t.participant_id = p.id ORDER BY p.id"
    ).fetchall():
        if rng.random() < MISS_RATE:
            continue
        day = clock.last_closed_date(now, zone, closes_at)
        written = clock.iso(clock.local_instant(day, closes_at, zone) - timedelta(hours=14))
        day_pain = max(0, min(10, int(pain) + rng.choice([-1, 0, 0, 0, 1])))
        day_mme = round(mme * rng.choice([0.8, 1, 1, 1, 1.2]), 2)
        rows.append(entry_row(pid, day, zone, day_pain, day_mme, written))
    with transaction(db):
        db.conn.executemany(INSERT_ENTRIES + " ON CONFLICT (participant_id, date) DO NOTHING", rows)


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


PACKAGE = str(Path(close_days.__file__).resolve().parents[1]) + "/"  # diary/


class _TimedCursor:
    """A cursor whose rows are timed as they are stepped (SQLite runs a statement as its
    rows are read)."""

    def __init__(self, cursor, entry: list) -> None:
        self._cursor, self._entry = cursor, entry

    def __iter__(self):
        rows = iter(self._cursor)
        while True:
            start = time.perf_counter()
            try:
                row = next(rows)
            except StopIteration:
                self._entry[0] += time.perf_counter() - start
                return
            self._entry[0] += time.perf_counter() - start
            self._entry[2] += 1
            yield row

    def _fetch(self, name: str, *args):
        start = time.perf_counter()
        out = getattr(self._cursor, name)(*args)
        self._entry[0] += time.perf_counter() - start
        if isinstance(out, list):
            self._entry[2] += len(out)
        return out

    def fetchone(self):
        return self._fetch("fetchone")

    def fetchall(self):
        return self._fetch("fetchall")

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class TimedConnection:
    """Bench only: a connection whose statements are timed, each under the diary
    function that ran it (the nearest caller in diary/ outside diary/db.py):
    {label: [seconds, statements, rows]}."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self.times: dict[str, list] = {}

    def _entry(self, sql: str) -> list:
        if sql.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
            return self.times.setdefault("transactions (BEGIN, COMMIT)", [0.0, 0, 0])
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(PACKAGE) and name != f"{PACKAGE}db.py":
                module = name[len(PACKAGE) :].removesuffix(".py").replace("/", ".")
                label = f"{module.removesuffix('.__init__')}.{frame.f_code.co_qualname}"
                break
            frame = frame.f_back
        else:
            label = "other"
        return self.times.setdefault(label, [0.0, 0, 0])

    def execute(self, sql, parameters=()):
        entry = self._entry(sql)
        start = time.perf_counter()
        cursor = self._conn.execute(sql, parameters)
        entry[0] += time.perf_counter() - start
        entry[1] += 1
        return _TimedCursor(cursor, entry)

    def executemany(self, sql, rows):
        rows = list(rows)
        entry = self._entry(sql)
        start = time.perf_counter()
        cursor = self._conn.executemany(sql, rows)
        entry[0] += time.perf_counter() - start
        entry[1] += 1
        entry[2] += len(rows)
        return cursor

    def __getattr__(self, name):
        return getattr(self._conn, name)


def full_scan(db) -> tuple[float, float]:
    wall, cpu, _ = timed(
        lambda: db.execute("SELECT participant_id, date, back_pain, mme FROM entries").fetchall()
    )
    return wall, cpu


def rss_mb(field: str) -> float:
    """This process's resident set (VmRSS) or its peak (VmHWM), which, unlike ru_maxrss,
    starts afresh at exec and so is not the bench's own peak handed down to its child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def catch_up_child(database: str, at: str) -> None:
    """The catch-up as the scheduler process runs it; prints its figures as JSON."""
    quiet_logs()
    study = study_module.load(ROOT / "study.toml")
    spec = next(s for s in registry.JOBS if s.id == close_days.JOB_ID)
    before = rss_mb("VmRSS")
    checkpointer = WalCheckpointer(database)  # as in the scheduler process
    checkpointer.start()
    wall, cpu, result = timed(
        lambda: runner.run_job(
            spec,
            database=database,
            study=study,
            config={},
            now=datetime.fromisoformat(at),
            holder=runner.holder_id(),
        )
    )
    checkpointer.stop()
    out = {"wall": wall, "cpu": cpu, "summary": result.summary, "error": result.error}
    print(json.dumps({**out, "rss_before_mb": before, "peak_rss_mb": rss_mb("VmHWM")}))


@dataclass
class Run:
    """One synthetic study and its figures."""

    participants: int
    days: int
    path: Path
    db: Any = None
    entries: int = 0
    catch_at: datetime | None = None
    scans: list[tuple[float, float]] = field(default_factory=list)
    catch_up: dict = field(default_factory=dict)
    repeat: float = 0.0
    daily: list[tuple[float, float]] = field(default_factory=list)
    checkpoints: list[float] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)
    # one more day, its statements timed: (run seconds, {label: [seconds, statements, rows]})
    profile: tuple[float, dict[str, list]] | None = None

    def scan(self, i: int = 0) -> float:
        return statistics.median(s[i] for s in self.scans)

    def day(self, i: int = 0) -> float:
        return statistics.median(d[i] for d in self.daily)


def prepare(run: Run, *, study, seed: int) -> None:
    """Build the study, then catch it up in a process of its own, as the scheduler would."""
    for suffix in ("", "-wal", "-shm", "-writer.lock"):
        Path(f"{run.path}{suffix}").unlink(missing_ok=True)
    run.db = db = connect(str(run.path))
    migrate(db)
    run.entries = build(db, participants=run.participants, days=run.days, seed=seed)
    run.scans += [full_scan(db) for _ in range(3)]
    # Every participant's last entry's date has closed in every zone by then.
    last = FIRST + timedelta(days=6 + run.days - 1)
    run.catch_at = datetime(last.year, last.month, last.day, 23, tzinfo=UTC) + timedelta(days=1)
    child = subprocess.run(
        [sys.executable, __file__, "--catch-up-child", str(run.path), run.catch_at.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    run.catch_up = json.loads(child.stdout.strip().splitlines()[-1])
    if run.catch_up["error"]:
        raise SystemExit(f"catch-up failed: {run.catch_up['error']}")
    run.scans += [full_scan(db) for _ in range(2)]
    run.repeat, _, _ = timed(lambda: close_days.run(db, now=run.catch_at, study=study, config={}))


def steady_days(runs: list[Run], *, days: int, study, seed: int) -> None:
    """Each day, in turn for every study (so that a burst of load on this shared machine
    falls on all of them alike): the date's entries arrive, then one run closes it."""
    rngs = [random.Random(seed + 1) for _ in runs]
    for k in range(1, days + 1):
        for run, rng in zip(runs, rngs, strict=True):
            at = run.catch_at + timedelta(days=k)
            add_closing_day(run.db, now=at, closes_at=study.window_closes_next_day_at, rng=rng)
            checkpoint(run.db)  # what the scheduler's checkpointer did while they arrived
            wall, cpu, summary = timed(
                lambda run=run, at=at: close_days.run(run.db, now=at, study=study, config={})
            )
            run.daily.append((wall, cpu))
            run.summaries.append(summary)
            # ... and does after the run, off its path: timed apart
            run.checkpoints.append(timed(lambda run=run: checkpoint(run.db))[0])
            run.scans.append(full_scan(run.db))


def profile_day(run: Run, *, study, seed: int) -> None:
    """One more steady-state day after the measured ones, each statement of its run timed
    under the diary function that ran it: where the daily run's time goes."""
    at = run.catch_at + timedelta(days=len(run.daily) + 1)
    add_closing_day(
        run.db, now=at, closes_at=study.window_closes_next_day_at, rng=random.Random(seed + 2)
    )
    checkpoint(run.db)
    plain = run.db.conn
    run.db.conn = timed_conn = TimedConnection(plain)
    try:
        wall, _, _ = timed(lambda: close_days.run(run.db, now=at, study=study, config={}))
    finally:
        run.db.conn = plain
    checkpoint(run.db)
    run.profile = (wall, timed_conn.times)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(main: Run, fewer_days: Run, fewer_people: Run, *, quick: bool) -> None:
    db = main.db
    flags = db.execute("SELECT count(*) FROM flags").fetchone()[0]
    audit_rows = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    scan, scan_cpu = main.scan(0), main.scan(1)
    catch, c = main.catch_up, main.catch_up["summary"]
    print(
        f"study     {main.participants:,} participants × {main.days} days, {main.entries:,} entries"
    )
    print(
        f"baseline  full scan of the entries the job reads: median {scan * 1000:,.0f} ms"
        f" (cpu {scan_cpu * 1000:,.0f} ms) of {len(main.scans)}"
    )
    ratio = catch["wall"] / scan
    print(
        f"catch-up  {c['dates_closed']:,} dates, {c['missed']:,} missed, {c['flags_opened']:,}"
        f" flags opened: {catch['wall']:.1f} s = {ratio:.1f}× full scan"
        f" (cpu {catch['cpu'] / scan_cpu:.1f}×)   goal ≤ {GOAL_CATCH_UP:g}×"
        f"  {verdict(ratio <= GOAL_CATCH_UP)}"
    )
    small = fewer_days.catch_up
    grown = catch["peak_rss_mb"] / small["peak_rss_mb"]
    print(
        f"memory    scheduler process peak RSS {catch['peak_rss_mb']:.0f} MB closing"
        f" {c['dates_closed']:,} dates, {small['peak_rss_mb']:.0f} MB closing"
        f" {small['summary']['dates_closed']:,} ({catch['rss_before_mb']:.0f} MB before the run)"
        f" = {grown:.2f}×   goal ≤ {GOAL_RSS:g}×  {verdict(grown <= GOAL_RSS)}"
    )
    print(f"repeat    same instant, nothing to close: {main.repeat * 1000:.0f} ms")
    d = main.summaries[-1]
    ratio = main.day(0) / scan
    runs = ", ".join(f"{w * 1000:.0f}" for w, _ in main.daily)
    print(
        f"daily     {d['dates_closed']:,} dates, {d['missed']:,} missed, {d['flags_opened']}"
        f" opened, {d['flags_updated']} updated: median {main.day(0) * 1000:.0f} ms ({runs})"
        f" = {ratio:.3f}× full scan (cpu {main.day(1) / scan_cpu:.3f}×)"
        f"   goal ≤ {GOAL_DAILY:g}×  {verdict(ratio <= GOAL_DAILY)}"
    )
    print(
        f"          its writes checkpointed afterwards by the scheduler's checkpointer"
        f" (not in the run): median {statistics.median(main.checkpoints) * 1000:.0f} ms"
    )
    print("scaling   participants  history  daily run, median (cpu)  per 1,000 participants")
    for r in sorted((fewer_people, fewer_days, main), key=lambda r: (r.participants, r.days)):
        print(
            f"          {r.participants:>12,}  {r.days:>5} d  {r.day(0) * 1000:>9.0f} ms"
            f" ({r.day(1) * 1000:>5.0f} ms)  {r.day(0) * 1000 / (r.participants / 1000):>14.1f} ms"
        )
    flat = main.day(0) / fewer_days.day(0)
    print(
        f"          flat in history: {main.days} vs {fewer_days.days} days = {flat:.2f}×"
        f" (cpu {main.day(1) / fewer_days.day(1):.2f}×)"
        f"   goal ≤ {GOAL_FLAT:g}×  {verdict(flat <= GOAL_FLAT)}"
    )
    scale = main.participants / fewer_people.participants
    times = main.day(0) / fewer_people.day(0)
    per = times / scale
    print(
        f"          linear in participants: {main.participants:,} vs"
        f" {fewer_people.participants:,} = {times:.1f}× ({per:.2f}× per participant,"
        f" cpu {main.day(1) / fewer_people.day(1) / scale:.2f}×)"
        f"   goal ≤ {GOAL_LINEAR:g}× per participant  {verdict(per <= GOAL_LINEAR)}"
    )
    print(
        f"flags     {flags:,} flags, {audit_rows:,} audit rows"
        f" after {len(main.daily)} steady-state days"
    )
    if quick:
        print("quick     small studies: a smoke check; the goals are set for the full run")


def report_profile(main: Run) -> None:
    """Where the profiled day's run spent its time, and what the inserts of flags and
    audit rows alone cost the catch-up at that rate."""
    wall, times = main.profile
    in_sql = sum(t for t, _, _ in times.values())
    print(
        f"where     one more day of the main study: its run {wall * 1000:.0f} ms, by the diary"
        " function whose statements ran (rows returned or inserted)"
    )
    parts = sorted(times.items(), key=lambda kv: -kv[1][0])
    shown = [(label, t, n, rows) for label, (t, n, rows) in parts if t >= 0.01 * wall]
    rest = in_sql - sum(t for _, t, _, _ in shown)
    lines = [*shown, ("other statements", rest, None, None), ("Python", wall - in_sql, None, None)]
    for label, t, n, rows in lines:
        counts = f"{n:>3} statements {rows:>6,} rows" if n is not None else " " * 25
        print(f"          {t * 1000:>6.0f} ms {t / wall:>4.0%}  {counts}  {label}")
    flags, audit_rows = times.get("flags.queries.insert_flags"), times.get("audit.Appender.flush")
    if flags and audit_rows and flags[2] and audit_rows[2]:
        per_flag, per_row = flags[0] / flags[2], audit_rows[0] / audit_rows[2]
        opened = main.catch_up["summary"]["flags_opened"]
        alone = opened * (per_flag + per_row)
        print(
            f"          per row inserted: a flag {per_flag * 1e6:.0f} µs, an audit row"
            f" {per_row * 1e6:.0f} µs; at that rate the catch-up's {opened:,} flags opened"
            f" and their audit rows cost {alone:.1f} s = {alone / main.scan(0):.1f}× full scan"
            " in those inserts alone"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small studies: under a minute")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--steady-days", type=int)
    parser.add_argument("--dir", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--seed", type=int, default=20251103)
    parser.add_argument("--catch-up-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.catch_up_child:
        catch_up_child(*args.catch_up_child)
        return
    quiet_logs()
    people = args.participants or (1_000 if args.quick else 10_000)
    days = args.days or (60 if args.quick else 365)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    study = study_module.load(ROOT / "study.toml")
    runs = [
        Run(people, days, out / "jobs-main.sqlite3"),
        Run(people, max(days // 12, 15), out / "jobs-history.sqlite3"),
        Run(max(people // 10, 100), days, out / "jobs-people.sqlite3"),
    ]
    for run in runs:
        prepare(run, study=study, seed=args.seed)
    steady_days(
        runs, days=args.steady_days or (3 if args.quick else 5), study=study, seed=args.seed
    )
    report(*runs, quick=args.quick)
    profile_day(runs[0], study=study, seed=args.seed)
    report_profile(runs[0])
    for run in runs:
        run.db.conn.close()


if __name__ == "__main__":
    main()
