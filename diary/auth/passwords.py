"""argon2id password hashing for staff (SPEC §9)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from ..errors import APIError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 copes, but an unbounded body is a denial-of-service lever

# zxcvbn's score (0–4): 4 is "very unguessable" (about 10^10 guesses or more), for
# accounts that open health records; a few unusual words reach it easily.
MIN_SCORE = 4
# zxcvbn estimates in time that grows with length; a longer password is judged by its
# first part, which can only understate its strength.
_ESTIMATE_LENGTH = 72
# What an invited account holds until its owner sets a password: no hash matches it.
UNUSABLE = "!"

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


def strength_problem(password: str, *, email: str, full_name: str | None = None) -> str | None:
    """Why a new password would be refused, in words for the person typing it; None if
    it is fine. Checked with zxcvbn against the person's own e-mail and name."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters (a few unusual words are easy to remember)."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.strip().lower()
    local = email.strip().lower().partition("@")[0]
    if folded == email.strip().lower() or (len(local) >= 4 and folded == local):
        return "Your password cannot be your e-mail address."
    inputs = [email, local, *(full_name or "").split(), "participant", "diary", "study"]
    result = zxcvbn(password[:_ESTIMATE_LENGTH], user_inputs=[i for i in inputs if i])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    words = [feedback.get("warning") or "This password would be easy to guess."]
    words += feedback.get("suggestions") or ["Add another word or two. Uncommon words are better."]
    return " ".join(w.rstrip(".") + "." for w in words if w)


def check_strength(
    password: str, *, email: str, full_name: str | None = None, field: str = "new_password"
) -> None:
    """Refuse a weak new password with a 422 that says why."""
    problem = strength_problem(password, email=email, full_name=full_name)
    if problem:
        raise APIError(422, f"Choose a stronger password. {problem}", fields={field: [problem]})


def usable(stored_hash: str | None) -> bool:
    return bool(stored_hash) and stored_hash != UNUSABLE


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not usable(stored_hash):
        stored_hash = None  # same work as for an unknown e-mail
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
