"""Append-only, keyed hash-chained audit trail (SPEC §9).

Each row's hash is an HMAC-SHA256, under a key kept out of the database
(DIARY_AUDIT_KEY), of its own fields and the previous row's hash: editing,
reordering or removing a row breaks the chain at that row, and someone holding
the file but not the key cannot compute a new chain. The database itself refuses
UPDATE and DELETE (triggers in migrations/0001). Rows written before the chain was
keyed keep their plain SHA-256; the first keyed row (`audit.chain_keyed`) names how
many there are, so they are protected by every keyed row after them. Truncation of
the newest rows is found by the signed anchors kept outside the database
(anchors.py); direct edits of audited tables by ops/integrity.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..config import DEV_SECRET_KEY, derive_audit_key

GENESIS = "0" * 64
KEYED = "hmac-sha256:"  # the prefix of a keyed row's hash; a legacy hash is bare hex
CHAIN_KEYED = "audit.chain_keyed"
_keys: dict[str, bytes] = {}


# The key of a database no app registered (a development or test database opened
# directly): the development one. Production's app factory registers its own.
_DEVELOPMENT_KEY = derive_audit_key(DEV_SECRET_KEY)


def use_key(path: str, key: bytes) -> None:
    """Sign the audit chain of the database file at `path` with `key` (the app factory)."""
    _keys[os.path.realpath(path)] = key


def key_for(db: Database) -> bytes:
    path = getattr(db, "path", None)
    return key_of_file(path) if path else _DEVELOPMENT_KEY


def key_of_file(path: str) -> bytes:
    """The audit key of the database file at `path` (its copies are signed alike)."""
    return _keys.get(_realpath(path), _DEVELOPMENT_KEY)


_real: dict[str, str] = {}


def _realpath(path: str) -> str:
    # Resolving a path is system calls: a job appending thousands of rows to a database
    # no app registered a key for resolved it once per row.
    real = _real.get(path)
    if real is None:
        real = _real[path] = os.path.realpath(path)
    return real


_FIELDS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "site_id",
    "participant_id",
    "before",
    "after",
    "reason",
    "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    type: str  # staff | participant | system | cli
    id: str | None = None
    label: str | None = None


CLI = Actor("cli", None, "command line")


def system(job: str) -> Actor:
    return Actor("system", job, f"job {job}")


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _payload(row: dict[str, Any]) -> bytes:
    """What a row's hash signs: its fields in order, as compact JSON."""
    return json.dumps([row.get(name) for name in _FIELDS], separators=(",", ":")).encode()


def row_hash(row: dict[str, Any], key: bytes | None = None) -> str:
    """The row's keyed hash; with no key, the plain SHA-256 of rows before keying."""
    payload = _payload(row)
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return KEYED + hmac.new(key, payload, hashlib.sha256).hexdigest()


def _append(db: Database, key: bytes, last: tuple[int, str] | None, row: dict[str, Any]) -> int:
    row = {"id": (last[0] + 1) if last else 1, **row, "prev_hash": last[1] if last else GENESIS}
    row["hash"] = row_hash(row, key)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO audit_log ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608
    return row["id"]


def key_chain(db: Database, at: datetime | None = None) -> int | None:
    """Key a chain whose newest row predates keying (inside a transaction): append the
    `audit.chain_keyed` row that names how many unkeyed rows precede it. Returns its
    id, or None when there is nothing to do (empty, or keyed already)."""
    last = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    if last is None or last[1].startswith(KEYED):
        return None
    return _append(
        db,
        key_for(db),
        last,
        {
            "at": clock.iso(at or clock.now()),
            "actor_type": "system",
            "actor_id": "audit",
            "actor_label": "audit trail",
            "action": CHAIN_KEYED,
            "object_type": "audit_log",
            "object_id": None,
            "site_id": None,
            "participant_id": None,
            "before": None,
            "after": _canonical({"unkeyed_rows": last[0]}),
            "reason": "rows from here on are signed with the audit key",
        },
    )


def record(
    db: Database,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    site_id: int | None = None,
    participant_id: int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one audit row; must run inside the transaction of the change it records."""
    rows = Appender(db)
    row_id = rows.record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        site_id=site_id,
        participant_id=participant_id,
        before=before,
        after=after,
        reason=reason,
        at=at,
    )
    rows.flush()
    return row_id


def _fields(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    site_id: int | None,
    participant_id: int | None,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    return {
        "at": None,
        "actor_type": actor.type,
        "actor_id": None if actor.id is None else str(actor.id),
        "actor_label": actor.label,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "site_id": site_id,
        "participant_id": participant_id,
        "before": _canonical(before),
        "after": _canonical(after),
    }


def _head(db: Database, at: datetime | None) -> tuple[int, str] | None:
    """The chain's newest (id, hash), keying a chain whose newest row predates keying."""
    last = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    if last is not None and not last[1].startswith(KEYED):
        marker = key_chain(db, at)
        last = db.execute("SELECT id, hash FROM audit_log WHERE id = ?", [marker]).fetchone()
    return last


def _key(db: Database) -> bytes:
    # connect() keeps the real path in db.path, as use_key() keys it: resolving the path
    # again (key_for) took nearly half of an audit row's time, in system calls.
    path = getattr(db, "path", None)
    key = _keys.get(path) if path else None
    return key or key_for(db)


_UNREAD = object()


class Appender:
    """The audit rows of one transaction, appended with fewer statements: the chain's
    head is read once and kept here, each row is built and signed exactly as record()
    would build it in its place (same id, fields, prev_hash and keyed hash), and
    flush() inserts the rows waiting in one statement.

    While rows wait, nothing else may append to the chain in the transaction: its
    owner flushes before handing the transaction to code that might. `mark()` and
    `undo(mark)` drop the rows recorded since a mark that were not flushed (a part of
    the work that failed and whose savepoint was rolled back)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: list[tuple[Any, ...]] = []
        self._last: Any = _UNREAD
        self._key: bytes | None = None
        self._hmac: Any = None

    def record(
        self,
        *,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: Any = None,
        site_id: int | None = None,
        participant_id: int | None = None,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """As record(): the id the row has (once flushed)."""
        db = self.db
        if not db.conn.in_transaction:
            raise RuntimeError("audit rows are appended inside the change's transaction")
        if self._last is _UNREAD:
            self._last = _head(db, at)
            self._key = _key(db)
            self._hmac = hmac.new(self._key, digestmod=hashlib.sha256)
        last = self._last
        row = _fields(actor, action, object_type, object_id, site_id, participant_id, before, after)
        row["id"] = (last[0] + 1) if last else 1
        row["at"] = clock.iso(at or clock.now())
        row["reason"] = reason
        row["prev_hash"] = last[1] if last else GENESIS
        signer = self._hmac.copy()  # = hmac.new(key, …): the key's pads are worked out once
        signer.update(_payload(row))
        digest = KEYED + signer.hexdigest()
        self._rows.append((*(row[name] for name in _FIELDS), digest))
        self._last = (row["id"], digest)
        return row["id"]

    def mark(self) -> tuple[int, Any]:
        return len(self._rows), self._last

    def undo(self, mark: tuple[int, Any]) -> None:
        del self._rows[mark[0] :]
        self._last = mark[1]

    def flush(self, upto: int | None = None) -> None:
        """Insert the rows waiting (the first `upto` of them)."""
        rows = self._rows if upto is None else self._rows[:upto]
        if rows:
            self.db.conn.executemany(_INSERT, rows)
            del self._rows[: len(rows)]

    @property
    def waiting(self) -> int:
        return len(self._rows)


_INSERT = (
    f"INSERT INTO audit_log ({', '.join(_FIELDS)}, hash)"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in range(len(_FIELDS) + 1))})"
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    broken_id: int | None = None
    problem: str | None = None


def verify(db: Database, key: bytes | None = None) -> VerifyResult:
    """Walk the chain in id order; report the first row whose link is broken. Unkeyed
    rows are accepted only before the `audit.chain_keyed` row that counts them."""
    key = key or key_for(db)
    previous = GENESIS
    expected_id = 1
    count = 0
    keyed = False
    cursor = db.execute(f"SELECT {', '.join(_FIELDS)}, hash FROM audit_log ORDER BY id")  # noqa: S608
    names = [*_FIELDS, "hash"]
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        count += 1
        if row["id"] != expected_id:
            return VerifyResult(False, count, row["id"], f"row {expected_id} is missing")
        if row["prev_hash"] != previous:
            return VerifyResult(False, count, row["id"], "prev_hash does not match the row before")
        if row["hash"].startswith(KEYED):
            if row_hash(row, key) != row["hash"]:
                problem = (
                    "content does not match its keyed hash: the row was changed, or"
                    " DIARY_AUDIT_KEY is not the key that wrote it"
                )
                return VerifyResult(False, count, row["id"], problem)
            if not keyed and row["id"] > 1 and not _counts_unkeyed(row, row["id"] - 1):
                return VerifyResult(
                    False, count, row["id"], "unkeyed rows before it were not counted when keyed"
                )
            keyed = True
        elif keyed:
            return VerifyResult(False, count, row["id"], "an unkeyed row after keyed ones")
        elif row_hash(row) != row["hash"]:
            return VerifyResult(False, count, row["id"], "content does not match its hash")
        previous = row["hash"]
        expected_id += 1
    if count and not keyed:
        return VerifyResult(
            False,
            count,
            count,
            "no row is signed with the audit key: run `flask diary init-db` to key the chain",
        )
    return VerifyResult(True, count)


def _counts_unkeyed(row: dict[str, Any], unkeyed: int) -> bool:
    if row["action"] != CHAIN_KEYED:
        return False
    return json.loads(row["after"] or "{}").get("unkeyed_rows") == unkeyed
