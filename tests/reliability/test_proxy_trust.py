"""Behind one reverse proxy (DIARY_TRUSTED_PROXIES=1) each client is its own address,
under `diary serve` (waitress) exactly as under gunicorn: ten bad activation codes
from one participant's phone do not stop another's."""

from __future__ import annotations

import http.client
import json
import sys

import pytest
from reliability_support import serverctl


def activate(port: int, client_address: str, code: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "http"}
    try:
        conn.request("GET", "/api/v1/session", headers=headers)
        response = conn.getresponse()
        csrf = json.loads(response.read())["csrf_token"]
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    finally:
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/participant/activate",
            body=json.dumps({"code": code}),
            headers={
                **headers,
                "Cookie": cookie,
                "X-CSRF-Token": csrf,
                "Content-Type": "application/json",
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("server", ["waitress", "gunicorn"])
def test_each_client_behind_the_proxy_is_counted_on_its_own(tmp_path, server):
    database = tmp_path / "diary.sqlite3"
    serverctl.build_study(database, participants=1)
    port = serverctl.free_port()
    env = serverctl.server_env(database, port, DIARY_TRUSTED_PROXIES="1")
    log = tmp_path / f"{server}.log"
    if server == "gunicorn":
        proc = serverctl.gunicorn("wsgi:app", port=port, env=env, log=log)
    else:
        proc = serverctl.Proc(
            [sys.executable, "-m", "flask", "--app", "wsgi", "diary", "serve", "--port", str(port)],
            env,
            log,
        )
    try:
        proc.start()
        serverctl.wait_ready(port)
        attacker = [activate(port, "203.0.113.5", f"WRONG-{n:04d}") for n in range(11)]
        assert attacker[-1] == 429, (attacker, log.read_text()[-2000:])
        # Another phone behind the same proxy is not locked out with the attacker.
        assert activate(port, "203.0.113.6", "WRONG-9999") == 400
    finally:
        serverctl.stop_all([proc])


def post_activation(port: int, headers: dict[str, str]) -> int:
    """A CSRF-protected POST (a wrong activation code) with its session and token,
    sent as the proxy forwards it with `headers`; the status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/v1/session", headers=headers)
        response = conn.getresponse()
        csrf = json.loads(response.read())["csrf_token"]
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        conn.request(
            "POST",
            "/api/v1/participant/activate",
            body=json.dumps({"code": "WRONG-0001"}),
            headers={
                **headers,
                "Cookie": cookie,
                "X-CSRF-Token": csrf,
                "Content-Type": "application/json",
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("server", "proxies"),
    [
        ("waitress", "1"),
        ("gunicorn", "1"),
        ("waitress", "0"),
        ("gunicorn", "0"),
    ],
)
def test_behind_the_proxy_https_requests_get_the_referer_check(tmp_path, server, proxies):
    database = tmp_path / "diary.sqlite3"
    serverctl.build_study(database, participants=1)
    port = serverctl.free_port()
    env = serverctl.server_env(database, port, DIARY_TRUSTED_PROXIES=proxies)
    log = tmp_path / f"{server}.log"
    if server == "gunicorn":
        proc = serverctl.gunicorn("wsgi:app", port=port, env=env, log=log)
    else:
        proc = serverctl.Proc(
            [sys.executable, "-m", "flask", "--app", "wsgi", "diary", "serve", "--port", str(port)],
            env,
            log,
        )
    https = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    cross_site = {**https, "Referer": "https://evil.test/page"}
    try:
        proc.start()
        serverctl.wait_ready(port)
        if proxies == "0":
            # No proxy is trusted: a client's own X-Forwarded-Proto is ignored, the
            # request is plain http, and the HTTPS-only Referer check does not apply.
            assert post_activation(port, cross_site) == 400, log.read_text()[-2000:]
            return
        # The proxy says the browser came over HTTPS, so the strict Referer check runs:
        # a request from another site, or with no Referer, is refused before the view.
        assert post_activation(port, cross_site) == 403, log.read_text()[-2000:]
        assert post_activation(port, https) == 403
        # From the app's own origin the request reaches the view (a wrong code: 400).
        same = {**https, "Referer": f"https://127.0.0.1:{port}/"}
        assert post_activation(port, same) == 400, log.read_text()[-2000:]
    finally:
        serverctl.stop_all([proc])
