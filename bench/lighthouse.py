"""The phone's first load, measured the way a phone sees it: Lighthouse (npm `lighthouse`,
mobile preset: simulated slow 4G and a 4× slower CPU) with Debian's Chromium against the
participant app as deployed (gunicorn), signed in as a participant.

    python bench/lighthouse.py            # Today, the questionnaires and History; 3 runs each (median)
    python bench/lighthouse.py --quick    # Today only, one run

Also checks what Lighthouse 12 no longer audits: the PWA is installable (Chromium's own
verdict, Page.getInstallabilityErrors), the app shell's size (HTML + CSS + JS + manifest
as listed by the service worker, uncompressed, and as sent with gzip/brotli), and that
its files are sent with long-lived caching. Lighthouse is installed on first use into
bench/.node (npm registry); the figures print with their goal and PASS/MISS.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import serverctl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "bench" / ".node"
LIGHTHOUSE = NODE / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking"
    " --disable-component-update --disable-sync --no-first-run"
)
GOALS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 0.95}
SHELL_MAX_KB = 100.0
SCREENS = {"today": "/", "questionnaires": "/#/questionnaires", "history": "/#/history"}


def install() -> None:
    if LIGHTHOUSE.exists():
        return
    NODE.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed argv
        [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(NODE),
            "lighthouse@12",
        ],
        check=True,
    )


def lighthouse(url: str, cookie: str, out: Path) -> dict[str, float]:
    subprocess.run(  # noqa: S603 - fixed argv
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={FLAGS}",
            "--only-categories=performance,accessibility,best-practices",
            f"--extra-headers={json.dumps({'Cookie': cookie})}",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True,
        capture_output=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    scores = {k: v["score"] for k, v in report["categories"].items()}
    audits = report["audits"]
    scores["lcp_ms"] = audits["largest-contentful-paint"]["numericValue"]
    scores["tbt_ms"] = audits["total-blocking-time"]["numericValue"]
    failed = [
        f"{k}: {a['title']}"
        for k, a in audits.items()
        if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") == "binary"
    ]
    scores["failed_audits"] = failed
    return scores


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(serverctl.HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def shell(port: int) -> dict:
    """The files the service worker precaches, with their sizes and caching."""
    status, _, body = get(port, "/sw.js")
    assert status == 200, status
    listed = re.search(r"const SHELL ?= ?\[(.*?)\];", body.decode(), re.S)
    paths = json.loads(f"[{listed.group(1)}]") if listed else []
    files = []
    for path in paths:
        _, plain_headers, plain = get(port, path)
        _, zipped_headers, zipped = get(port, path, {"Accept-Encoding": "br, gzip"})
        files.append(
            {
                "path": path,
                "bytes": len(plain),
                "sent": len(zipped),
                "encoding": zipped_headers.get("Content-Encoding", "identity"),
                "cache": plain_headers.get("Cache-Control", ""),
                "gzip_would_be": len(gzip.compress(plain, 9)),
            }
        )
    code = [
        f for f in files if re.search(r"\.(html|css|js|webmanifest)$|/$", f["path"].split("?")[0])
    ]
    return {
        "files": files,
        "shell_kb": sum(f["bytes"] for f in code) / 1024,
        "sent_kb": sum(f["sent"] for f in code) / 1024,
        "gzip_kb": sum(f["gzip_would_be"] for f in code) / 1024,
        "long_cached": [
            f["path"]
            for f in files
            if "max-age=31536000" in f["cache"] or "immutable" in f["cache"]
        ],
    }


def installable(port: int, cookie: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        # A profile on disk: Chromium never offers to install from an incognito window.
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=FLAGS.split(),
            viewport={"width": 360, "height": 740},
            is_mobile=True,
        )
        name, value = cookie.split("=", 1)
        context.add_cookies(
            [{"name": name, "value": value, "url": f"http://{serverctl.HOST}:{port}"}]
        )
        page = context.new_page()
        page.goto(f"http://{serverctl.HOST}:{port}/")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        session = context.new_cdp_session(page)
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        context.close()
    return [e["errorId"] for e in errors]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    install()
    runs = 1 if args.quick else 3
    screens = {"today": SCREENS["today"]} if args.quick else SCREENS
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "diary.sqlite3"
        study = serverctl.build_study(database, participants=1)
        port = serverctl.free_port()
        env = serverctl.server_env(database, port)
        web = serverctl.gunicorn("wsgi:app", port=port, env=env, log=Path(tmp) / "gunicorn.log")
        try:
            web.start()
            serverctl.wait_ready(port)
            session = serverctl.activate_all(port, study.codes)[next(iter(study.codes))]
            cookie = session.cookie
            results = {}
            for name, path in screens.items():
                scores = [
                    lighthouse(
                        f"http://{serverctl.HOST}:{port}{path}",
                        cookie,
                        Path(tmp) / f"{name}-{i}.json",
                    )
                    for i in range(runs)
                ]
                results[name] = scores
            size = shell(port)
            install_errors = installable(port, cookie)
        finally:
            web.stop()

    missed = 0

    def line(label: str, value: str, ok: bool, goal: str) -> None:
        nonlocal missed
        missed += not ok
        print(f"{label:<44} {value:>12}   goal {goal:<12} {'PASS' if ok else 'MISS'}")

    for name, scores in results.items():
        for category, goal in GOALS.items():
            value = statistics.median(s[category] for s in scores)
            line(f"{name}: {category}", f"{value:.2f}", value >= goal, f">= {goal:.2f}")
        print(
            f"{name}: LCP {statistics.median(s['lcp_ms'] for s in scores):.0f} ms,"
            f" TBT {statistics.median(s['tbt_ms'] for s in scores):.0f} ms"
            + (
                f"; failing: {'; '.join(scores[-1]['failed_audits'])}"
                if scores[-1]["failed_audits"]
                else ""
            )
        )
    line(
        "PWA installable (Chromium)",
        "yes" if not install_errors else ",".join(install_errors),
        not install_errors,
        "installable",
    )
    line(
        "app shell, uncompressed",
        f"{size['shell_kb']:.1f} KB",
        size["shell_kb"] <= SHELL_MAX_KB,
        f"<= {SHELL_MAX_KB:.0f} KB",
    )
    compressed = size["sent_kb"] < size["shell_kb"] * 0.6
    line(
        "app shell, as sent (br/gzip asked)",
        f"{size['sent_kb']:.1f} KB",
        compressed,
        f"~{size['gzip_kb']:.0f} KB gzip",
    )
    code = [f["path"] for f in size["files"] if f["path"].endswith((".js", ".css"))]
    kept = [p for p in code if p in size["long_cached"]]
    line(
        "scripts and styles kept a year (hashed URL)",
        f"{len(kept)}/{len(code)}",
        len(kept) == len(code),
        "all",
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
