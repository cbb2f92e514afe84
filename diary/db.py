"""SQLite connections (WAL, foreign keys, busy timeout), transactions and migrations."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, g
from sqlite_utils import Database

from . import clock

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
# Checkpoints are the scheduler's work (WalCheckpointer, every CHECKPOINT_SECONDS), not
# the writers': with SQLite's default, the commit that takes the WAL past 1,000 pages
# copies them into the database while it holds the diary's writer lock (a diary PUT about
# every sixty; the daily run's own commit). A writer checkpoints only past this many pages
# (64 MiB), should no scheduler run.
WAL_AUTOCHECKPOINT_PAGES = 16_384
CHECKPOINT_SECONDS = 1.0


class DiaryDatabase(Database):
    """sqlite-utils' Database whose query() reads without a savepoint.

    sqlite-utils wraps every query() in SAVEPOINT/RELEASE so it can roll back a
    statement that returns no rows; outside a transaction that also opens and
    closes one. Our SQL passed to query() always returns rows, and the guard
    doubled the statements of a diary PUT.
    """

    def query(self, sql: str, params=None):
        cursor = self.conn.execute(sql, params if params is not None else ())
        if cursor.description is None:
            raise ValueError("query() is for statements that return rows; use execute()")
        keys = [d[0] for d in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)


def connect(path: str) -> Database:
    """Open a connection with the PRAGMAs every connection needs."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # transactions are explicit: see transaction()
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    db = DiaryDatabase(conn)
    db.writer_lock_path = None if path == ":memory:" else f"{path}-writer.lock"
    db.path = None if path == ":memory:" else os.path.realpath(path)  # names its audit key
    return db


def checkpoint(db: Database) -> tuple[int, int]:
    """Copy what the WAL holds into the database, without waiting for or blocking any
    reader or writer (a PASSIVE checkpoint); the WAL starts over once all of it is
    copied. Returns (frames in the WAL, frames copied)."""
    _, frames, copied = db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return frames, copied


class WalCheckpointer:
    """A thread that checkpoints the database every `interval` seconds (the scheduler
    process runs one), so that no writer's commit pays for it.

    Each round copies what the WAL holds beside the writers, then again what they
    appended meanwhile while holding the diary's writer lock
    (a few pages: writers wait that long). The WAL is then all copied and no write is
    under way, so the next write starts it over; without that step a steady stream of
    writes would never leave it all copied, and it would grow until a writer's own
    commit checkpointed it (WAL_AUTOCHECKPOINT_PAGES). The lock is tried for
    LOCKED_STEP_WAIT seconds only (a long write transaction is left to the next round);
    when a reader's snapshot (Litestream's) held some of the WAL back even then, the
    next HELD_BACK_ROUNDS rounds copy without it.
    """

    LOCKED_STEP_WAIT = 0.5
    HELD_BACK_ROUNDS = 10

    def __init__(self, path: str, interval: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settled: int | None = None  # the WAL's frames when last all copied
        self._pause = 0  # rounds left without the locked step

    def start(self) -> None:
        if self.path == ":memory:" or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        db = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    db = db or connect(self.path)
                    self.round(db)
                except Exception as exc:  # noqa: BLE001 - the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            if db is not None:
                db.conn.close()

    def round(self, db: Database) -> None:
        frames, _ = checkpoint(db)
        if frames <= 0 or frames == self._settled:
            return  # nothing there, or nothing written since it was all copied
        if self._pause:
            self._pause -= 1
            return
        lock = _acquire_writer_lock(db, wait=self.LOCKED_STEP_WAIT)
        if lock is None:
            return
        try:
            frames, copied = checkpoint(db)
        finally:
            os.close(lock)
        self._settled = frames if copied >= frames else None
        if copied < frames:  # a reader's snapshot holds the rest back: the lock cannot help
            self._pause = self.HELD_BACK_ROUNDS


# A WAL database whose last connection closes is checkpointed and its WAL file
# deleted; reopening per request costs ~2.5x throughput. Each worker thread
# keeps one connection per database path instead.
_local = threading.local()


def _thread_db(path: str) -> Database:
    cache = getattr(_local, "dbs", None)
    if cache is None:
        cache = _local.dbs = {}
    db = cache.get(path)
    if db is None:
        db = cache[path] = connect(path)
    return db


def thread_database(path: str) -> Database:
    """This thread's kept connection to the database at `path`: the one get_db() gives a
    request served on this thread (tests trace the statements a request runs on it)."""
    return _thread_db(path)


def get_db() -> Database:
    """The request's connection (one kept per thread and database)."""
    if "db" not in g:
        g.db = _thread_db(current_app.config["DIARY_DATABASE"])
    return g.db


def _teardown(exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.rollback()  # never leave a half-done write to the next request


def close_thread_connections() -> None:
    """Close this thread's cached connections (tests and CLI shutdown)."""
    for db in getattr(_local, "dbs", {}).values():
        db.conn.close()
    _local.dbs = {}


def _acquire_writer_lock(db: Database, wait: float = BUSY_TIMEOUT_MS / 1000) -> int | None:
    """Queue writers of every process on an advisory file lock before BEGIN IMMEDIATE.

    SQLite's busy handler sleeps with a growing back-off (up to 100 ms) while
    another connection writes; a file lock polled every half millisecond hands
    the database to the next writer at once. Returns the descriptor to close (which
    releases the lock), or None to fall back on SQLite's own waiting (after `wait`
    seconds).
    """
    path = getattr(db, "writer_lock_path", None)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                os.close(fd)
                return None  # SQLite's busy timeout still guards correctness
            time.sleep(0.0005)


@contextmanager
def transaction(db: Database, *, immediate: bool = True) -> Iterator[Database]:
    """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so
    a web request and a job racing for the same rows wait instead of failing
    on lock upgrade. Nested use becomes a savepoint."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    lock = _acquire_writer_lock(db) if immediate else None
    try:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        if lock is not None:
            os.close(lock)


class LazySavepoint:
    """A savepoint opened only before the first write it guards (`open()` from the code
    about to write): a loop over ten thousand participants of whom most write nothing
    would spend more on savepoints than on its work. Never nested: one name at a time."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.opened = False

    def open(self) -> None:
        if not self.opened:
            self.db.conn.execute(f"SAVEPOINT {self.name}")
            self.opened = True

    def release(self) -> None:
        if self.opened:
            self.db.conn.execute(f"RELEASE SAVEPOINT {self.name}")

    def roll_back(self) -> None:
        if self.opened and self.db.conn.in_transaction:
            self.db.conn.execute(f"ROLLBACK TO SAVEPOINT {self.name}")
            self.db.conn.execute(f"RELEASE SAVEPOINT {self.name}")


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


# The one command that applies migrations (scripts/start runs it); said by whatever refuses.
MIGRATE_COMMAND = "flask --app wsgi diary init-db"


def pending_migrations_at(path: str) -> list[str]:
    """The migrations not yet applied to the database file at `path` (all of them when
    there is no file: looking never creates one, so `restore` can write it)."""
    if path != ":memory:" and not os.path.exists(path):
        return [p.name for p in migration_files()]
    database = connect(path)
    try:
        return pending_migrations(database)
    finally:
        database.conn.close()


def pending_migrations(db: Database) -> list[str]:
    """The migration files not applied yet, in order. Reads only: no lock, nothing created."""
    known = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    applied = {r[0] for r in db.execute("SELECT name FROM schema_migrations")} if known else set()
    return [p.name for p in migration_files() if p.name not in applied]


def migrate(db: Database, *, upto: str | None = None) -> list[str]:
    """Apply pending migrations in order (up to and including `upto`, else all); return
    the names applied.

    Idempotent: applied ones are recorded with a checksum, and an applied file
    that was edited afterwards is refused rather than silently diverging. Each runs
    in its own transaction: one that fails leaves the database as the one before it
    left it.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied_now: list[str] = []
    for path in migration_files():
        if upto is not None and path.name > upto:
            break
        sql = path.read_text("utf-8")
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        rebuilds = sql.startswith(FOREIGN_KEYS_OFF)
        with _foreign_keys_off_if(db, rebuilds), transaction(db):
            row = db.execute(
                "SELECT checksum FROM schema_migrations WHERE name = ?", [path.name]
            ).fetchone()
            if row:
                if row[0] != checksum:
                    raise RuntimeError(
                        f"migration {path.name} was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            for statement in _statements(sql):
                db.execute(statement)
            broken = db.execute("PRAGMA foreign_key_check").fetchall() if rebuilds else []
            if broken:
                raise RuntimeError(f"migration {path.name} breaks foreign keys: {broken[:5]}")
            db.execute(
                "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                [path.name, checksum, clock.iso(clock.now())],
            )
            applied_now.append(path.name)
    return applied_now


# A migration that rebuilds a table others reference starts with this line: SQLite
# can only switch enforcement outside a transaction, and the runner checks every
# reference before the migration commits.
FOREIGN_KEYS_OFF = "-- pragma: foreign_keys=off"


@contextmanager
def _foreign_keys_off_if(db: Database, wanted: bool) -> Iterator[None]:
    if not wanted:
        yield
        return
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        db.execute("PRAGMA foreign_keys = ON")


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (triggers contain ';' inside BEGIN…END)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def backup(source_path: str, target_path: Path) -> tuple[list[tuple], int]:
    """An online copy of the database at `target_path`, then PRAGMA integrity_check on
    the copy: the check's rows ([("ok",)] when sound) and the copy's audit rows."""
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(target_path)
    try:
        # One step under a read transaction: in WAL mode writers carry on, and a
        # step-wise copy would restart on every write and might never finish.
        source.backup(target, pages=-1)
    finally:
        source.close()
    try:
        result = target.execute("PRAGMA integrity_check").fetchall()
        count = target.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        target.close()
    return result, count


def init_app(app) -> None:
    app.teardown_appcontext(_teardown)
