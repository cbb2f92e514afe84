"""Serves the PWA and the staff console from static/ (SPEC §11, Appendix A)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_from_directory
from werkzeug.security import safe_join

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
    """The worker with its shell version filled in: any change to the PWA's files
    changes the worker's bytes, so browsers install it and drop the old cache."""
    files = _pwa_files()
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    response = Response(_versioned_worker(stamp), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def _pwa_files() -> list[Path]:
    """Every file of the participant app (the staff console has its own)."""
    return sorted(f for f in STATIC.rglob("*") if f.is_file() and STATIC / "staff" not in f.parents)


# Files of the app served at a path of their own rather than under /static/.
_ROOT_PATHS = {"index.html": "/", "manifest.webmanifest": "/manifest.webmanifest"}


def shell_paths(files: list[Path]) -> list[str]:
    """The URLs the worker precaches: the same files the version hashes (one list, so a
    new module is cached offline without anyone editing a list), less the worker itself."""
    paths = []
    for f in files:
        name = f.relative_to(STATIC).as_posix()
        if name != "sw.js":
            paths.append(_ROOT_PATHS.get(name, f"/static/{name}"))
    return sorted(paths)


@lru_cache(maxsize=4)
def _versioned_worker(stamp: tuple) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    source = (STATIC / "sw.js").read_text("utf-8")
    shell = ", ".join(json.dumps(p) for p in shell_paths([Path(name) for name, _, _ in stamp]))
    return source.replace("__SHELL_VERSION__", digest.hexdigest()[:16]).replace(
        "/* __SHELL_FILES__ */", shell
    )


@bp.get("/static/js/<path:name>")
def pwa_module(name: str):
    return _lean("js", name, "text/javascript")


@bp.get("/static/css/<path:name>")
def pwa_style(name: str):
    return _lean("css", name, "text/css")


def _lean(folder: str, name: str, mimetype: str):
    """A script or stylesheet of the app as the phone downloads and keeps it: its
    comments and indentation left out (the source stays commented; no build step: each
    line keeps its number, so a browser's error points at the source line)."""
    path = safe_join(str(STATIC / folder), name)
    if path is None or not Path(path).is_file() or Path(path).suffix != f".{folder}":
        abort(404)
    stat = Path(path).stat()
    body, tag = _leaner(path, stat.st_mtime_ns, stat.st_size)
    response = Response(body, mimetype=mimetype)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"  # revalidate: the worker versions the shell
    return response.make_conditional(request)


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@lru_cache(maxsize=128)
def _leaner(path: str, _mtime: int, _size: int) -> tuple[bytes, str]:
    text = Path(path).read_text("utf-8")
    lean = lean_css(text) if path.endswith(".css") else lean_js(text)
    body = lean.encode()
    return body, hashlib.sha256(body).hexdigest()[:20]


def lean_js(source: str) -> str:
    """Blank each line that is only a comment and drop indentation. Safe for the app's
    modules because none holds a string or template literal spanning lines (a test
    checks), so a line that starts with // or /* is a comment, and indentation is never
    part of a value."""
    lines, in_block = [], False
    for line in source.split("\n"):
        text = line.strip()
        if in_block:
            end = text.find("*/")
            in_block = end < 0
            text = "" if end < 0 else text[end + 2 :].strip()
        elif text.startswith("//"):
            text = ""
        elif text.startswith("/*"):
            end = text.find("*/", 2)
            in_block = end < 0
            text = "" if end < 0 else text[end + 2 :].strip()
        lines.append(text)
    return "\n".join(lines)


def lean_css(source: str) -> str:
    """Comments and indentation out of a stylesheet, each rule on its line still."""
    text = _CSS_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), source)
    return "\n".join(line.strip() for line in text.split("\n"))


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", mimetype="application/manifest+json")


@bp.get("/staff/")
def staff_console():
    return _send("staff/index.html")
