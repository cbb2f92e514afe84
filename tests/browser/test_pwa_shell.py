"""The app shell: what the service worker precaches, its size budget, manifest and icons."""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path

import pytest

from diary import pages

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
# HTML + CSS + JS + manifest, uncompressed, as the phone downloads them, questionnaires
# included (they work offline, so they are precached): 100 KB.
BUDGET = 100 * 1024


@pytest.fixture
def client(app):
    return app.test_client()


def served_shell(client) -> list[str]:
    """The list the worker the server sends precaches."""
    body = client.get("/sw.js").get_data(as_text=True)
    block = re.search(r"const SHELL ?= ?\[(.*?)\];", body, re.S).group(1)
    return json.loads(f"[{block}]")


def precached() -> list[str]:
    return pages.shell_paths(pages._pwa_files())


def file_for(url: str) -> Path:
    if url == "/":
        return STATIC / "index.html"
    versioned = re.match(r"/static/v/[0-9a-f]{16}/(.*)", url)
    if versioned:
        return STATIC / versioned.group(1)
    if url.startswith("/static/"):
        return STATIC / url.removeprefix("/static/")
    return STATIC / url.lstrip("/")


def test_the_precached_app_shell_fits_the_budget_as_served(client):
    urls = precached()
    files = [file_for(url) for url in urls]
    assert all(f.is_file() for f in files), [str(f) for f in files if not f.is_file()]
    assert {f.suffix for f in files} <= {".html", ".css", ".js", ".webmanifest", ".png"}
    urls = [u for u, f in zip(urls, files, strict=True) if f.suffix != ".png"]  # icons aside
    source = sum(file_for(u).stat().st_size for u in urls)
    served = 0
    for url in urls:
        with client.get(url) as response:
            served += len(response.get_data())
    print(f"app shell: {len(urls)} files, {served} bytes served ({source} in the source)")
    assert served <= BUDGET, f"app shell is {served} bytes as served, budget {BUDGET}"


def test_scripts_and_styles_are_served_minified_at_versioned_urls_kept_a_year(client):
    version = pages.shell_version()
    code = [u for u in precached() if u.endswith((".js", ".css"))]
    assert code and all(u.startswith(f"/static/v/{version}/") for u in code)
    for url in code:
        source = file_for(url).read_bytes()
        with client.get(url) as response:
            plain = response.get_data()
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == pages.YEAR
            assert "Content-Encoding" not in response.headers
            etag = response.headers["ETag"]
        assert len(plain) < len(source), url
        with client.get(url, headers={"Accept-Encoding": "gzip, br"}) as zipped:
            if len(plain) > 512:
                assert zipped.headers["Content-Encoding"] == "gzip", url
                assert gzip.decompress(zipped.get_data()) == plain, url
            assert "Accept-Encoding" in zipped.headers["Vary"]
        with client.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status_code == 304
        # Another version's URL is not this file: a year-long cache must never mix them.
        assert client.get(url.replace(version, "0" * 16)).status_code == 404
        # The plain URL (the console imports shared modules) is the same code, revalidated.
        with client.get(url.replace(f"/v/{version}", "")) as unversioned:
            assert unversioned.get_data() == plain
            assert unversioned.headers["Cache-Control"] == "no-cache"
    page = client.get("/").get_data(as_text=True)
    assert f'src="/static/v/{version}/js/app.js"' in page
    assert f'href="/static/v/{version}/css/app.css"' in page


def test_minifying_changes_no_text_a_person_reads():
    """Every module is served minified, and every string and template text in it is the
    source's, character for character (a template nested in another's ${…}, which the
    minifier misreads, is written otherwise in the app; the server would fall back to the
    source as written for a module where they differ)."""
    for path in [*STATIC.glob("js/**/*.js"), STATIC / "sw.js"]:
        source = path.read_text("utf-8")
        stat = path.stat()
        served = pages._minified(str(path), stat.st_mtime_ns, stat.st_size).decode()
        assert len(served) < len(source) * 0.9, f"{path} is not minified"
        assert pages.js_literals(served) == pages.js_literals(source), path
    # What the guard reads: the text of strings and templates, nesting included.
    probe = "a = 'x' + \"y\"; b = `t ${c ? `n ${d}` : 'e'} u`; // 'no'\n/* 'no' */ z = `w`"
    assert pages.js_literals(probe) == ["x", "y", "t ", "n ", "", "e", " u", "w"]


def test_a_module_outside_the_app_is_not_served_by_the_lean_route(client):
    for url in ("/static/js/../../diary/pages.py", "/static/js/nothing.js", "/static/css/x.js"):
        with client.get(url) as response:
            assert response.status_code == 404, url
    with client.get("/static/staff/js/main.js") as response:  # the console's: as written
        assert response.get_data(as_text=True) == (STATIC / "staff/js/main.js").read_text("utf-8")


def test_every_module_the_app_imports_is_precached(client):
    shell = set(precached())
    seen: set[str] = set()
    todo = [f"/static/v/{pages.shell_version()}/js/app.js"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        source = file_for(url).read_text("utf-8")
        for spec in re.findall(r"""(?:from|import)\s+['"](\.{1,2}/[^'"]+)['"]""", source):
            todo.append(_join(url, spec))
    assert seen <= shell, sorted(seen - shell)
    index = client.get("/").get_data(as_text=True)
    for ref in re.findall(r"""(?:href|src)="(/[^"#]*)\"""", index):
        if ref.startswith("/static/icons/"):
            continue
        assert ref in shell, ref


def _join(base: str, spec: str) -> str:
    parts = base.split("/")[:-1]
    for piece in spec.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_service_worker_is_served_with_its_shell_version_and_scope(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    body = response.get_data(as_text=True)
    assert "__SHELL_VERSION__" not in body
    assert re.search(r"const VERSION ?= ?'[0-9a-f]{16}';", body)
    assert client.get("/sw.js").get_data(as_text=True) == body  # stable until a file changes
    assert served_shell(client) == precached()


def test_a_new_module_is_precached_without_editing_a_list(client):
    before = client.get("/sw.js").get_data(as_text=True)
    probe = STATIC / "js" / "zz-new-module.js"
    probe.write_text("export const answer = 42;\n", "utf-8")
    try:
        shell = served_shell(client)
        assert any(p.endswith("/js/zz-new-module.js") for p in shell)
        assert client.get("/sw.js").get_data(as_text=True) != before  # a new worker installs
    finally:
        probe.unlink()
    assert not any(p.endswith("/js/zz-new-module.js") for p in served_shell(client))
    assert "/sw.js" not in shell and "/" in shell and "/manifest.webmanifest" in shell


@pytest.mark.parametrize("url", precached())
def test_each_precached_file_is_served(client, url):
    with client.get(url) as response:
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers


def test_manifest_makes_the_app_installable(client):
    with client.get("/manifest.webmanifest") as response:
        manifest = json.loads(response.get_data(as_text=True))
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    sizes = {}
    for icon in manifest["icons"]:
        png = (STATIC / icon["src"].removeprefix("/static/")).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon.get("purpose", "any"), set()).add(width)
    assert sizes["any"] >= {192, 512}
    assert 512 in sizes["maskable"]


def test_pages_use_no_inline_script_or_style():
    for path in [STATIC / "index.html", *STATIC.glob("js/**/*.js")]:
        text = path.read_text("utf-8")
        assert "style=" not in text, path
        assert "innerHTML" not in text, path
    index = (STATIC / "index.html").read_text("utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", index) == []
    assert "<style" not in index
