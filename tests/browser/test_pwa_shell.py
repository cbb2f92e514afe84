"""The app shell: what the service worker precaches, its size budget, manifest and icons."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from diary import pages

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
# HTML + CSS + JS + manifest, uncompressed, as the phone downloads them: 100 KB for the
# diary (issue 4), plus 20 KB for the questionnaires (SPEC §13), which must work offline
# too and so are precached.
BUDGET = 120 * 1024


@pytest.fixture
def client(app):
    return app.test_client()


def served_shell(client) -> list[str]:
    """The list the worker the server sends precaches."""
    body = client.get("/sw.js").get_data(as_text=True)
    block = re.search(r"const SHELL = \[(.*?)\];", body, re.S).group(1)
    return json.loads(f"[{block}]")


def precached() -> list[str]:
    return pages.shell_paths(pages._pwa_files())


def file_for(url: str) -> Path:
    if url == "/":
        return STATIC / "index.html"
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


def test_scripts_and_styles_are_served_without_comments_line_for_line(client):
    for url in precached():
        path = file_for(url)
        if path.suffix not in (".js", ".css"):
            continue
        source = path.read_text("utf-8")
        if path.suffix == ".js":
            # What makes leaving out comment lines and indentation safe: no string or
            # template literal spans lines in the app's modules.
            for number, line in enumerate(source.split("\n"), start=1):
                assert line.count("`") % 2 == 0, f"{url}:{number} opens a multi-line template"
                assert not line.endswith("\\"), f"{url}:{number} continues a string"
        with client.get(url) as response:
            served = response.get_data(as_text=True)
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-cache"
            etag = response.headers["ETag"]
        assert served.count("\n") == source.count("\n"), url  # line numbers kept
        assert len(served) < len(source), url
        assert all(line == line.strip() for line in served.split("\n")), url
        assert "/*" not in served or path.suffix == ".js", url
        # The code itself is untouched: every line left is a line of the source.
        kept = {line.strip() for line in source.split("\n")}
        assert all(line in kept or not line for line in served.split("\n")), url
        with client.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status_code == 304


def test_a_module_outside_the_app_is_not_served_by_the_lean_route(client):
    for url in ("/static/js/../../diary/pages.py", "/static/js/nothing.js", "/static/css/x.js"):
        with client.get(url) as response:
            assert response.status_code == 404, url
    with client.get("/static/staff/js/main.js") as response:  # the console's: as written
        assert response.get_data(as_text=True) == (STATIC / "staff/js/main.js").read_text("utf-8")


def test_every_module_the_app_imports_is_precached():
    shell = set(precached())
    seen: set[str] = set()
    todo = ["/static/js/app.js"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        source = file_for(url).read_text("utf-8")
        for spec in re.findall(r"""(?:from|import)\s+['"](\.{1,2}/[^'"]+)['"]""", source):
            todo.append(_join(url, spec))
    assert seen <= shell, sorted(seen - shell)
    index = (STATIC / "index.html").read_text("utf-8")
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
    assert re.search(r"const VERSION = '[0-9a-f]{16}';", body)
    assert client.get("/sw.js").get_data(as_text=True) == body  # stable until a file changes
    assert served_shell(client) == precached()


def test_a_new_module_is_precached_without_editing_a_list(client):
    before = client.get("/sw.js").get_data(as_text=True)
    probe = STATIC / "js" / "zz-new-module.js"
    probe.write_text("export const answer = 42;\n", "utf-8")
    try:
        shell = served_shell(client)
        assert "/static/js/zz-new-module.js" in shell
        assert client.get("/sw.js").get_data(as_text=True) != before  # a new worker installs
    finally:
        probe.unlink()
    assert "/static/js/zz-new-module.js" not in served_shell(client)
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
