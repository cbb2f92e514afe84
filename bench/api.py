"""Benchmark the API as deployed: gunicorn (2 sync workers) + the scheduler process.

    python bench/api.py            # 1,000 participants; 16 clients (7 rounds) and 64 (3), 6 s a run
    python bench/api.py --quick    # a smoke check under a minute: 100 participants, 16 clients, 3 rounds

Builds a fresh study database, starts `gunicorn wsgi:app`, the scheduler and a
second gunicorn with the same settings serving the yardsticks (bench/bare.py),
activates every participant through POST /participant/activate, then drives
closed-loop load from separate processes. Each round runs, back to back:

  * put: diary PUTs (create, corrections with a reason, 5 % byte-for-byte replays);
  * floor: the floor of any authenticated write, with the same cookie and body —
    the diary's session lookup + one row insert in a transaction;
  * bare: a bare Flask JSON endpoint;
  * mix: diary PUTs, history reads (30 days) and the staff flag inbox, while the
    RSS of each diary worker is sampled (--quick: bare and mix in the first round only).

Ratios are taken within a round and the median over rounds is reported (the
machine is shared and noisy: many short rounds beat a few long ones), with the
workers' CPU time per request. Then every acknowledged write is checked in the
database and `flask diary audit verify` runs. Only the figures are printed, each
with its goal and PASS/MISS (— for a figure reported without one); the exit status
is 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen, serverctl  # noqa: E402

PUT_VS_FLOOR = 0.50  # issue 18: diary PUT ≥ 50 % of the floor's throughput…
PUT_P99_MS = 50.0  # …with p99 ≤ 50 ms at 16 clients
RSS_MAX_MB = 150.0  # a worker of the 2-core, 2-worker deployment
RSS_GROWTH_MB = 10.0  # between the first and the last mix sample: no leak under load


@dataclass
class RssSampler:
    """Peak and last RSS of each gunicorn worker, sampled from /proc while the mix runs."""

    pids: list[int]
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    peak: dict[int, float] = field(default_factory=dict)

    @staticmethod
    def rss_mb(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    @contextlib.contextmanager
    def sampling(self, every: float = 0.25):
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                for pid in self.pids:
                    mb = self.rss_mb(pid)
                    if mb is None:
                        continue
                    self.first.setdefault(pid, mb)
                    self.last[pid] = mb
                    self.peak[pid] = max(mb, self.peak.get(pid, 0.0))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, bool | None]] = []

    def add(self, figure: str, goal: str, ok: bool | None) -> None:
        self.rows.append((figure, goal, ok))

    def print(self) -> bool:
        for figure, goal, ok in self.rows:
            print(f"{_verdict(ok):4}  {figure}\n      goal: {goal}")
        return all(ok is not False for _, _, ok in self.rows)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _check_writes(database: Path, acked: list[tuple]) -> tuple[bool, str]:
    """Every acknowledged diary write is in the database, once, with its audit row."""
    conn = sqlite3.connect(database)
    try:
        writes = conn.execute("SELECT count(*) FROM entry_writes").fetchone()[0]
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE object_type = 'entry'"
            " AND action IN ('entry.create', 'entry.correct')"
        ).fetchone()[0]
        # Each applied write (not a replay) raises the entry's version by one.
        versions_off = conn.execute(
            "SELECT count(*) FROM entries e WHERE e.version !="
            " (SELECT count(*) FROM entry_writes w WHERE w.entry_id = e.id)"
        ).fetchone()[0]
        stored = {row[0] for row in conn.execute("SELECT client_id FROM entry_writes")}
    finally:
        conn.close()
    missing = sum(1 for a in acked if a[2] not in stored)
    ok = writes == audited and versions_off == 0 and missing == 0
    return ok, (
        f"{writes:,} writes, {audited:,} entry audit rows, {missing} acknowledged writes"
        f" missing, {versions_off} entries whose version ≠ their writes"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke check under a minute")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--seconds", type=float, help="per scenario and round")
    parser.add_argument("--rounds", help="rounds per concurrency, e.g. 7,3")
    parser.add_argument("--clients", help="comma-separated concurrencies (the goals are at 16)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--root",
        type=Path,
        default=serverctl.ROOT,
        help="serve the app from this checkout (before/after comparisons: git worktree add)",
    )
    args = parser.parse_args()
    quick = {"participants": 100, "seconds": 2.0, "rounds": "3", "clients": "16"}
    full = {"participants": 1000, "seconds": 6.0, "rounds": "7,3", "clients": "16,64"}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    serverctl.ROOT = args.root.resolve()
    levels = [int(c) for c in args.clients.split(",")]
    rounds = [int(r) for r in args.rounds.split(",")]
    rounds += rounds[-1:] * (len(levels) - len(rounds))
    # The yardstick app imports the diary; the load generator's processes (spawned: they
    # import this module again) need not.
    from bench import bare

    workdir = Path(tempfile.mkdtemp(prefix="diary-bench-"))
    database = workdir / "diary.sqlite3"
    with contextlib.redirect_stderr(io.StringIO()):  # the set-up app's log lines
        study = serverctl.build_study(database, participants=args.participants)
    bare.prepare(str(database))

    env = serverctl.server_env(database, serverctl.free_port())
    port = int(env["DIARY_BASE_URL"].rsplit(":", 1)[1])
    yard_port = serverctl.free_port()
    web = serverctl.gunicorn(
        "wsgi:app", port=port, env=env, log=workdir / "gunicorn.log", workers=args.workers
    )
    yard = serverctl.gunicorn(
        "bench.bare:create_app()",
        port=yard_port,
        env=env,
        log=workdir / "yardstick.log",
        workers=args.workers,
        chdir=str(Path(__file__).resolve().parents[1]),
    )
    sched = serverctl.scheduler(env=env, log=workdir / "scheduler.log")
    runs: dict[tuple[str, int], list[loadgen.Result]] = {}
    acked: list[tuple] = []
    written: set[str] = set()
    try:
        web.start()
        yard.start()
        sched.start()
        serverctl.wait_ready(port)
        serverctl.wait_ready(yard_port)
        sessions = serverctl.activate_all(port, study.codes)
        staff = [serverctl.staff_login(port, email) for email in study.staff]
        participants = [(sid, s.cookie, s.csrf) for sid, s in sessions.items()]
        staff_pairs = [(s.cookie, s.csrf) for s in staff]
        sampler = RssSampler(serverctl.wait_workers(web, args.workers))

        def run(scenario: str, clients: int, seconds: float) -> loadgen.Result:
            served_by = yard if scenario in ("floor", "bare") else web
            cpu = _cpu_seconds(serverctl.worker_pids(served_by))
            plan = loadgen.Plan(
                port=yard_port if scenario in ("floor", "bare") else port,
                scenario=scenario,
                clients=clients,
                seconds=seconds,
                participants=participants,
                staff=staff_pairs,
                processes=args.processes,
                written=written,
            )
            result = loadgen.run(plan)
            answered = sum(len(v) for v in result.samples.values())
            cpu = _cpu_seconds(serverctl.worker_pids(served_by)) - cpu
            result.cpu_ms = cpu * 1000 / answered if answered else float("nan")
            written.update(f"{sid}|{day}" for sid, day, *_ in result.acked)
            acked.extend(result.acked)
            return result

        for scenario in ("mix", "floor"):  # warm-up: imports, caches, first entries
            run(scenario, 8, 1)
        for clients, count in zip(levels, rounds, strict=True):
            for n in range(count):
                for scenario in ("put", "floor", "bare", "mix"):
                    if args.quick and n and scenario in ("bare", "mix"):
                        continue
                    if scenario == "mix":
                        with sampler.sampling():
                            result = run(
                                scenario, clients, args.seconds * (1.5 if args.quick else 1)
                            )
                    else:
                        result = run(scenario, clients, args.seconds)
                    runs.setdefault((scenario, clients), []).append(result)
        web.stop()
        sched.stop()
        verify = serverctl.flask_cli(env, "audit", "verify", timeout=300)
    finally:
        serverctl.stop_all([web, yard, sched])

    report = Report()
    for clients in levels:
        puts, floors, bares, mixes = (runs[(s, clients)] for s in ("put", "floor", "bare", "mix"))

        def rate(results: list[loadgen.Result], kind: str) -> float:
            return _median([r.throughput(kind) for r in results])

        def ratio(tops: list[loadgen.Result], bottoms: list[loadgen.Result]) -> float:
            """The median over rounds of the two scenarios' ratio within a round."""
            pairs = zip(tops, bottoms, strict=False)  # --quick: bare in the first round only
            return _median([t.throughput(t.scenario) / b.throughput(b.scenario) for t, b in pairs])

        where = f"{clients} clients"
        goals = clients == 16  # the goals are stated at 16 clients
        vs_floor = ratio(puts, floors)
        p99 = _median([r.percentile("put", 99) for r in puts])
        p50 = _median([r.percentile("put", 50) for r in puts])
        report.add(
            f"diary PUT / floor, {where}: {vs_floor:.0%}"
            f"  (PUT {rate(puts, 'put'):,.0f}/s, floor {rate(floors, 'floor'):,.0f}/s)",
            f"≥ {PUT_VS_FLOOR:.0%}" if goals else "— (set at 16 clients)",
            vs_floor >= PUT_VS_FLOOR if goals else None,
        )
        report.add(
            f"diary PUT p99, {where}: {p99:.1f} ms  (p50 {p50:.1f} ms)",
            f"≤ {PUT_P99_MS:.0f} ms" if goals else "— (set at 16 clients)",
            p99 <= PUT_P99_MS if goals else None,
        )
        report.add(
            f"diary PUT / bare Flask, {where}: {ratio(puts, bares):.0%}"
            f"  (bare {rate(bares, 'bare'):,.0f}/s; floor / bare {ratio(floors, bares):.0%})",
            "— (reported)",
            None,
        )
        cpu = {r: _median([x.cpu_ms for x in runs[(r, clients)]]) for r in ("put", "floor")}
        report.add(
            f"worker CPU per request, {where}: PUT {cpu['put']:.2f} ms, floor"
            f" {cpu['floor']:.2f} ms (floor / PUT {cpu['floor'] / cpu['put']:.0%})",
            "— (reported)",
            None,
        )
        kinds = ("put", "history", "flags")
        total = _median([sum(r.throughput(k) for k in kinds) for r in mixes])
        p99s = ", ".join(f"{k} {_median([r.percentile(k, 99) for r in mixes]):.0f}" for k in kinds)
        report.add(f"mix, {where}: {total:,.0f} req/s; p99 {p99s} ms", "— (reported)", None)

    peaks = [sampler.peak[p] for p in sampler.pids if p in sampler.peak]
    growth = [sampler.last[p] - sampler.first[p] for p in sampler.pids if p in sampler.first]
    report.add(
        "RSS of each diary worker under the mix: peak "
        + ", ".join(f"{mb:.0f}" for mb in peaks)
        + " MB; growth "
        + ", ".join(f"{mb:+.1f}" for mb in growth)
        + " MB",
        f"≤ {RSS_MAX_MB:.0f} MB each, growth ≤ {RSS_GROWTH_MB:.0f} MB",
        bool(peaks) and max(peaks) <= RSS_MAX_MB and max(growth) <= RSS_GROWTH_MB,
    )
    failed: dict[int, int] = {}
    for results in runs.values():
        for result in results:
            for statuses in result.statuses.values():
                for status, count in statuses.items():
                    if not 200 <= status < 300:
                        failed[status] = failed.get(status, 0) + count
    shown = ", ".join(
        f"{count} × {status or 'no answer'}" for status, count in sorted(failed.items())
    )
    report.add(f"answers other than 2xx: {sum(failed.values())} {shown}".rstrip(), "0", not failed)
    writes_ok, writes = _check_writes(database, acked)
    report.add(f"diary writes: {writes}", "every write once, audited", writes_ok)
    verified = verify.returncode == 0 and verify.stdout.startswith("OK")
    report.add(
        f"audit verify: {'OK' if verified else (verify.stdout or verify.stderr).strip()[:120]}",
        "OK",
        verified,
    )
    ok = report.print()
    if not args.keep:
        for path in sorted(workdir.glob("*")):
            if path.is_file() and path.suffix != ".log":
                path.unlink()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
