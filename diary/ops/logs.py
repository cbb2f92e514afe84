"""Structured logs (SPEC §16): one JSON object a line, with the request's id, route,
status, duration and the signed-in user's kind and id.

The route is the URL rule (`/api/v1/entries/<date:day>`), never the path as sent,
and no query string or body is logged: link tokens, activation codes, passwords and
notes never reach a log line. Set DIARY_LOG_FORMAT=text for the plain format.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HANDLER_NAME = "diary.stderr"
log = logging.getLogger("diary.request")


class _RequestContext(logging.Filter):
    """Adds the request id (and route) to every record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
            if not hasattr(record, "route"):
                record.route = request.url_rule.rule if request.url_rule else None
        return True


def configure(level: str, fmt: str) -> None:
    """One handler on the `diary` loggers, to stderr, JSON or text; idempotent (each
    app built in a process replaces the handler rather than adding one)."""
    logger = logging.getLogger("diary")
    logger.setLevel(level)
    for handler in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(_RequestContext())
    logger.addHandler(handler)


class _NotDiary(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("diary")


def console() -> None:
    """The other libraries' lines (APScheduler, waitress) on stderr too, for the
    long-running commands; the diary's own have their handler (no line twice)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    for handler in root.handlers:
        handler.addFilter(_NotDiary())


def init_app(app: Flask) -> None:
    @app.before_request
    def _start():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        if "request_started" not in g:
            return response
        response.headers["X-Request-ID"] = g.request_id
        user = g.get("_login_user")  # only when the request loaded it: no extra query
        kind = getattr(user, "kind", None)
        user_id = None
        if kind == "staff":
            user_id = user.staff_id
        elif kind == "participant":
            user_id = user.participant_id
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 2),
                "user_kind": kind,
                "user_id": user_id,
            },
        )
        return response
