"""Activation codes: ≥ 50 bits, unambiguous alphabet, stored as a keyed hash (SPEC §9)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

# No 0/O, 1/I/L, U (reads as V): letters and digits a participant can read off
# a printed sheet and type on a phone keyboard without confusion.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12  # 12 × log2(30) ≈ 58.9 bits
GROUP = 4

assert LENGTH * math.log2(len(ALPHABET)) >= 50


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str) -> str | None:
    """Accept any case, spaces and dashes; return canonical text or None if impossible."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return "-".join(cleaned[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def code_hash(code: str, secret_key: str) -> str:
    """Keyed hash: a stolen database alone does not allow testing guesses offline."""
    return hmac.new(secret_key.encode(), code.encode(), hashlib.sha256).hexdigest()
