"""Fixtures: a real SQLite file per test, the real app, clients that speak JSON with CSRF."""

from __future__ import annotations

from datetime import date, time

import pytest
from app_support import migrated_app

from diary import audit, clock
from diary.auth import staff as staff_accounts
from diary.db import close_thread_connections, connect, transaction
from diary.participants import service
from diary.participants.rules import FIRST_INJECTION_MAX_AGE_DAYS

PASSWORD = "correct horse battery"
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture
def app(tmp_path):
    app = migrated_app(
        {
            "DIARY_DATABASE": str(tmp_path / "diary.sqlite3"),
            "DIARY_SECRET_KEY": SECRET,
            "DIARY_BASE_URL": "http://diary.test",
            "TESTING": True,
        }
    )
    yield app
    close_thread_connections()


@pytest.fixture
def db(app):
    database = connect(app.config["DIARY_DATABASE"])
    yield database
    database.conn.close()


class ApiClient:
    """A Flask test client that sends JSON and the CSRF header like the PWA does."""

    def __init__(self, client):
        self.client = client
        self._csrf = None

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = self.client.get("/api/v1/session").get_json()["csrf_token"]
        return self._csrf

    def refresh(self) -> None:
        self._csrf = None

    def get(self, path, **kwargs):
        return self.client.get(_url(path), **kwargs)

    def _send(self, method, path, json=None, headers=None, **kwargs):
        headers = {"X-CSRF-Token": self.csrf(), **(headers or {})}
        if json is not None:
            kwargs["json"] = json
        response = getattr(self.client, method)(_url(path), headers=headers, **kwargs)
        if path.endswith(("login", "logout", "activate")):
            self._csrf = None  # the session changed: fetch a fresh token next time
        return response

    def post(self, path, json=None, **kwargs):
        return self._send("post", path, json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self._send("put", path, json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self._send("patch", path, json, **kwargs)

    def delete(self, path, json=None, **kwargs):
        return self._send("delete", path, json, **kwargs)


def _url(path: str) -> str:
    """Relative paths are API paths ("staff/login" → /api/v1/staff/login)."""
    return path if path.startswith("/") else f"/api/v1/{path}"


@pytest.fixture
def api(app):
    return ApiClient(app.test_client())


@pytest.fixture
def new_client(app):
    return lambda: ApiClient(app.test_client())


@pytest.fixture
def make_staff(app, db):
    def make(email, role="coordinator", sites=("SITE-A",), password=PASSWORD, full_name=None):
        with app.app_context():
            return staff_accounts.create_staff(
                db,
                actor=audit.CLI,
                email=email,
                role=role,
                password=password,
                site_codes=sites,
                default_timezone="America/Chicago",
                now=clock.now(),
                full_name=full_name,
            )

    return make


@pytest.fixture
def login(new_client):
    def sign_in(email, password=PASSWORD):
        c = new_client()
        response = c.post("staff/login", {"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        return c

    return sign_in


@pytest.fixture
def staff_client(make_staff, login):
    """A signed-in staff client: staff_client(role, site) creates the account too."""
    counter = iter(range(1, 1000))

    def make(role="coordinator", sites=("SITE-A",), full_name=None):
        email = f"{role}{next(counter)}@{'-'.join(sites).lower() or 'all'}.test"
        make_staff(email, role, sites, full_name=full_name)
        return login(email)

    return make


@pytest.fixture
def enroll(app, db, make_staff):
    """Enroll a participant directly through the service; return the activation code."""

    def make(
        study_id="LBP-001",
        site="SITE-A",
        timezone="America/Chicago",
        injection_date: date | None = None,
        back_pain=4,
        mme=10.0,
        on_injection_day=False,
    ):
        """`on_injection_day`: enrolled at 9:00 on the day of the injection (their diary
        expected from then), rather than now."""
        from diary.auth import queries as auth_queries

        now = clock.now()
        injected = injection_date or clock.local_date(now, timezone)
        # The service refuses a day 0 long before enrollment: a participant injected
        # that long ago was enrolled on the day, with a code that still works now.
        enrolled_at = now
        too_old = (clock.local_date(now, timezone) - injected).days > FIRST_INJECTION_MAX_AGE_DAYS
        if on_injection_day or too_old:
            enrolled_at = min(now, clock.local_instant(injected, time(9, 0), timezone))
        with app.app_context():
            site_row, _ = _ensure_site(db, site)
            with transaction(db):
                _, issued = service.enroll(
                    db,
                    app.extensions["diary.study"],
                    actor=audit.CLI,
                    site=site_row,
                    study_id=study_id,
                    timezone=timezone,
                    injection_date=injected,
                    baseline_back_pain=back_pain,
                    baseline_mme=mme,
                    secret_key=SECRET,
                    base_url="http://diary.test",
                    code_lifetime=app.config["ACTIVATION_CODE_LIFETIME"] + (now - enrolled_at),
                    staff_id=None,
                    now=enrolled_at,
                )
            assert auth_queries.site_by_code(db, site)
        return issued.code

    def _ensure_site(database, code):
        from diary.auth import queries as auth_queries

        with transaction(database):
            return auth_queries.ensure_site(database, code, "America/Chicago", now=clock.now())

    return make


@pytest.fixture
def participant_client(enroll, new_client):
    def make(study_id="LBP-001", **kwargs):
        code = enroll(study_id, **kwargs)
        c = new_client()
        response = c.post("participant/activate", {"code": code})
        assert response.status_code == 200, response.get_json()
        return c

    return make
