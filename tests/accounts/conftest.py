"""Accounts tests: the app mails through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from mail_support import SmtpServer


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    app.config["DIARY_SMTP_URL"] = server.url
    yield server
    server.stop()
