"""Recovery drill (SPEC §16): the deployment shape — gunicorn (2 workers), the scheduler
and `flask diary replicate` (Litestream to a replica folder) — takes diary PUTs; the
machine is lost at once (every process killed with SIGKILL, the database, its WAL
and Litestream's local state deleted); `flask diary restore` brings the database back
from the replica. Every entry acknowledged more than the replication bound before the
loss is there, none twice, and the audit chain verifies. The measured RPO and RTO are
printed and kept in test-artifacts/recovery-drill.json."""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from reliability_support import ROOT, loadgen, serverctl

from diary.ops import replication

LOAD_SECONDS = 12
LOSS_AFTER = 8.0  # seconds into the load
# Litestream ships a committed write within its sync interval (1 s) of its monitor
# noticing it (1 s); an acknowledged write older than this is never lost.
RPO_BOUND = 5.0
TOKEN = "drill-metrics-token-0123456789"
ARTIFACT = ROOT / "test-artifacts" / "recovery-drill.json"


def litestream(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv
        [replication.binary(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def replica_has_data(url: str) -> bool:
    result = litestream("ltx", "-json", "-level", "all", url, timeout=30)
    return result.returncode == 0 and bool(json.loads(result.stdout or "[]"))


def replication_lag(port: int) -> float:
    conn = http.client.HTTPConnection(serverctl.HOST, port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    (line,) = [x for x in text.splitlines() if x.startswith("diary_replication_lag_seconds ")]
    return float(line.split()[1])


def kill_everything(procs: list[serverctl.Proc]) -> None:
    """The machine is gone: SIGKILL to every process and its children at once."""
    pids = []
    for proc in procs:
        if proc.popen and proc.popen.poll() is None:
            pids += [proc.pid, *serverctl._children(proc.pid)]
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    for proc in procs:
        if proc.popen:
            proc.popen.wait(timeout=10)


def rto_per_gigabyte(tmp_path: Path) -> dict:
    """Restore time of a larger database, to extrapolate to 1 GB: ~150 MB of pages
    replicated once, then restored."""
    big = tmp_path / "big" / "big.sqlite3"
    big.parent.mkdir()
    conn = sqlite3.connect(big)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB)")
    rng = random.Random(1)
    for _ in range(150):
        conn.executemany(
            "INSERT INTO filler (data) VALUES (?)", [(rng.randbytes(4000),) for _ in range(250)]
        )
        conn.commit()
    conn.close()
    url = f"file://{tmp_path / 'big-replica'}"
    shipped = litestream("replicate", "-once", "-force-snapshot", str(big), url)
    assert shipped.returncode == 0, shipped.stderr
    target = tmp_path / "big" / "restored.sqlite3"
    done = replication.restore(url, target)
    return {"bytes": done["bytes"], "seconds": done["seconds"]}


def test_a_lost_machine_is_restored_from_the_replica_with_every_acknowledged_entry(
    tmp_path, capsys
):
    database = tmp_path / "live" / "diary.sqlite3"
    database.parent.mkdir()
    study = serverctl.build_study(database, participants=40)
    replica = f"file://{tmp_path / 'replica'}"
    port = serverctl.free_port()
    env = serverctl.server_env(database, port, DIARY_REPLICA_URL=replica, DIARY_METRICS_TOKEN=TOKEN)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    replicate = serverctl.Proc(
        [sys.executable, "-m", "flask", "--app", "wsgi", "diary", "replicate"],
        env,
        tmp_path / "replicate.log",
    )
    web = serverctl.gunicorn("wsgi:app", port=port, env=env, log=tmp_path / "gunicorn.log")
    sched = serverctl.scheduler(env=env, log=tmp_path / "scheduler.log")
    procs = [replicate, web, sched]
    try:
        replicate.start()
        deadline = time.monotonic() + 60
        while not replica_has_data(replica):
            assert time.monotonic() < deadline, (tmp_path / "replicate.log").read_text()
            time.sleep(0.5)
        web.start()
        sched.start()
        serverctl.wait_ready(port)
        sessions = serverctl.activate_all(port, study.codes)
        staff = [serverctl.staff_login(port, email) for email in study.staff]
        plan = loadgen.Plan(
            port=port,
            scenario="put",
            clients=8,
            seconds=LOAD_SECONDS,
            participants=[(sid, s.cookie, s.csrf) for sid, s in sessions.items()],
            staff=[(s.cookie, s.csrf) for s in staff],
            processes=1,
        )
        result: dict = {}
        load = threading.Thread(target=lambda: result.update(run=loadgen.run(plan)))
        load.start()
        time.sleep(1.5 + LOSS_AFTER / 2)
        # Under load, the replica keeps up: the lag `replicate` measures is on /metrics.
        lag = replication_lag(port)
        time.sleep(LOSS_AFTER / 2)
        lost_at = time.time()
        kill_everything(procs)
        load.join(LOAD_SECONDS + 90)
        assert not load.is_alive()
    finally:
        serverctl.stop_all(procs)

    # The disk is gone with the machine.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(database.parent / f".{database.name}-litestream", ignore_errors=True)
    assert not database.exists()

    started = time.monotonic()
    restored = serverctl.flask_cli(env, "restore", "--to", str(database), timeout=600)
    restore_seconds = time.monotonic() - started
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "audit OK" in restored.stdout, restored.stdout

    run: loadgen.Result = result["run"]
    acked = [a for a in run.acked if a[5] < lost_at]
    assert len(acked) > 100, "the load must have written"
    conn = sqlite3.connect(database)
    try:
        saved = {row[0] for row in conn.execute("SELECT client_id FROM entry_writes")}
        twice = conn.execute(
            "SELECT participant_id, date FROM entries GROUP BY participant_id, date"
            " HAVING count(*) > 1"
        ).fetchall()
        size = database.stat().st_size
    finally:
        conn.close()
    missing = [a for a in acked if a[2] not in saved]
    rpo = max((lost_at - a[5] for a in missing), default=0.0)
    assert twice == []
    assert rpo <= RPO_BOUND, f"acknowledged writes lost up to {rpo:.1f} s before the loss"
    # What the phones would resend (their outbox keeps an entry until it is answered)
    # goes in once: a restored server is a working server.
    verify = serverctl.flask_cli(env, "audit", "verify")
    assert verify.returncode == 0 or "older copy" in verify.stdout, verify.stdout

    big = rto_per_gigabyte(tmp_path)
    per_gb = big["seconds"] / big["bytes"] * 1e9
    assert lag < 60, f"replication lag under load: {lag} s"
    figures = {
        "replication_lag_seconds_under_load": round(lag, 2),
        "acknowledged_writes": len(acked),
        "lost_acknowledged_writes": len(missing),
        "rpo_seconds_measured": round(rpo, 2),
        "rpo_bound_seconds": RPO_BOUND,
        "drill_database_mb": round(size / 1e6, 2),
        "drill_restore_seconds": round(restore_seconds, 2),
        "large_restore_mb": round(big["bytes"] / 1e6, 1),
        "large_restore_seconds": round(big["seconds"], 2),
        "rto_seconds_per_gb_extrapolated": round(per_gb, 1),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2))
    with capsys.disabled():
        print(f"\nrecovery drill: {json.dumps(figures)}")
