"""E-mail over SMTP (DIARY_SMTP_URL), or to the log when no server is configured.

URL forms: smtp://[user:pass@]host[:25], smtp+starttls://…[:587], smtps://…[:465].
Errors and log lines never contain the URL or the password.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import unquote, urlsplit

mail_log = logging.getLogger("diary.mail")

TIMEOUT_SECONDS = 20
_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpConfigError(ValueError):
    """DIARY_SMTP_URL cannot be used (the message never repeats the URL)."""


class PermanentMailError(Exception):
    """The server refused this message for good (e.g. unknown recipient)."""


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password in tracebacks or logs
        return f"SmtpSettings({self.scheme}://{self.host}:{self.port}, user={self.username!r})"


def parse_smtp_url(url: str) -> SmtpSettings:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SmtpConfigError("DIARY_SMTP_URL is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise SmtpConfigError(
            "DIARY_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://"
        )
    if not parts.hostname:
        raise SmtpConfigError("DIARY_SMTP_URL has no host")
    return SmtpSettings(
        scheme=scheme,
        host=parts.hostname,
        port=port or _SCHEMES[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(
    *, sender: str, to: str, subject: str, body: str, message_id: str, date
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    # Stable per outbox row: if a crash makes us send a row twice, mail
    # clients fold the copies into one.
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def message_id(outbox_id: int, created_at: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    stamp = "".join(ch for ch in created_at if ch.isdigit())[:14]
    return f"<diary-outbox-{outbox_id}.{stamp}@{domain}>"


class LogMailer:
    """Development without SMTP: the message goes to the 'diary.mail' logger."""

    channel = "log"

    def send(self, msg: EmailMessage) -> None:
        mail_log.info(
            "mail (no SMTP configured) To: %s | Subject: %s\n%s",
            msg["To"],
            msg["Subject"],
            msg.get_content(),
        )

    def close(self) -> None:
        pass


class SmtpMailer:
    """One SMTP connection per delivery run, opened on the first message."""

    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS)
        try:
            conn.ehlo()
            if s.scheme == "smtp+starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except BaseException:
            _quietly_close(conn)
            raise
        return conn

    def send(self, msg: EmailMessage) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._conn.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            # An idle connection the server dropped: one fresh try.
            _quietly_close(self._conn)
            self._conn = self._connect()
            refused = self._conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = list(exc.recipients.values())
            if replies and all(500 <= code < 600 and not _policy(text) for code, text in replies):
                raise PermanentMailError(_describe(exc)) from exc
            raise
        if refused:
            raise PermanentMailError(f"recipient refused: {sorted(refused.values())}")

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(self._conn)
            self._conn = None


def _policy(reply) -> bool:
    """A refusal for the relay's own policy (enhanced status 5.7.x: relaying denied,
    authentication required, sender not allowed) says nothing of the recipient: the mail
    waits and is retried until the relay is set right, rather than failed for good."""
    return _text(reply).lstrip().startswith("5.7.")


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({f"{code} {_text(reply)}" for code, reply in exc.recipients.values()})
        return "recipient refused: " + "; ".join(codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def describe_error(exc: BaseException) -> str:
    """A short description of a mail error for last_error (no credentials)."""
    return _describe(exc)[:500]


def sender_address(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return formataddr((name, address)) if address else mail_from
