"""Urgent-flag e-mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import time_machine
from notify_support import entry_body, flag_ids, open_flag, outbox, run

from diary import clock
from diary.db import connect, transaction
from diary.notify import delivery, email

NOTE = "my neighbour Jane Roe drove me; call me at 555-0100"


@pytest.fixture
def sites(make_staff):
    """Two sites with their staff, and an admin who belongs to no site."""
    return {
        "coord_a": make_staff("coord-a@a.test", "coordinator", ("SITE-A",)),
        "inv_a": make_staff("inv-a@a.test", "investigator", ("SITE-A",)),
        "coord_b": make_staff("coord-b@b.test", "coordinator", ("SITE-B",)),
        "inv_b": make_staff("inv-b@b.test", "investigator", ("SITE-B",)),
        "admin": make_staff("admin@diary.test", "admin", ()),
    }


def _report_fever(participant_client, study_id, site):
    client = participant_client(study_id, site=site)
    today = clock.local_date(clock.now(), "America/Chicago")
    response = client.put(
        f"entries/{today.isoformat()}",
        entry_body(symptoms=["fever", "hospital_or_er_visit"], note=NOTE),
    )
    assert response.status_code == 201, response.get_json()
    return today


def test_urgent_flag_mail_reaches_the_sites_investigators_and_coordinators_in_one_run(
    app, db, sites, participant_client, smtp_server
):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    app.config["DIARY_MAIL_FROM"] = "Study Diary <diary@study.test>"
    today = _report_fever(participant_client, "LBP-014", "SITE-A")
    [flag_id] = flag_ids(db, "LBP-014")
    # Written in the entry's transaction, before any job ran.
    assert {r["status"] for r in outbox(db, flag_id=flag_id)} == {"pending"}

    summary = run(app, db, "deliver", clock.now())

    assert summary == {"sent": 2}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["coord-a@a.test", "inv-a@a.test"]
    assert all(m.authenticated for m in smtp_server.messages)  # logged in with the URL's user
    mail = smtp_server.messages[0].message
    assert mail["From"] == "Study Diary <diary@study.test>"
    assert "BMMSC-LBP" in mail["Subject"] and "LBP-014" in mail["Subject"]
    assert "URGENT" in mail["Subject"]
    body = mail.get_content()
    assert "LBP-014" in body and "site SITE-A" in body
    assert "red_flag_symptom" in body and "Severity:  urgent" in body
    assert today.isoformat() in body
    assert f"http://diary.test/staff/#/flags/{flag_id}" in body
    assert "Fever or chills" in body and "emergency room" in body
    # The participant's free text never leaves the building.
    raw = smtp_server.messages[0].message.as_string()
    assert "Jane Roe" not in raw and "555-0100" not in raw
    rows = outbox(db, flag_id=flag_id)
    assert {(r["status"], r["attempts"], r["channel"]) for r in rows} == {("sent", 1, "email")}
    assert run(app, db, "deliver", clock.now() + timedelta(minutes=5)) == {}
    assert len(smtp_server.messages) == 2


def test_another_sites_flag_never_reaches_this_sites_staff(
    app, db, sites, participant_client, smtp_server
):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    _report_fever(participant_client, "LBP-014", "SITE-A")
    _report_fever(participant_client, "LBP-201", "SITE-B")

    run(app, db, "deliver", clock.now())

    by_recipient = {}
    for m in smtp_server.messages:
        by_recipient.setdefault(m.rcpt_tos[0], []).append(m.message["Subject"])
    assert set(by_recipient) == {"coord-a@a.test", "inv-a@a.test", "coord-b@b.test", "inv-b@b.test"}
    for address, subjects in by_recipient.items():
        assert len(subjects) == 1
        expected = "LBP-014" if address.endswith("@a.test") else "LBP-201"
        assert expected in subjects[0]
    assert "admin@diary.test" not in by_recipient  # admins hear of escalations only


def test_smtp_down_keeps_the_mail_pending_then_the_next_due_run_delivers_it_once(
    app, db, sites, participant_client, smtp_down
):
    app.config["DIARY_SMTP_URL"] = smtp_down.url
    _report_fever(participant_client, "LBP-014", "SITE-A")
    [flag_id] = flag_ids(db, "LBP-014")
    t0 = clock.now()

    assert run(app, db, "deliver", t0) == {"retry": 2}
    rows = outbox(db, flag_id=flag_id)
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1), ("pending", 1)]
    assert all("Connection refused" in r["last_error"] for r in rows)
    assert all("s3cret" not in r["last_error"] for r in rows)  # no credentials

    assert run(app, db, "deliver", t0 + timedelta(seconds=59)) == {}  # not due yet
    assert run(app, db, "deliver", t0 + timedelta(minutes=1)) == {"retry": 2}
    assert run(app, db, "deliver", t0 + timedelta(minutes=3)) == {"retry": 2}
    rows = outbox(db, flag_id=flag_id)
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 3), ("pending", 3)]
    # Exponential backoff: 1, 2, 4 minutes after the first, second, third failure.
    assert {clock.parse_iso(r["next_attempt_at"]) for r in rows} == {t0 + timedelta(minutes=7)}

    smtp_down.start()
    assert run(app, db, "deliver", t0 + timedelta(minutes=6)) == {}  # waits for its backoff
    assert run(app, db, "deliver", t0 + timedelta(minutes=7)) == {"sent": 2}
    assert run(app, db, "deliver", t0 + timedelta(minutes=30)) == {}
    assert sorted(m.rcpt_tos[0] for m in smtp_down.messages) == ["coord-a@a.test", "inv-a@a.test"]
    assert {r["status"] for r in outbox(db, flag_id=flag_id)} == {"sent"}


def test_urgent_mail_not_sent_ten_minutes_after_it_was_queued_shows_in_the_metrics(
    app, api, db, sites, participant_client, smtp_down
):
    """The operator's signal that an urgent notice has not reached staff, whatever the
    cause (down, refused, bounced): `diary_urgent_notifications_undelivered`."""
    token = "metrics-token-0123456789"
    app.config["DIARY_SMTP_URL"] = smtp_down.url
    app.config["DIARY_METRICS_TOKEN"] = token
    _report_fever(participant_client, "LBP-014", "SITE-A")
    t0 = clock.now()

    def undelivered(at):
        with time_machine.travel(at, tick=False):
            text = api.get("/metrics", headers={"Authorization": f"Bearer {token}"}).data
        (line,) = [
            x
            for x in text.decode().splitlines()
            if x.startswith("diary_urgent_notifications_undelivered ")
        ]
        return float(line.rsplit(" ", 1)[1])

    run(app, db, "deliver", t0)
    assert undelivered(t0 + timedelta(minutes=9)) == 0  # still within its first minutes
    run(app, db, "deliver", t0 + timedelta(minutes=7))
    assert undelivered(t0 + timedelta(minutes=11)) == 2  # the coordinator's and investigator's
    smtp_down.start()
    run(app, db, "deliver", t0 + timedelta(minutes=15))
    assert undelivered(t0 + timedelta(minutes=16)) == 0


def test_a_recipient_the_server_refuses_is_failed_not_retried(
    app, db, sites, participant_client, smtp_server
):
    app.config["DIARY_SMTP_URL"] = smtp_server.url

    async def refuse_inv(server, session, envelope, address, rcpt_options):
        if address.startswith("inv-a@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.collector.handle_RCPT = refuse_inv
    _report_fever(participant_client, "LBP-014", "SITE-A")

    assert run(app, db, "deliver", clock.now()) == {"sent": 1, "failed": 1}
    failed = [r for r in outbox(db) if r["status"] == "failed"]
    assert len(failed) == 1 and "550" in failed[0]["last_error"]
    assert run(app, db, "deliver", clock.now() + timedelta(hours=2)) == {}


def test_a_relay_refusing_for_its_own_policy_is_retried_until_it_takes_the_mail(
    app, db, sites, participant_client, smtp_server
):
    """ "550 5.7.1 Relaying denied" (an allow-list or credentials changed at the relay) says
    nothing of the recipient: the urgent mail waits and is retried, not failed for good."""
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    collector = smtp_server.collector
    accept = collector.handle_RCPT if hasattr(collector, "handle_RCPT") else None

    async def deny(server, session, envelope, address, rcpt_options):
        return "550 5.7.1 Relaying denied"

    collector.handle_RCPT = deny
    _report_fever(participant_client, "LBP-014", "SITE-A")
    [flag_id] = flag_ids(db, "LBP-014")
    t0 = clock.now()

    assert run(app, db, "deliver", t0) == {"retry": 2}
    rows = outbox(db, flag_id=flag_id)
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1), ("pending", 1)]
    assert all("5.7.1" in r["last_error"] for r in rows)

    if accept is None:
        del collector.handle_RCPT
    else:
        collector.handle_RCPT = accept
    assert run(app, db, "deliver", t0 + timedelta(minutes=1)) == {"sent": 2}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "coord-a@a.test",
        "inv-a@a.test",
    ]


def test_without_an_smtp_url_development_mail_goes_to_the_log_and_counts_as_sent(
    app, db, sites, participant_client, caplog
):
    assert app.config["DIARY_SMTP_URL"] is None and app.config["DIARY_ENV"] == "development"
    _report_fever(participant_client, "LBP-014", "SITE-A")
    with caplog.at_level(logging.INFO, logger="diary.mail"):
        assert run(app, db, "deliver", clock.now()) == {"sent": 2}
    logged = [r.getMessage() for r in caplog.records if r.name == "diary.mail"]
    assert len(logged) == 2 and all("LBP-014" in line for line in logged)
    assert all("/staff/#/flags/" in line for line in logged)
    assert {(r["status"], r["channel"]) for r in outbox(db)} == {("sent", "log")}


def test_in_production_without_smtp_mail_waits_instead_of_being_lost(
    app, db, sites, participant_client
):
    _report_fever(participant_client, "LBP-014", "SITE-A")
    config = {**app.config, "DIARY_ENV": "production"}
    delivery.deliver_due(db, now=clock.now(), study=app.extensions["diary.study"], config=config)
    rows = outbox(db)
    assert {r["status"] for r in rows} == {"pending"}
    assert any("DIARY_SMTP_URL is not set" in (r["last_error"] or "") for r in rows)


def test_a_flag_that_rises_to_urgent_is_mailed_once(app, db, sites, enroll, smtp_server):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    enroll("LBP-014", site="SITE-A")
    day = clock.local_date(clock.now(), "America/Chicago")
    now = clock.now()
    kwargs = {"kind": "opioid_threshold", "day": day, "episode_key": "episode"}
    open_flag(db, "LBP-014", severity="high", detail={"max_mme": 60}, now=now, **kwargs)
    assert outbox(db) == []  # high: the digest's business
    open_flag(db, "LBP-014", severity="urgent", detail={"max_mme": 95}, now=now, **kwargs)
    open_flag(db, "LBP-014", severity="urgent", detail={"max_mme": 120}, now=now, **kwargs)
    assert len(outbox(db)) == 2
    run(app, db, "deliver", now)
    assert len(smtp_server.messages) == 2
    assert "Highest daily MME: 95" in smtp_server.messages[0].message.get_content()


def test_two_runners_at_once_never_send_the_same_row(app, db, make_staff, enroll, smtp_server):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    for n in range(6):
        make_staff(f"coord{n}@a.test", "coordinator", ("SITE-A",))
    enroll("LBP-014", site="SITE-A")
    now = clock.now()
    day = clock.local_date(now, "America/Chicago")
    for n in range(4):
        open_flag(
            db,
            "LBP-014",
            kind="red_flag_symptom",
            severity="urgent",
            day=day - timedelta(days=n),
            now=now,
            detail={"symptoms": ["fever"]},
        )
    assert len(outbox(db)) == 24
    study = app.extensions["diary.study"]
    results = []

    def runner():
        conn = connect(app.config["DIARY_DATABASE"])
        try:
            results.append(delivery.deliver_due(conn, now=now, study=study, config=app.config))
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.get("sent", 0) for r in results) == 24
    assert len(smtp_server.messages) == 24
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert len(set(ids)) == 24


def test_a_claim_left_by_a_crashed_runner_is_retried_after_it_goes_stale(
    app, db, sites, participant_client, smtp_server
):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    _report_fever(participant_client, "LBP-014", "SITE-A")
    now = clock.now()
    with transaction(db):  # a runner claimed a row and died before sending it
        db.execute(
            "UPDATE outbox SET status = 'sending', claim_token = 'dead', claimed_at = ?,"
            " attempts = 1 WHERE id = (SELECT min(id) FROM outbox)",
            [clock.iso(now)],
        )
    assert run(app, db, "deliver", now) == {"sent": 1}
    assert run(app, db, "deliver", now + timedelta(minutes=9)) == {}
    assert run(app, db, "deliver", now + delivery.CLAIM_STALE_AFTER) == {"sent": 1}
    stale = min(outbox(db), key=lambda r: r["id"])
    assert (stale["status"], stale["attempts"]) == ("sent", 2)


def test_backoff_doubles_from_one_minute_and_is_capped():
    assert [delivery.backoff(n).total_seconds() / 60 for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.test", ("smtp", "mail.test", 25, None, None)),
        (
            "smtp+starttls://u%40x:pw%3Az@mail.test",
            ("smtp+starttls", "mail.test", 587, "u@x", "pw:z"),
        ),
        ("smtps://u:hunter2@mail.test:2465", ("smtps", "mail.test", 2465, "u", "hunter2")),
    ],
)
def test_smtp_urls_are_read_with_default_ports_and_quoted_credentials(url, expected):
    s = email.parse_smtp_url(url)
    assert (s.scheme, s.host, s.port, s.username, s.password) == expected
    assert not s.password or s.password not in repr(s)  # tracebacks never show it


@pytest.mark.parametrize("url", ["http://mail.test", "smtp://", "smtp://h:notaport"])
def test_an_unusable_smtp_url_is_refused_without_echoing_it(url):
    with pytest.raises(email.SmtpConfigError) as info:
        email.parse_smtp_url(url)
    assert url not in str(info.value)


def test_starttls_with_login_delivers_over_an_encrypted_connection(
    app, db, sites, participant_client, smtp_starttls
):
    app.config["DIARY_SMTP_URL"] = smtp_starttls.url
    assert smtp_starttls.url.startswith("smtp+starttls://")
    _report_fever(participant_client, "LBP-014", "SITE-A")
    assert run(app, db, "deliver", clock.now()) == {"sent": 2}
    assert len(smtp_starttls.messages) == 2
    assert all(m.authenticated for m in smtp_starttls.messages)
