"""Password hashing costs only the requests that need it."""

from __future__ import annotations

import subprocess
import sys

from diary.auth import passwords

NO_HASHING = """
import argon2

def refuse(*args, **kwargs):
    raise SystemExit("argon2 hashed at import")

argon2.PasswordHasher.hash = refuse
import diary.auth.passwords
import diary
diary.create_app
print("imported")
"""


def test_importing_the_module_computes_no_hash():
    # A fresh interpreter: this process may have imported the module already.
    done = subprocess.run(
        [sys.executable, "-c", NO_HASHING], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_an_unknown_account_is_still_checked_against_a_real_hash():
    assert passwords.verify_password(None, "not-a-real-password-0000") is False
    assert passwords._dummy().startswith("$argon2id$")
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery") is True
    assert passwords.verify_password(stored, "wrong horse battery") is False
