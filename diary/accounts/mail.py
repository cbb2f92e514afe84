"""The account mails (invitation, password reset), sent at once through the SMTP
transport of notify: they carry a secret link, so they never wait in the outbox and
never reach a log. Without DIARY_SMTP_URL in development the log says a mail was
withheld; `flask diary reset-link` gives an administrator the link on the server."""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from flask import g, has_request_context

from .. import clock
from ..notify import email

log = logging.getLogger("diary.accounts")


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message."""


def link(config: Mapping[str, Any], token: str) -> str:
    # The token rides in the fragment, so the page is never requested with it and no
    # Referer carries it; the console then sends it in the API path of SPEC §15, which
    # the app never logs (errors log the route) — keep proxy access logs off that path.
    base = (config.get("DIARY_BASE_URL") or "").rstrip("/")
    return f"{base}/staff/#/password/{token}"


def _when(moment: datetime, config: Mapping[str, Any]) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def invitation(
    config,
    *,
    to: str,
    full_name: str | None,
    role: str,
    sites: list[str],
    token: str,
    expires: datetime,
    invited_by: str,
) -> tuple[str, str]:
    where = f" at {', '.join(sites)}" if sites else ""
    body = (
        f"Hello {full_name or to},\n\n"
        f"{invited_by} has given you a staff account of Participant Diary: {role}{where}.\n\n"
        f"Choose your password here (the link works once, until {_when(expires, config)}):\n\n"
        f"{link(config, token)}\n\n"
        "Then sign in with this e-mail address. If you did not expect this mail, tell your"
        " study's administrator and ignore the link.\n"
    )
    return "Your Participant Diary staff account", body


def reset(
    config, *, to: str, full_name: str | None, token: str, expires: datetime
) -> tuple[str, str]:
    body = (
        f"Hello {full_name or to},\n\n"
        "Someone asked to reset the password of your Participant Diary staff account."
        f" Choose a new one here (the link works once, until {_when(expires, config)}):\n\n"
        f"{link(config, token)}\n\n"
        "Using it signs out every session of your account. If you did not ask for this,"
        " ignore this mail: your password stays as it is.\n"
    )
    return "Reset your Participant Diary password", body


def send(
    config: Mapping[str, Any], *, to: str, subject: str, body: str, now: datetime | None = None
) -> None:
    """Send now; raise MailNotSent when the server cannot take it."""
    url = config.get("DIARY_SMTP_URL")
    if not url:
        if config.get("DIARY_ENV", "development") == "development":
            log.info(
                "account mail withheld (no SMTP configured) To: %s | Subject: %s"
                " | use `flask diary reset-link` for the link",
                to,
                subject,
            )
            return
        raise MailNotSent("DIARY_SMTP_URL is not set")
    sender = email.sender_address(config.get("DIARY_MAIL_FROM") or "diary@localhost")
    msg = email.build_message(
        sender=sender,
        to=to,
        subject=subject,
        body=body,
        message_id=make_msgid(
            "diary-account", domain=parseaddr(sender)[1].rpartition("@")[2] or None
        ),
        date=now or clock.now(),
    )
    mailer = email.SmtpMailer(email.parse_smtp_url(url))
    try:
        mailer.send(msg)
    except (email.PermanentMailError, smtplib.SMTPException, OSError, email.SmtpConfigError) as exc:
        log.warning("account mail not sent: %s", email.describe_error(exc))
        raise MailNotSent(email.describe_error(exc)) from exc
    finally:
        mailer.close()


# The works a request asked to run from a thread, started when the request ends.
_LATER = "account_mail_later"
# How long that thread lets the answer go out before it works: its Python work (the
# link, the audit row, the mail) would otherwise hold the interpreter while the answer
# is written, and a known e-mail's answer would come a little later.
SETTLE = 0.05


def run_soon(work: Callable[[], None]) -> None:
    """Run `work` (which makes and sends a mail) from a thread, started once the request
    that asked for it has answered (outside a request: at once). The answer to a reset
    request must not take longer for an e-mail that exists — not even by the share of
    the interpreter a thread working beside it would take. `work` logs its own failures
    (never the link)."""
    if has_request_context():
        g.setdefault(_LATER, []).append(work)
    else:
        _start(work)


def start_deferred(_exc: BaseException | None = None) -> None:
    """The accounts blueprint's request teardown: start the works run_soon deferred."""
    for work in g.pop(_LATER, []):
        _start(work)


def _start(work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        threading.Event().wait(SETTLE)
        try:
            work()
        except Exception:  # a thread's error must not vanish silently
            log.exception("account mail failed")

    thread = threading.Thread(target=run, name="account-mail", daemon=True)
    thread.start()
    return thread
