"""Configuration and the study protocol file are validated at start-up (SPEC §3, Appendix A)."""

import shutil
from pathlib import Path

import pytest
from app_support import migrated_app

from diary import create_app
from diary.config import ConfigError
from diary.study import StudyError, load, parse

ROOT = Path(__file__).resolve().parent.parent
GOOD = (ROOT / "study.toml").read_text()


def test_production_refuses_the_default_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="DIARY_SECRET_KEY"):
        create_app(
            {
                "DIARY_ENV": "production",
                "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
                "DIARY_BASE_URL": "https://diary.example.org",
            }
        )


@pytest.mark.parametrize("audit_key", [None, "short", "x" * 48], ids=["unset", "short", "same"])
def test_production_refuses_to_start_without_its_own_audit_key(tmp_path, audit_key):
    settings = {
        "DIARY_ENV": "production",
        "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
        "DIARY_SECRET_KEY": "x" * 48,
        "DIARY_BASE_URL": "https://diary.example.org",
    }
    if audit_key:
        settings["DIARY_AUDIT_KEY"] = audit_key
    with pytest.raises(ConfigError, match="DIARY_AUDIT_KEY"):
        create_app(settings)


def test_production_cookies_are_secure_and_host_prefixed(tmp_path):
    app = migrated_app(
        {
            "DIARY_ENV": "production",
            "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
            "DIARY_SECRET_KEY": "x" * 48,
            "DIARY_AUDIT_KEY": "k" * 48,
            "DIARY_BASE_URL": "https://diary.example.org",
        }
    )
    response = app.test_client().get("/api/v1/session", base_url="https://diary.example.org")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-diary=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_environment_overrides_the_instance_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DIARY_DATABASE", str(tmp_path / "from-env.sqlite3"))
    app = create_app()
    assert app.config["DIARY_DATABASE"] == str(tmp_path / "from-env.sqlite3")


def test_the_seed_study_loads():
    study = load(ROOT / "study.toml")
    assert study.thresholds.mme_high == 50
    assert "fever" in study.red_flag_codes and "nausea" not in study.red_flag_codes
    assert study.factors["buprenorphine"] is None and study.factors["oxycodone"] == 1.5
    assert study.window_closes_next_day_at.hour == 12


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("mme_high = 50", 'mme_high = "fifty"', "flags.mme_high"),
        ("length_days = 730", "length_days = -1", "diary.length_days"),
        ('timezone = "America/Chicago"', 'timezone = "America/Atlantis"', "study.timezone"),
        (
            'window_closes_next_day_at = "12:00"',
            'window_closes_next_day_at = "noon"',
            "diary.window_closes_next_day_at",
        ),
        ("mme_urgent = 90", "mme_urgent = 40", "flags.mme_urgent"),
        ("missed_high_streak = 3", "missed_high_streak = 3\nmissed_typo = 4", "flags.missed_typo"),
        ('code = "nausea"', 'code = "fever"', "symptoms"),
        ("factor = 1.5", "factor = -1.5", "formulary"),
    ],
)
def test_a_bad_protocol_file_names_the_bad_key(old, new, key):
    assert old in GOOD
    with pytest.raises(StudyError) as error:
        parse(GOOD.replace(old, new, 1), "study.toml")
    assert key in str(error.value)


def test_a_threshold_changes_without_code(tmp_path):
    custom = tmp_path / "study.toml"
    custom.write_text(GOOD.replace("mme_high = 50", "mme_high = 40"))
    shutil.copytree(ROOT / "instruments", tmp_path / "instruments")
    app = create_app(
        {"DIARY_DATABASE": str(tmp_path / "d.sqlite3"), "DIARY_STUDY_FILE": str(custom)}
    )
    assert app.extensions["diary.study"].thresholds.mme_high == 40


def test_a_missing_study_file_is_a_clear_error(tmp_path):
    with pytest.raises(StudyError, match="cannot read"):
        create_app(
            {
                "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
                "DIARY_STUDY_FILE": str(tmp_path / "nope.toml"),
            }
        )


def test_production_sign_in_over_https_works_with_the_browsers_same_origin_referer(tmp_path):
    from diary.audit import CLI
    from diary.auth.staff import create_staff
    from diary.db import connect

    base = "https://diary.example.org"
    app = migrated_app(
        {
            "DIARY_ENV": "production",
            "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
            "DIARY_SECRET_KEY": "x" * 48,
            "DIARY_AUDIT_KEY": "k" * 48,
            "DIARY_BASE_URL": base,
        }
    )
    db = connect(app.config["DIARY_DATABASE"])
    create_staff(
        db,
        actor=CLI,
        email="c@a.test",
        role="coordinator",
        password="correct horse battery",
        site_codes=["A"],
        default_timezone="America/Chicago",
        now=__import__("diary").clock.now(),
    )
    client = app.test_client()
    session = client.get("/api/v1/session", base_url=base)
    # The page's own Referrer-Policy lets the browser send a same-origin Referer,
    # which Flask-WTF requires on HTTPS.
    assert session.headers["Referrer-Policy"] == "same-origin"
    token = session.get_json()["csrf_token"]
    body = {"email": "c@a.test", "password": "correct horse battery"}
    ok = client.post(
        "/api/v1/staff/login",
        json=body,
        base_url=base,
        headers={"X-CSRF-Token": token, "Referer": f"{base}/staff/"},
    )
    assert ok.status_code == 200
    foreign = app.test_client()
    token = foreign.get("/api/v1/session", base_url=base).get_json()["csrf_token"]
    refused = foreign.post(
        "/api/v1/staff/login",
        json=body,
        base_url=base,
        headers={"X-CSRF-Token": token, "Referer": "https://evil.example/"},
    )
    assert refused.status_code == 403
    db.conn.close()


def test_investigators_and_admins_need_a_second_factor_in_production_and_the_roles_are_configurable(
    tmp_path, monkeypatch
):
    base = {
        "DIARY_ENV": "production",
        "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
        "DIARY_SECRET_KEY": "x" * 48,
        "DIARY_AUDIT_KEY": "k" * 48,
        "DIARY_BASE_URL": "https://diary.example.org",
    }
    assert migrated_app(base).config["STAFF_MFA_REQUIRED_ROLES"] == {"investigator", "admin"}
    dev = {"DIARY_DATABASE": str(tmp_path / "dev.sqlite3")}
    assert migrated_app(dev).config["STAFF_MFA_REQUIRED_ROLES"] == frozenset()
    monkeypatch.setenv("DIARY_MFA_REQUIRED_ROLES", "coordinator, investigator,admin")
    assert migrated_app(base).config["STAFF_MFA_REQUIRED_ROLES"] == {
        "coordinator",
        "investigator",
        "admin",
    }
    monkeypatch.setenv("DIARY_MFA_REQUIRED_ROLES", "none")
    assert migrated_app(base).config["STAFF_MFA_REQUIRED_ROLES"] == frozenset()
    monkeypatch.setenv("DIARY_MFA_REQUIRED_ROLES", "nurse")
    with pytest.raises(ConfigError, match="DIARY_MFA_REQUIRED_ROLES"):
        create_app(base)


def test_production_answers_only_for_the_public_host(tmp_path):
    base = "https://diary.example.org"
    app = migrated_app(
        {
            "DIARY_ENV": "production",
            "DIARY_DATABASE": str(tmp_path / "d.sqlite3"),
            "DIARY_SECRET_KEY": "x" * 48,
            "DIARY_AUDIT_KEY": "k" * 48,
            "DIARY_BASE_URL": base,
        }
    )
    client = app.test_client()
    assert client.get("/api/v1/session", base_url=base).status_code == 200
    for path in ("/api/v1/session", "/staff", "/"):
        evil = client.get(path, base_url="https://evil.example.net")
        assert evil.status_code == 400, path
        assert "evil.example.net" not in evil.headers.get("Location", "")
    assert client.get("/staff", base_url=base).status_code in (200, 301, 308)


@pytest.mark.parametrize("zone", ["US/Central", "EST5EDT", "Etc/GMT+6", "localtime", "Factory"])
def test_the_study_time_zone_must_be_a_canonical_iana_name(zone):
    old = 'timezone = "America/Chicago"'
    with pytest.raises(StudyError) as error:
        parse(GOOD.replace(old, f'timezone = "{zone}"', 1), "study.toml")
    assert "study.timezone" in str(error.value)
    for fine in ("Europe/Kyiv", "UTC", "Etc/UTC"):
        assert parse(GOOD.replace(old, f'timezone = "{fine}"', 1)).timezone == fine


@pytest.mark.parametrize(
    "old, new, key, says",
    [
        (
            'title = "BM-MSC',
            'title = "A\\u0000B\\u001b[31m BM-MSC',
            "study.title",
            "control character",
        ),
        ('id = "BMMSC-LBP"', 'id = "X\\r\\nY"', "study.id", "one line"),
        ('sponsor = "Mayo Clinic"', 'sponsor = "Mayo\\nClinic"', "study.sponsor", "one line"),
        (
            'study_team_contact = "your',
            'study_team_contact = "\\u0007your',
            "study.study_team_contact",
            "control character",
        ),
        ('emergency_number = "911"', 'emergency_number = "9\\n11"', "emergency_number", "one line"),
        (
            'red_flag_title = "Contact',
            'red_flag_title = "\\r\\nContact',
            "alerts.red_flag_title",
            "one line",
        ),
        (
            'red_flag_advice = "You',
            'red_flag_advice = "\\u0000You',
            "alerts.red_flag_advice",
            "control character",
        ),
        ('label = "Headache"', 'label = "Head\\nache"', "symptoms", "one line"),
        ('low_anchor = "No pain"', 'low_anchor = "No\\u001bpain"', "scales", "control character"),
        ('code = "nausea"', 'code = "nausea\\n"', "symptoms", "lower_snake_case"),
        (
            'window_closes_next_day_at = "12:00"',
            'window_closes_next_day_at = "12:00\\n"',
            "diary",
            "HH:MM",
        ),
    ],
)
def test_the_study_files_text_follows_the_apis_text_rule(old, new, key, says):
    assert old in GOOD
    with pytest.raises(StudyError) as error:
        parse(GOOD.replace(old, new, 1), "study.toml")
    assert key in str(error.value) and says in str(error.value), str(error.value)


def test_the_study_files_advice_may_span_lines():
    old = 'red_flag_advice = "You'
    study = parse(GOOD.replace(old, 'red_flag_advice = "Call now.\\nYou', 1))
    assert study.red_flag_advice.startswith("Call now.\nYou")
