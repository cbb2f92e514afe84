"""Serves the PWA and the staff console from static/ (SPEC §11, Appendix A)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

import rcssmin
import rjsmin
from flask import Blueprint, Response, abort, request, send_from_directory
from werkzeug.security import safe_join

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)


def _send(name: str, *, max_age: int = 0, mimetype: str | None = None):
    response = send_from_directory(STATIC, name, max_age=max_age, mimetype=mimetype)
    response.headers["Cache-Control"] = (
        "no-cache"  # revalidate: the service worker versions the shell
    )
    return response


@bp.get("/")
def pwa():
    """The app's page, pointing at this version's scripts and stylesheet (their URLs carry
    the shell version, so a phone keeps them for a year and fetches new ones only when
    the app changes)."""
    version = shell_version()
    html = (STATIC / "index.html").read_text("utf-8")
    for folder in VERSIONED:
        html = html.replace(f'"/static/{folder}/', f'"{_versioned_prefix(version)}/{folder}/')
    html = "\n".join(line.strip() for line in html.split("\n") if line.strip())
    return _code(html.encode(), "text/html", cache="no-cache")


@bp.get("/sw.js")
def service_worker():
    """The worker with its shell version filled in: any change to the PWA's files
    changes the worker's bytes, so browsers install it and drop the old cache."""
    response = _code(_versioned_worker(_stamp(_pwa_files())), "text/javascript", cache="no-cache")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def _pwa_files() -> list[Path]:
    """Every file of the participant app (the staff console has its own)."""
    return sorted(f for f in STATIC.rglob("*") if f.is_file() and STATIC / "staff" not in f.parents)


# Files of the app served at a path of their own rather than under /static/.
_ROOT_PATHS = {"index.html": "/", "manifest.webmanifest": "/manifest.webmanifest"}
# Folders whose files are served under the shell version's own URL, kept a year.
VERSIONED = ("js", "css")
YEAR = "public, max-age=31536000, immutable"


def _versioned_prefix(version: str) -> str:
    return f"/static/v/{version}"


def _stamp(files: list[Path]) -> tuple:
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


@lru_cache(maxsize=4)
def _version(stamp: tuple) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def shell_version(files: list[Path] | None = None) -> str:
    """A hash of every file of the app: it names the worker's cache and the URL prefix
    of the scripts and stylesheet."""
    return _version(_stamp(files if files is not None else _pwa_files()))


def shell_paths(files: list[Path]) -> list[str]:
    """The URLs the worker precaches: the same files the version hashes (one list, so a
    new module is cached offline without anyone editing a list), less the worker itself;
    scripts and stylesheets at their versioned URLs."""
    version = shell_version(files)
    paths = []
    for f in files:
        name = f.relative_to(STATIC).as_posix()
        if name == "sw.js":
            continue
        if name.split("/", 1)[0] in VERSIONED:
            paths.append(f"{_versioned_prefix(version)}/{name}")
        else:
            paths.append(_ROOT_PATHS.get(name, f"/static/{name}"))
    return sorted(paths)


@lru_cache(maxsize=4)
def _versioned_worker(stamp: tuple) -> bytes:
    files = [Path(name) for name, _, _ in stamp]
    version = _version(stamp)
    source = (STATIC / "sw.js").read_text("utf-8")
    shell = ", ".join(json.dumps(p) for p in shell_paths(files))
    source = (
        source.replace("__SHELL_VERSION__", version)
        .replace("/* __SHELL_FILES__ */", shell)
        .replace("'/static/js/", f"'{_versioned_prefix(version)}/js/")
    )
    return rjsmin.jsmin(source).encode()


@bp.get("/static/v/<version>/<folder>/<path:name>")
def versioned(version: str, folder: str, name: str):
    """This version's script or stylesheet, kept a year by browsers and proxies: its URL
    changes with any change to the app. Another version's URL is a 404 (the page that
    asked for it is older than the app and the worker brings the new one)."""
    if folder not in VERSIONED or version != shell_version():
        abort(404)
    return _asset(folder, name, cache=YEAR)


@bp.get("/static/js/<path:name>")
def pwa_module(name: str):
    """The same modules at their plain URLs (the staff console imports some), always
    revalidated."""
    return _asset("js", name, cache="no-cache")


@bp.get("/static/css/<path:name>")
def pwa_style(name: str):
    return _asset("css", name, cache="no-cache")


_TYPES = {"js": "text/javascript", "css": "text/css"}


def _asset(folder: str, name: str, *, cache: str):
    """A script or stylesheet of the app as the phone downloads it: minified (rjsmin,
    rcssmin; the source stays as written, no build step) and gzipped when the browser
    takes it."""
    path = safe_join(str(STATIC / folder), name)
    if path is None or not Path(path).is_file() or Path(path).suffix != f".{folder}":
        abort(404)
    stat = Path(path).stat()
    return _code(_minified(path, stat.st_mtime_ns, stat.st_size), _TYPES[folder], cache=cache)


@lru_cache(maxsize=128)
def _minified(path: str, _mtime: int, _size: int) -> bytes:
    text = Path(path).read_text("utf-8")
    if path.endswith(".css"):
        return rcssmin.cssmin(text).encode()
    lean = rjsmin.jsmin(text)
    if js_literals(lean) != js_literals(text):
        # A construct the minifier misreads (a template literal nested in another's
        # ${…}) would change text a person reads: serve the module as written instead.
        log.warning("%s: minifying would change its strings; served as written", path)
        return text.encode()
    return lean.encode()


def js_literals(source: str) -> list[str]:
    """The text of every string and template literal of a script, in order (a template's
    text between its ${…} parts): what minifying must never change. Comments are skipped;
    the app's regular expressions hold no quote, backtick or comment opener."""
    found: list[str] = []
    stack: list[int | None] = []  # None: in a template's text; n: in its ${…}, n braces deep
    i, end = 0, len(source)
    quote, start = None, 0
    while i < end:
        c = source[i]
        if quote is not None:  # inside '…', "…" or a template's text
            if c == "\\":
                i += 2
                continue
            if quote == "`" and source.startswith("${", i):
                found.append(source[start:i])
                stack.append(0)
                quote, i = None, i + 2
                continue
            if c == quote:
                found.append(source[start:i])
                if quote == "`":
                    stack.pop()
                quote = None
            i += 1
            continue
        if source.startswith("//", i):
            newline = source.find("\n", i)
            i = end if newline < 0 else newline
            continue
        if source.startswith("/*", i):
            close = source.find("*/", i + 2)
            i = end if close < 0 else close + 2
            continue
        if c in "'\"`":
            quote, start = c, i + 1
            if c == "`":
                stack.append(None)
        elif stack and stack[-1] is not None:
            if c == "{":
                stack[-1] += 1
            elif c == "}":
                if stack[-1] == 0:
                    stack.pop()  # back in the template's text
                    quote, start = "`", i + 1
                else:
                    stack[-1] -= 1
        i += 1
    return found


@lru_cache(maxsize=256)
def _gzipped(body: bytes) -> bytes:
    return gzip.compress(body, 9, mtime=0)


def _code(body: bytes, mimetype: str, *, cache: str) -> Response:
    """Text the app is made of, with its ETag, gzipped for a browser that accepts it."""
    tag = hashlib.sha256(body).hexdigest()[:20]
    zipped = request.accept_encodings["gzip"] > 0 and len(body) > 512
    if zipped:
        body, tag = _gzipped(body), f"{tag}-gz"
    response = Response(body, mimetype=mimetype)
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.set_etag(tag)
    response.headers["Cache-Control"] = cache
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", mimetype="application/manifest+json")


@bp.get("/staff/")
def staff_console():
    return _send("staff/index.html")
