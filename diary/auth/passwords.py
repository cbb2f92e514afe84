"""argon2id password hashing for staff (SPEC §9)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 copes, but an unbounded body is a denial-of-service lever

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


@cache
def _dummy() -> str:
    """A hash to verify against when the e-mail is unknown, so timing does not reveal
    accounts. Made on first use: importing this module must not cost every process a hash."""
    return _hasher.hash("not-a-real-password-0000")


def hash_password(password: str) -> str:
    if not (MIN_LENGTH <= len(password) <= MAX_LENGTH):
        raise ValueError(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
