"""Configuration, read in one place: defaults → instance file → DIARY_* environment → overrides."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production

# Names of Appendix A; an instance file (instance/diary.toml) may set the same keys.
ENV_KEYS = (
    "DIARY_ENV",
    "DIARY_DATABASE",
    "DIARY_SECRET_KEY",
    "DIARY_STUDY_FILE",
    "DIARY_BASE_URL",
    "DIARY_SMTP_URL",
    "DIARY_MAIL_FROM",
    "DIARY_VAPID_PRIVATE_KEY",
    "DIARY_VAPID_SUBJECT",
    "DIARY_LOG_LEVEL",
    "DIARY_TRUSTED_PROXIES",
    "DIARY_CONTENT_DIR",
    "DIARY_MFA_REQUIRED_ROLES",
    "DIARY_PUSH_SERVICES",
    "DIARY_AUDIT_KEY",
    "DIARY_AUDIT_ANCHORS",
    "DIARY_LOG_FORMAT",
    "DIARY_METRICS_TOKEN",
    "DIARY_REPLICA_URL",
)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


def defaults(root: Path, instance_path: Path) -> dict[str, Any]:
    return {
        "DIARY_ENV": "development",
        "DIARY_DATABASE": str(instance_path / "diary.sqlite3"),
        "DIARY_SECRET_KEY": DEV_SECRET_KEY,
        "DIARY_STUDY_FILE": str(root / "study.toml"),
        "DIARY_BASE_URL": "http://127.0.0.1:5000",
        "DIARY_SMTP_URL": None,
        "DIARY_MAIL_FROM": "diary@localhost",
        "DIARY_VAPID_PRIVATE_KEY": None,
        "DIARY_VAPID_SUBJECT": "mailto:diary@localhost",
        "DIARY_LOG_LEVEL": "INFO",
        # json: one JSON object a line (request id, route, status, duration, user);
        # text: the plain format.
        "DIARY_LOG_FORMAT": "json",
        # The bearer token a Prometheus scraper sends for /metrics; unset: /metrics is off.
        "DIARY_METRICS_TOKEN": None,
        # Where `flask diary replicate` streams the database (Litestream: s3://…,
        # file:///…, sftp://…) and `flask diary restore` restores from; unset: no replica.
        "DIARY_REPLICA_URL": None,
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted
        # (client address for rate limits, https for cookies and the CSRF check).
        "DIARY_TRUSTED_PROXIES": 0,
        # A folder of licensed questionnaires kept out of git (SPEC §13), beside the
        # study's own instruments/ folder.
        "DIARY_CONTENT_DIR": None,
        # Staff roles that must sign in with a second factor (TOTP, SPEC §15): a comma
        # list, or "none"; unset means investigator and admin in production, none in
        # development.
        "DIARY_MFA_REQUIRED_ROLES": None,
        # Web Push services the server may POST to (SPEC §9): host names, a leading dot
        # for every subdomain; unset means the major browsers' services in production
        # and any (loopback included) in development.
        "DIARY_PUSH_SERVICES": None,
        # The key of the audit chain's HMAC (SPEC §9): kept out of the database and its
        # backups, never changed during a study. Required in production; development
        # derives one from DIARY_SECRET_KEY.
        "DIARY_AUDIT_KEY": None,
        # Where the signed anchors of the audit chain are appended (a file off the
        # database; each one is logged too); unset: beside the database, named after it.
        "DIARY_AUDIT_ANCHORS": None,
        # Sessions (SPEC §9)
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=30),
        "STAFF_ABSOLUTE_TIMEOUT": timedelta(hours=12),
        "PARTICIPANT_SESSION_LIFETIME": timedelta(days=90),
        # Sign-in throttling (SPEC §15; see auth/throttle.py): failures counted over
        # the window per address, per account at an address, and per account.
        "STAFF_THROTTLE_WINDOW": timedelta(minutes=15),
        "STAFF_FAILURES_PER_ADDRESS": 20,
        "STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS": 5,
        "STAFF_FAILURES_PER_ACCOUNT": 30,
        # Across every address and account: a spray from many addresses meets this.
        "STAFF_FAILURES_GLOBAL": 100,
        "STAFF_SLOWED_INTERVAL": timedelta(seconds=10),
        # Single-use links sent by e-mail (SPEC §15)
        "STAFF_RESET_LINK_LIFETIME": timedelta(minutes=60),
        "STAFF_INVITATION_LIFETIME": timedelta(hours=72),
        # Self-service reset requests answered with a mail, per account and per address
        "STAFF_RESET_REQUEST_WINDOW": timedelta(hours=1),
        "STAFF_RESET_REQUESTS_PER_HOUR": 3,
        "STAFF_RESET_REQUESTS_PER_ADDRESS_PER_HOUR": 20,
        "ACTIVATION_CODE_LIFETIME": timedelta(days=14),
        "ACTIVATION_MAX_FAILURES": 10,
        "ACTIVATION_FAILURE_WINDOW": timedelta(minutes=15),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "TESTING": False,
    }


def load(
    root: Path, instance_path: Path, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build the configuration mapping; raise ConfigError for unusable values."""
    config = defaults(root, instance_path)
    instance_file = instance_path / "diary.toml"
    if instance_file.is_file():
        try:
            data = tomllib.loads(instance_file.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{instance_file}: {exc}") from exc
        unknown = sorted(set(data) - set(ENV_KEYS))
        if unknown:
            raise ConfigError(f"{instance_file}: unknown setting(s) {', '.join(unknown)}")
        config.update(data)
    for key in ENV_KEYS:
        if os.environ.get(key):
            config[key] = os.environ[key]
    if overrides:
        config.update(overrides)
    _check(config)
    return config


def _check(config: dict[str, Any]) -> None:
    try:
        config["DIARY_TRUSTED_PROXIES"] = int(config["DIARY_TRUSTED_PROXIES"])
    except (TypeError, ValueError):
        raise ConfigError("DIARY_TRUSTED_PROXIES must be a whole number (0, 1, 2…)") from None
    if not 0 <= config["DIARY_TRUSTED_PROXIES"] <= 5:
        raise ConfigError("DIARY_TRUSTED_PROXIES must be between 0 and 5")
    if config["DIARY_LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError("DIARY_LOG_FORMAT must be json or text")
    token = config["DIARY_METRICS_TOKEN"]
    if token and len(str(token)) < 16:
        raise ConfigError("DIARY_METRICS_TOKEN must be at least 16 random characters")
    if not config["DIARY_AUDIT_ANCHORS"]:
        config["DIARY_AUDIT_ANCHORS"] = f"{config['DIARY_DATABASE']}.anchors"
    env = config["DIARY_ENV"]
    if env not in ("development", "production"):
        raise ConfigError(f"DIARY_ENV must be 'development' or 'production', not {env!r}")
    config["STAFF_MFA_REQUIRED_ROLES"] = _mfa_roles(config["DIARY_MFA_REQUIRED_ROLES"], env)
    config["PUSH_SERVICES"] = _push_services(config["DIARY_PUSH_SERVICES"], env)
    if env == "production":
        key = config["DIARY_SECRET_KEY"]
        if not key or key == DEV_SECRET_KEY or len(key) < 32:
            raise ConfigError(
                "DIARY_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not str(config["DIARY_BASE_URL"]).startswith("https://"):
            raise ConfigError("DIARY_BASE_URL must be an https:// URL in production")
        audit_key = config["DIARY_AUDIT_KEY"]
        if not audit_key or len(str(audit_key)) < 32 or audit_key == key:
            raise ConfigError(
                "DIARY_AUDIT_KEY must be set in production to a random value of at least 32 "
                "characters, other than DIARY_SECRET_KEY, and kept for the whole study: it "
                "signs the audit trail (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )


def derive_audit_key(secret: str) -> bytes:
    """The audit key of a development set-up, derived from its secret key."""
    return hmac.new(secret.encode(), b"diary audit chain v1", hashlib.sha256).digest()


def audit_key(config: dict[str, Any]) -> bytes:
    """The audit chain's HMAC key: DIARY_AUDIT_KEY, or in development one derived from
    the secret key."""
    if config.get("DIARY_AUDIT_KEY"):
        return str(config["DIARY_AUDIT_KEY"]).encode()
    return derive_audit_key(str(config["DIARY_SECRET_KEY"]))


# The push services of Chrome/Edge/Android (FCM), Firefox (Mozilla autopush), Windows
# (WNS) and Safari/iOS (Apple).
DEFAULT_PUSH_SERVICES = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    ".push.services.mozilla.com",
    ".notify.windows.com",
    "web.push.apple.com",
    ".push.apple.com",
)


def _push_services(value: Any, env: str) -> tuple[str, ...] | None:
    """The allowed push hosts, or None for any (development only)."""
    if value is None or value == "":
        return DEFAULT_PUSH_SERVICES if env == "production" else None
    names = value if isinstance(value, list | tuple) else str(value).split(",")
    hosts = tuple(str(n).strip().lower() for n in names if str(n).strip())
    bad = [h for h in hosts if not re.fullmatch(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)+", h)]
    if bad:
        raise ConfigError(f"DIARY_PUSH_SERVICES: not a host name: {', '.join(bad)}")
    return hosts


def _mfa_roles(value: Any, env: str) -> frozenset[str]:
    roles = ("coordinator", "investigator", "admin")
    if value is None or value == "":
        return frozenset({"investigator", "admin"}) if env == "production" else frozenset()
    names = value if isinstance(value, list | tuple | set | frozenset) else str(value).split(",")
    names = {str(n).strip().lower() for n in names if str(n).strip()}
    if names == {"none"}:
        return frozenset()
    unknown = sorted(names - set(roles))
    if unknown:
        raise ConfigError(
            f"DIARY_MFA_REQUIRED_ROLES: unknown role(s) {', '.join(unknown)}"
            f" (use a comma list of {', '.join(roles)}, or none)"
        )
    return frozenset(names)


def flask_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Flask and extension settings derived from the diary settings."""
    production = config["DIARY_ENV"] == "production"
    return {
        "SECRET_KEY": config["DIARY_SECRET_KEY"],
        "SESSION_COOKIE_NAME": "__Host-diary" if production else "diary_session",
        "SESSION_COOKIE_SECURE": production,
        # Production answers only for the public host: an arbitrary Host header would
        # otherwise be reflected in redirects and absolute URLs (400 for any other).
        "TRUSTED_HOSTS": [urlsplit(str(config["DIARY_BASE_URL"])).hostname] if production else None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_PATH": "/",
        "PERMANENT_SESSION_LIFETIME": config["PARTICIPANT_SESSION_LIFETIME"],
        # Re-signing the cookie on every response cost ~10 % of a diary PUT; it is
        # re-issued when the server-side session is touched instead (auth.load_user).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": timedelta(0),
        "WTF_CSRF_HEADERS": ["X-CSRF-Token"],
        # The token lives as long as the session: an entry written offline may
        # be synced days later.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_CHECK_DEFAULT": True,
        "API_TITLE": "Participant Diary API",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }
