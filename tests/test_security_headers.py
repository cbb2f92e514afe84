"""Security headers on every response — pages, static files, API answers and errors (SPEC §9)."""

from __future__ import annotations

import pytest
from app_support import migrated_app

from diary import ROOT

# One file of each kind the PWA ships: script, style, icon.
STATIC_SAMPLES = [
    "/static/" + str(next((ROOT / "static").rglob(pattern)).relative_to(ROOT / "static"))
    for pattern in ("*.js", "*.css", "*.png")
]

REQUESTS = [
    ("GET", "/", 200),
    ("GET", "/staff/", 200),
    ("GET", "/sw.js", 200),
    ("GET", "/manifest.webmanifest", 200),
    *[("GET", path, 200) for path in STATIC_SAMPLES],
    ("GET", "/static/no-such-file.js", 404),
    ("GET", "/no-such-page", 404),
    ("GET", "/api/v1/session", 200),
    ("GET", "/api/v1/openapi.json", 200),
    ("GET", "/api/v1/push/vapid-public-key", 200),
    ("GET", "/api/v1/me", 401),
    ("GET", "/api/v1/staff/flags", 401),
    ("GET", "/api/v1/no-such-endpoint", 404),
    ("DELETE", "/api/v1/session", 405),
    ("OPTIONS", "/api/v1/session", 200),
    ("POST", "/api/v1/staff/login", 403),  # no CSRF token
    ("GET", "/api/v1/boom", 500),
]


def _app(tmp_path, env: str):
    overrides = {
        "DIARY_DATABASE": str(tmp_path / f"{env}.sqlite3"),
        "DIARY_SECRET_KEY": "s" * 48,
        "DIARY_ENV": env,
        "TESTING": True,
    }
    if env == "production":
        overrides["DIARY_BASE_URL"] = "https://diary.example.org"
        overrides["DIARY_AUDIT_KEY"] = "k" * 48
    app = migrated_app(overrides)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a real server's 500, not a test re-raise

    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/boom", "boom", boom)
    return app


def _check(response, *, production: bool) -> None:
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ") if d}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert directives.get("script-src") == ["'self'"], csp
    assert directives.get("object-src") == ["'none'"], csp
    assert directives.get("default-src") == ["'self'"], csp
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Referrer-Policy") == "same-origin"
    hsts = h.get("Strict-Transport-Security")
    if production:
        assert hsts and "max-age=31536000" in hsts and "includeSubDomains" in hsts
    else:
        assert hsts is None  # plain http in development: browsers would ignore it anyway


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize(("method", "path", "status"), REQUESTS)
def test_every_response_carries_the_security_headers(tmp_path, env, method, path, status):
    app = _app(tmp_path, env)
    base = "https://diary.example.org" if env == "production" else "http://localhost"
    response = app.test_client().open(path, method=method, base_url=base)
    try:
        assert response.status_code == status, response.get_data(as_text=True)[:300]
        _check(response, production=env == "production")
        if path.startswith("/api/"):
            assert response.headers["Cache-Control"] == "no-store"
            if status >= 400:
                assert response.is_json and "error" in response.get_json()
    finally:
        response.close()  # file responses hold their file open until closed


def test_a_header_a_response_sets_itself_is_kept_and_each_is_sent_once(tmp_path):
    app = _app(tmp_path, "production")

    def framed():
        return "ok", 200, {"x-frame-options": "SAMEORIGIN", "Referrer-Policy": "no-referrer"}

    app.add_url_rule("/framed", "framed", framed)
    response = app.test_client().get("/framed", base_url="https://diary.example.org")
    h = response.headers
    assert h.getlist("X-Frame-Options") == ["SAMEORIGIN"]  # its own, in any letter case
    assert h.getlist("Referrer-Policy") == ["no-referrer"]
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Strict-Transport-Security"):
        assert len(h.getlist(name)) == 1, name


def test_api_answers_are_never_cached_nor_sniffed(tmp_path):
    response = _app(tmp_path, "development").test_client().get("/api/v1/session")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"


def test_production_session_cookie_is_secure_host_prefixed_and_not_scriptable(tmp_path):
    app = _app(tmp_path, "production")
    response = app.test_client().get("/api/v1/session", base_url="https://diary.example.org")
    cookie = response.headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith("__Host-diary=")
    assert "secure" in attributes and "httponly" in attributes and "samesite=lax" in attributes
    # __Host- requires Path=/ and no Domain, or browsers refuse the cookie.
    assert "path=/" in attributes and not any(a.startswith("domain=") for a in attributes)


def test_development_session_cookie_is_not_secure_but_still_httponly(tmp_path):
    response = _app(tmp_path, "development").test_client().get("/api/v1/session")
    cookie = response.headers["Set-Cookie"].lower()
    assert cookie.startswith("diary_session=") and "httponly" in cookie and "secure" not in cookie


def test_pages_reference_no_inline_script(tmp_path):
    """The CSP forbids inline script; pages that used it would break in browsers."""
    client = _app(tmp_path, "development").test_client()
    for path in ("/", "/staff/"):
        response = client.get(path)
        html = response.get_data(as_text=True).lower()
        response.close()
        for tag in html.split("<script")[1:]:
            opening, _, rest = tag.partition(">")
            assert "src=" in opening, f"inline <script> in {path}"
            assert rest.lstrip().startswith("</script"), f"inline script body in {path}"
        assert " onclick=" not in html and " onload=" not in html and "javascript:" not in html
