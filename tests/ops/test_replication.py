"""The replication lag `flask diary replicate` measures (SPEC §16), with a real
Litestream shipping a real database: 0 while the replica keeps up; growing with the
age of the oldest write not shipped once the replica stops taking writes."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from diary.ops import replication


def write(database: Path, n: int) -> None:
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA busy_timeout = 10000")
    for i in range(n):
        conn.execute("INSERT INTO t (x) VALUES (?)", [i])
        conn.commit()
    conn.close()


def until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("not reached")


@pytest.fixture
def shipping(tmp_path):
    database = tmp_path / "diary.sqlite3"
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    config = tmp_path / "litestream.yml"
    url = f"file://{tmp_path / 'replica'}"
    config.write_text(replication.config_text(str(database), url))
    child = subprocess.Popen(  # noqa: S603
        [replication.binary(), "replicate", "-no-expand-env", "-config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield database, url, tmp_path / "replica"
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:  # stuck retrying the broken store
            child.kill()
            child.wait(10)


def test_the_lag_is_zero_while_shipping_and_grows_when_the_replica_stops_taking_writes(
    shipping,
):
    database, url, folder = shipping
    write(database, 5)
    lag = until(
        lambda: (
            (m := replication.measure(str(database), url)).replica_txid
            and m.seconds == 0
            and m.local_txid == m.replica_txid
            and m
        )
    )
    replication.write_state(str(database), lag)
    assert '"lag_seconds": 0.0' in Path(f"{database}.replication.json").read_text()

    # The replica's store fails (its folder is no longer a folder): writes go on here.
    broken = folder.parent / "replica-moved"
    folder.rename(broken)
    folder.write_text("not a folder")
    write(database, 5)
    time.sleep(3)
    later = until(
        lambda: (
            (m := replication.measure(str(database), url, known=lag.replica_txid)).seconds > 1.5
            and m
        )
    )
    assert later.reachable is False
    assert later.local_txid > later.replica_txid == lag.replica_txid


def test_restore_brings_back_the_state_as_of_a_moment_and_verifies_it(app, db, enroll, tmp_path):
    url = f"file://{tmp_path / 'pitr-replica'}"
    app.config["DIARY_REPLICA_URL"] = url
    database = app.config["DIARY_DATABASE"]
    config = tmp_path / "pitr.yml"
    config.write_text(replication.config_text(database, url))
    child = subprocess.Popen(  # noqa: S603
        [replication.binary(), "replicate", "-no-expand-env", "-config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def shipped():
            m = replication.measure(database, url)
            return m.replica_txid and m.local_txid == m.replica_txid

        enroll("LBP-001")
        until(shipped)
        # Litestream stamps what it ships to the second (its own clock, not ours).
        time.sleep(2.1)
        between = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        enroll("LBP-002")
        until(shipped)
    finally:
        child.terminate()
        child.wait(30)
    runner = app.test_cli_runner()

    def study_ids(path):
        conn = sqlite3.connect(path)
        try:
            return [r[0] for r in conn.execute("SELECT study_id FROM participants ORDER BY 1")]
        finally:
            conn.close()

    then = tmp_path / "then.sqlite3"
    done = runner.invoke(args=["diary", "restore", "--to", str(then), "--timestamp", between])
    assert done.exit_code == 0, done.output
    assert "audit OK" in done.output
    assert study_ids(then) == ["LBP-001"]

    now = tmp_path / "now.sqlite3"
    latest = runner.invoke(args=["diary", "restore", "--to", str(now)])
    assert latest.exit_code == 0, latest.output
    assert study_ids(now) == ["LBP-001", "LBP-002"]
    # An existing file is never overwritten; a bad instant is refused.
    assert runner.invoke(args=["diary", "restore", "--to", str(now)]).exit_code == 2
    bad = runner.invoke(
        args=[
            "diary",
            "restore",
            "--to",
            str(tmp_path / "x"),
            "--timestamp",
            "9999-12-31T23:59:59-23:59",
        ]
    )
    assert bad.exit_code == 2 and "offset" in bad.output
