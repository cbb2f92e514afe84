"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for any
test that must see a mail arrive."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "diary-mailer"
SMTP_PASSWORD = "s3cret:pass/word"  # characters that must be URL-quoted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Received] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), message, bool(session.authenticated)
            )
        )
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


class SmtpServer:
    """aiosmtpd on a fixed free port, which can be stopped and started again."""

    def __init__(self, tls_context=None) -> None:
        self.port = free_port()
        self.collector = _Collector()
        self.tls_context = tls_context
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.collector.messages

    @property
    def url(self) -> str:
        from urllib.parse import quote

        scheme = "smtp+starttls" if self.tls_context else "smtp"
        return f"{scheme}://{SMTP_USER}:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{self.port}"

    def start(self) -> None:
        tls = {"tls_context": self.tls_context, "require_starttls": True}
        self._controller = Controller(
            self.collector,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            # Plain SMTP on 127.0.0.1 unless a TLS context is given; the client logs in anyway.
            **(tls if self.tls_context else {"auth_require_tls": False}),
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def wait_for_mail(server: SmtpServer, count: int = 1, timeout: float = 10.0) -> list[Received]:
    """The messages once `count` have arrived (mail sent from a thread takes a moment)."""
    deadline = time.monotonic() + timeout
    while len(server.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.messages) >= count, f"{len(server.messages)} of {count} mails arrived"
    return server.messages
