"""Reading the single-use link out of an account mail, and TOTP codes for tests."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp

LINK = re.compile(r"https?://\S+/staff/#/password/([A-Za-z0-9_-]+)")


def link_token(message) -> str:
    body = message.message.get_content()
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)
