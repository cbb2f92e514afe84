"""The second factor of staff sign-in (SPEC §15): TOTP (RFC 6238) with pyotp, and
one-time recovery codes.

The secret is kept encrypted (Fernet, with a key derived from SECRET_KEY by HKDF):
a copy of the database alone does not yield anyone's codes. A code is accepted for
its 30-second step and one step either side (phone clocks drift), and never twice:
the last accepted step is stored. Recovery codes are random (60 bits), so a SHA-256
of each is enough to keep them safe; each works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlite_utils import Database

from .. import clock
from ..db import transaction

ISSUER = "Participant Diary"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"diary staff totp secret"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def unseal(sealed: str, secret_key: str) -> str | None:
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None  # SECRET_KEY changed: an admin resets the second factor


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str
    qr_data_uri: str


def new_enrollment(email: str) -> Enrollment:
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return Enrollment(secret, uri, qr.svg_data_uri(scale=5, dark="#000", light="#fff"))


def normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isascii() and ch.isalnum())


def is_totp_code(code: str) -> bool:
    c = normalise(code)
    return len(c) == 6 and c.isdigit()


def matching_step(secret: str, code: str, now: datetime, after_step: int | None) -> int | None:
    """The 30-second step `code` is valid for (now, or one step either side), if it is
    later than `after_step`; None otherwise."""
    code = normalise(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step_now = int(now.timestamp()) // totp.interval
    for step in (step_now - 1, step_now, step_now + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    def one() -> str:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def store_recovery_codes(db: Database, staff_id: int, codes: list[str], *, now: datetime) -> None:
    """Replace the account's recovery codes (inside the caller's transaction)."""
    db.execute("DELETE FROM staff_recovery_codes WHERE staff_id = ?", [staff_id])
    for code in codes:
        db.execute(
            "INSERT INTO staff_recovery_codes (staff_id, code_hash, created_at) VALUES (?, ?, ?)",
            [staff_id, _code_hash(code), clock.iso(now)],
        )


def recovery_codes_left(db: Database, staff_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM staff_recovery_codes WHERE staff_id = ? AND used_at IS NULL",
        [staff_id],
    ).fetchone()[0]


def verify(db: Database, staff: dict, code: str, *, secret_key: str, now: datetime) -> str | None:
    """Check a second-factor answer: 'totp' or 'recovery' when it is good (and now used
    up), None when not. Runs its own write transaction, so two requests with the same
    code cannot both pass."""
    code = code or ""
    with transaction(db):
        row = db.execute(
            "SELECT totp_secret, totp_last_step FROM staff WHERE id = ?", [staff["id"]]
        ).fetchone()
        if row is None or row[0] is None:
            return None
        if is_totp_code(code):
            secret = unseal(row[0], secret_key)
            step = matching_step(secret, code, now, row[1]) if secret else None
            if step is None:
                return None
            db.execute("UPDATE staff SET totp_last_step = ? WHERE id = ?", [step, staff["id"]])
            return "totp"
        used = db.execute(
            "UPDATE staff_recovery_codes SET used_at = ?"
            " WHERE staff_id = ? AND code_hash = ? AND used_at IS NULL",
            [clock.iso(now), staff["id"], _code_hash(code)],
        ).rowcount
        return "recovery" if used == 1 else None
