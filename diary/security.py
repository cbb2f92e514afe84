"""Security headers on every response (SPEC §9)."""

from __future__ import annotations

from flask import Flask, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# same-origin, not no-referrer: the CSRF check on HTTPS requires a same-origin Referer,
# and other sites still learn nothing of our URLs.
HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def init_app(app: Flask) -> None:
    headers = HEADERS + ((HSTS,) if app.config["DIARY_ENV"] == "production" else ())

    @app.after_request
    def _headers(response):
        # A view may set its own (a page's own policy): those it set are kept. The names
        # it set are read once, not searched for header by header.
        h = response.headers
        present = {name.lower() for name, _ in h.items()}
        h.extend([(name, value) for name, value in headers if name.lower() not in present])
        if request.path.startswith("/api/"):
            h["Cache-Control"] = "no-store"
        return response
