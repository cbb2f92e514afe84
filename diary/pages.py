"""Serves the PWA and the staff console from static/ (SPEC §11, Appendix A)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("pages", __name__)


def _send(name: str, *, max_age: int = 0, mimetype: str | None = None):
    response = send_from_directory(STATIC, name, max_age=max_age, mimetype=mimetype)
    response.headers["Cache-Control"] = (
        "no-cache"  # revalidate: the service worker versions the shell
    )
    return response


@bp.get("/")
def pwa():
    return _send("index.html")


@bp.get("/sw.js")
def service_worker():
    response = _send("sw.js", mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", mimetype="application/manifest+json")


@bp.get("/staff/")
def staff_console():
    return _send("staff/index.html")
