"""Benchmark the API as deployed: gunicorn (2 sync workers) + the scheduler process.

    python bench/api.py [--participants 1000] [--seconds 15] [--clients 16,64]

Builds a fresh study database of N enrolled participants, starts
`gunicorn wsgi:app` and `flask --app wsgi diary scheduler` on 127.0.0.1,
activates every participant through POST /participant/activate, then drives
load from separate processes at each concurrency:

  * mix: diary PUTs with doses (create, corrections, replays), GET history
    (30 days), staff flag listing;
  * put: diary PUTs only;
  * bare: a bare Flask JSON endpoint (bench/bare.py) under the same gunicorn
    settings — the yardstick for what this machine and client can do.

Prints throughput and p50/p95/p99 latency per request kind, and the ratio of
diary-PUT throughput to the bare endpoint's. Goals (issue 8): PUT ≥ 50 % of
bare, p99 ≤ 100 ms at 16 clients. Machines are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen, serverctl  # noqa: E402


def _line(result: loadgen.Result, kind: str) -> str:
    counts = result.statuses.get(kind, {})
    other = {s: c for s, c in sorted(counts.items()) if not 200 <= s < 300}
    return (
        f"{result.scenario:5} {result.clients:3d}  {kind:8} {result.throughput(kind):8.0f}/s"
        f"  p50 {result.percentile(kind, 50):6.1f}  p95 {result.percentile(kind, 95):6.1f}"
        f"  p99 {result.percentile(kind, 99):6.1f} ms  ok {len(result.samples.get(kind, []))}"
        + (f"  other {other}" if other else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", default="16,64", help="comma-separated concurrencies")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--scenarios", default="mix,put,bare")
    parser.add_argument("--keep", action="store_true", help="keep the database directory")
    parser.add_argument(
        "--root",
        type=Path,
        default=serverctl.ROOT,
        help="serve the app from this checkout (before/after comparisons: git worktree add)",
    )
    args = parser.parse_args()
    serverctl.ROOT = args.root.resolve()
    levels = [int(c) for c in args.clients.split(",")]
    scenarios = args.scenarios.split(",")

    workdir = Path(tempfile.mkdtemp(prefix="diary-bench-"))
    database = workdir / "diary.sqlite3"
    print(f"work directory: {workdir}")

    t0 = time.perf_counter()
    study = serverctl.build_study(database, participants=args.participants)
    print(f"enrolled {len(study.codes)} participants in {time.perf_counter() - t0:.1f}s")

    results: list[loadgen.Result] = []
    port = serverctl.free_port()
    env = serverctl.server_env(database, port)
    web = serverctl.gunicorn(
        "wsgi:app", port=port, env=env, log=workdir / "gunicorn.log", workers=args.workers
    )
    sched = serverctl.scheduler(env=env, log=workdir / "scheduler.log")
    try:
        web.start()
        sched.start()
        serverctl.wait_ready(port)
        t0 = time.perf_counter()
        sessions = serverctl.activate_all(port, study.codes)
        print(f"activated {len(sessions)} participants in {time.perf_counter() - t0:.1f}s")
        staff = [serverctl.staff_login(port, email) for email in study.staff]
        participants = [(sid, s.cookie, s.csrf) for sid, s in sessions.items()]
        staff_pairs = [(s.cookie, s.csrf) for s in staff]

        def plan(scenario: str, clients: int, seconds: float) -> loadgen.Plan:
            return loadgen.Plan(
                port=port,
                scenario=scenario,
                clients=clients,
                seconds=seconds,
                participants=participants,
                staff=staff_pairs,
                processes=args.processes,
                written=written,
            )

        written: set[str] = set()

        def record(result: loadgen.Result) -> loadgen.Result:
            written.update(f"{sid}|{day}" for sid, day, *_ in result.acked)
            return result

        record(loadgen.run(plan("mix", 8, 2)))  # warm-up: imports, caches, first entries
        for clients in levels:
            for scenario in ("mix", "put"):
                if scenario in scenarios:
                    results.append(record(loadgen.run(plan(scenario, clients, args.seconds))))
                    print(*(_line(results[-1], k) for k in results[-1].samples), sep="\n")
        web.stop()
        sched.stop()
        check = serverctl.flask_cli(env, "audit", "verify", timeout=300)
        print(f"audit verify: {check.stdout.strip() or check.stderr.strip()}")

        if "bare" in scenarios:
            port = serverctl.free_port()
            web = serverctl.gunicorn(
                "bench.bare:app",
                port=port,
                env=env,
                log=workdir / "bare.log",
                workers=args.workers,
                chdir=str(Path(__file__).resolve().parents[1]),
            )
            web.start()
            serverctl.wait_ready(port)
            loadgen.run(plan("bare", 8, 2))
            for clients in levels:
                results.append(loadgen.run(plan("bare", clients, args.seconds)))
                print(_line(results[-1], "bare"))
    finally:
        serverctl.stop_all([web, sched])

    print("\n== summary ==")
    for r in results:
        for kind in r.samples:
            print(_line(r, kind))
    ok = True
    for clients in levels:
        put = next((r for r in results if r.scenario == "put" and r.clients == clients), None)
        bare = next((r for r in results if r.scenario == "bare" and r.clients == clients), None)
        if put and bare and bare.throughput("bare"):
            ratio = put.throughput("put") / bare.throughput("bare")
            print(f"{clients:3d} clients: diary PUT / bare = {ratio:.0%}  (goal ≥ 50%)")
            ok &= ratio >= 0.5
        if clients == 16 and put:
            p99 = put.percentile("put", 99)
            print(f" 16 clients: PUT p99 = {p99:.1f} ms  (goal ≤ 100 ms)")
            ok &= p99 <= 100
    if not args.keep:
        for path in sorted(workdir.glob("*")):
            if path.suffix != ".log":
                path.unlink()
    print(f"logs: {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
