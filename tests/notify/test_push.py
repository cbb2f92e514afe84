"""Web Push: subscriptions API, VAPID, a local push service, decryption with http_ece."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from app_support import migrated_app
from notify_support import local, open_flag, outbox, run

from diary import clock
from diary.notify import webpush

INJECTED = date(2025, 3, 1)
DAY = date(2025, 3, 12)


def _subscribe(client, subscription, path="push-subscriptions"):
    response = client.post(path, subscription.as_json())
    assert response.status_code == 201, response.get_json()
    return response


def test_vapid_public_key_is_null_until_configured_then_matches_the_private_key(api, app):
    assert api.get("push/vapid-public-key").get_json() == {"vapid_public_key": None}
    pair = webpush.generate_keys()
    app.config["DIARY_VAPID_PRIVATE_KEY"] = pair.private_pem  # PEM text works as well
    assert api.get("push/vapid-public-key").get_json() == {"vapid_public_key": pair.public_key}
    assert len(webpush.b64url_decode(pair.public_key)) == 65


def test_participant_subscription_is_saved_revived_and_ended(
    app, db, participant_client, browser_subscription
):
    client = participant_client("LBP-014")
    sub = browser_subscription()
    _subscribe(client, sub)
    _subscribe(client, sub)  # the same browser again: still one subscription
    rows = list(db.query("SELECT * FROM push_subscriptions"))
    assert len(rows) == 1 and rows[0]["ended_at"] is None
    assert client.delete("push-subscriptions", {"endpoint": sub.endpoint}).get_json() == {
        "ok": True
    }
    assert db.execute("SELECT end_reason FROM push_subscriptions").fetchone()[0] == "unsubscribed"
    assert client.delete("push-subscriptions", {"endpoint": sub.endpoint}).status_code == 200
    _subscribe(client, sub)
    assert db.execute("SELECT ended_at FROM push_subscriptions").fetchone()[0] is None
    actions = [
        r[0]
        for r in db.execute("SELECT action FROM audit_log WHERE object_type = 'push_subscription'")
    ]
    assert actions == ["push_subscription.create"] * 2 + [
        "push_subscription.end",
        "push_subscription.create",
    ]
    assert sub.endpoint not in json.dumps(list(db.query("SELECT * FROM audit_log")))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys"),
        ({"keys": {"p256dh": "B" * 87, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys"),
        ({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys"),
        ({"keys": None}, "keys"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_subscription_is_422_and_nothing_is_saved(
    db, participant_client, browser_subscription, change, field
):
    client = participant_client("LBP-014")
    good = browser_subscription().as_json()
    body = {**good, **change}
    if "keys" in change and change["keys"] and "p256dh" not in change["keys"]:
        body["keys"] = change["keys"]
    response = client.post("push-subscriptions", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert db.execute("SELECT count(*) FROM push_subscriptions").fetchone()[0] == 0


def test_a_bad_auth_secret_length_is_422(participant_client, browser_subscription):
    body = browser_subscription().as_json()
    body["keys"]["auth"] = webpush.b64url(b"x" * 15)
    response = participant_client("LBP-014").post("push-subscriptions", body)
    assert response.status_code == 422
    assert "auth" in response.get_json()["error"]["fields"]["keys"]


def test_production_refuses_local_and_plain_http_endpoints(tmp_path, browser_subscription):
    app = migrated_app(
        {
            "DIARY_DATABASE": str(tmp_path / "prod.sqlite3"),
            "DIARY_SECRET_KEY": "x" * 40,
            "DIARY_AUDIT_KEY": "k" * 48,
            "DIARY_ENV": "production",
            "DIARY_BASE_URL": "https://diary.example.org",
        }
    )
    from marshmallow import ValidationError

    from diary.notify.schemas import _check_endpoint

    with app.app_context():
        for url in (browser_subscription().endpoint, "https://127.0.0.1/x", "https://localhost/x"):
            with pytest.raises(ValidationError):
                _check_endpoint(url)
        _check_endpoint("https://fcm.googleapis.com/fcm/send/abc")


def test_roles_are_kept_apart_on_subscription_routes(
    participant_client, staff_client, browser_subscription, api
):
    participant = participant_client("LBP-014")
    staff = staff_client("coordinator", ("SITE-A",))
    body = browser_subscription().as_json()
    assert participant.post("staff/push-subscriptions", body).status_code == 403
    assert staff.post("push-subscriptions", body).status_code == 403
    assert api.post("push-subscriptions", body).status_code == 401
    assert staff.post("staff/push-subscriptions", body).status_code == 201


def test_the_reminder_reaches_the_push_service_and_decrypts_to_the_today_screen(
    app, db, vapid, participant_client, browser_subscription, push_service
):
    client = participant_client("LBP-014", injection_date=INJECTED)
    assert client.patch("me", {"reminder_time": "20:00"}).status_code == 200
    sub = browser_subscription()
    _subscribe(client, sub)
    at = local(DAY, "20:00")

    assert run(app, db, "reminders", at) == {
        "reminded": 1,
        "notifications": 1,
        "questionnaire_notifications": 0,
    }
    assert run(app, db, "deliver", at) == {"sent": 1}

    [request] = push_service.requests
    assert request.path == sub.path
    assert request.headers["content-encoding"] == "aes128gcm"
    assert int(request.headers["ttl"]) == int(
        (local(DAY + timedelta(days=1), "00:00") - at).total_seconds()
    )
    scheme, _, params = request.headers["authorization"].partition(" ")
    assert scheme == "vapid" and f"k={vapid.public_key}" in params
    payload = json.loads(sub.decrypt(request.body))
    assert payload["url"] == "/#/today"
    assert payload["title"] and "entry" in payload["body"]
    assert payload["tag"] == f"reminder-{DAY.isoformat()}"
    [row] = outbox(db, purpose="reminder")
    assert (row["status"], row["channel"], row["attempts"]) == ("sent", "push", 1)
    assert db.execute("SELECT last_success_at FROM push_subscriptions").fetchone()[0]


def test_a_410_from_the_push_service_removes_the_subscription(
    app, db, vapid, participant_client, browser_subscription, push_service
):
    client = participant_client("LBP-014", injection_date=INJECTED)
    gone, live = browser_subscription(), browser_subscription()
    _subscribe(client, gone)
    _subscribe(client, live)
    push_service.statuses[gone.path] = 410
    at = local(DAY, "20:00")

    run(app, db, "reminders", at)
    assert run(app, db, "deliver", at) == {"sent": 1, "failed": 1}

    subs = {r["endpoint"]: r for r in db.query("SELECT * FROM push_subscriptions")}
    assert subs[gone.endpoint]["ended_at"] and subs[gone.endpoint]["end_reason"] == "expired"
    assert subs[live.endpoint]["ended_at"] is None
    failed = [r for r in outbox(db) if r["status"] == "failed"]
    assert len(failed) == 1 and "410" in failed[0]["last_error"]
    # Tomorrow's reminder goes to the live device only.
    run(app, db, "reminders", at + timedelta(days=1))
    run(app, db, "deliver", at + timedelta(days=1))
    assert [r.path for r in push_service.requests].count(gone.path) == 1
    assert [r.path for r in push_service.requests].count(live.path) == 2


def test_a_push_service_error_is_retried_with_backoff(
    app, db, vapid, participant_client, browser_subscription, push_service
):
    client = participant_client("LBP-014", injection_date=INJECTED)
    sub = browser_subscription()
    _subscribe(client, sub)
    push_service.statuses[sub.path] = 503
    at = local(DAY, "20:00")
    run(app, db, "reminders", at)
    assert run(app, db, "deliver", at) == {"retry": 1}
    push_service.statuses[sub.path] = 201
    assert run(app, db, "deliver", at + timedelta(minutes=1)) == {"sent": 1}
    assert outbox(db)[0]["attempts"] == 2


def test_staff_who_subscribed_get_the_urgent_flag_pushed(
    app, db, vapid, enroll, staff_client, browser_subscription, push_service
):
    coordinator = staff_client("coordinator", ("SITE-A",))
    other_site = staff_client("coordinator", ("SITE-B",))
    mine, theirs = browser_subscription(), browser_subscription()
    _subscribe(coordinator, mine, "staff/push-subscriptions")
    _subscribe(other_site, theirs, "staff/push-subscriptions")
    enroll("LBP-014", site="SITE-A")
    now = clock.now()
    flag_id = open_flag(
        db,
        "LBP-014",
        kind="red_flag_symptom",
        severity="urgent",
        day=clock.local_date(now, "America/Chicago"),
        now=now,
        detail={"symptoms": ["fever"]},
    )

    assert run(app, db, "deliver", now) == {"sent": 2}  # an e-mail (to the log) and a push
    [request] = push_service.requests
    assert request.path == mine.path
    payload = json.loads(mine.decrypt(request.body))
    assert payload["url"] == f"/staff/#/flags/{flag_id}"
    assert "LBP-014" in payload["title"]
    assert request.headers["urgency"] == "high"


def test_without_a_vapid_key_pushes_wait_instead_of_failing(
    app, db, participant_client, browser_subscription, push_service
):
    client = participant_client("LBP-014", injection_date=INJECTED)
    _subscribe(client, browser_subscription())
    at = local(DAY, "20:00")
    run(app, db, "reminders", at)
    assert run(app, db, "deliver", at) == {"retry": 1}
    assert "DIARY_VAPID_PRIVATE_KEY" in outbox(db)[0]["last_error"]
    assert push_service.requests == []


def test_vapid_keys_command_prints_a_usable_pair(app):
    result = app.test_cli_runner().invoke(args=["diary", "vapid-keys", "--pem"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    public = lines[0].rsplit(" ", 1)[1]
    private = lines[1].split("=", 1)[1]
    assert webpush.configured_public_key(private) == public
    pem = "\n".join(lines[2:])
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert webpush.configured_public_key(pem) == public


def test_an_endpoint_stays_its_first_owners_until_they_remove_it(
    db, participant_client, staff_client, browser_subscription
):
    phone = participant_client("LBP-014")
    other_phone = participant_client("LBP-015")
    coordinator = staff_client("coordinator")
    sub = browser_subscription()
    _subscribe(phone, sub)
    for taker, path in (
        (other_phone, "push-subscriptions"),
        (coordinator, "staff/push-subscriptions"),
    ):
        taken = taker.post(path, sub.as_json())
        assert (
            taken.status_code == 409 and taken.get_json()["error"]["code"] == "subscription_taken"
        )
    (row,) = db.query(
        "SELECT owner_kind, participant_id, staff_id, ended_at FROM push_subscriptions"
    )
    assert row["owner_kind"] == "participant" and row["ended_at"] is None
    # Once its owner removes it, another account may take the browser's endpoint.
    assert phone.delete("push-subscriptions", {"endpoint": sub.endpoint}).status_code == 200
    _subscribe(coordinator, sub, "staff/push-subscriptions")
    (row,) = db.query("SELECT owner_kind, ended_at FROM push_subscriptions")
    assert row["owner_kind"] == "staff" and row["ended_at"] is None


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/x",  # 127.0.0.1 as an integer
        "https://0x7f000001/x",
        "https://0x7f.1/x",
        "https://127.1/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost./x",
        "https://fcm.googleapis.com./fcm/send/abc",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://intranet.hospital.local/push",
        "https://fcm.googleapis.com.evil.test/fcm/send/abc",
        "https://evilfcm.googleapis.com.attacker.test/x",
        "http://fcm.googleapis.com/fcm/send/abc",
        # Parsers disagree on these: urllib3 and browsers would connect to evil.test.
        "https://evil.test\\.push.services.mozilla.com/x",
        "https://evil.test%5c.push.services.mozilla.com/x",
        "https://fcm.googleapis.com\\@evil.test/x",
        "https://fcm.googleapis.com@evil.test/x",
        "https://user:pw@fcm.googleapis.com/fcm/send/abc",
        "https://%66cm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com%2fx@evil.test/",
        "https://fcm.googleapis.com /fcm/send/abc",
        "https://fcm.googleapis.com\t/fcm/send/abc",
        "https://fcm.googleapis.com\uff0e/x",
        "https://[::ffff:8.8.8.8]/x",
        # Only the standard port.
        "https://fcm.googleapis.com:25/fcm/send/abc",
        "https://fcm.googleapis.com:8443/fcm/send/abc",
        "https://fcm.googleapis.com:/fcm/send/abc",
        "https://fcm.googleapis.com:99999/x",
    ],
)
def test_production_accepts_only_known_push_services(tmp_path, url):
    app = migrated_app(
        {
            "DIARY_DATABASE": str(tmp_path / "prod.sqlite3"),
            "DIARY_SECRET_KEY": "x" * 40,
            "DIARY_AUDIT_KEY": "k" * 48,
            "DIARY_ENV": "production",
            "DIARY_BASE_URL": "https://diary.example.org",
        }
    )
    from marshmallow import ValidationError

    from diary.notify.schemas import _check_endpoint

    with app.app_context():
        with pytest.raises(ValidationError):
            _check_endpoint(url)
        for good in (
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://fcm.googleapis.com:443/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/abc",
            "https://web.push.apple.com/QGq",
            "https://wns2-par02p.notify.windows.com/w/?token=abc",
        ):
            _check_endpoint(good)


def test_at_send_time_an_endpoint_that_resolves_inside_the_network_is_never_contacted(
    push_service, browser_subscription
):
    pusher = webpush.Pusher(
        webpush.generate_keys().private_key, "mailto:t@x.test", private_addresses=False
    )
    sub = browser_subscription()
    keys = sub.as_json()["keys"]
    row = {"endpoint": sub.endpoint, "p256dh": keys["p256dh"], "auth": keys["auth"]}
    for endpoint in (sub.endpoint, sub.endpoint.replace("127.0.0.1", "localhost")):
        with pytest.raises(webpush.PushRejected):
            pusher.send({**row, "endpoint": endpoint}, {"title": "x"}, ttl=60, urgency="high")
    assert push_service.requests == []
    # The same pusher in development (private addresses allowed) does reach it.
    webpush.Pusher(
        webpush.generate_keys().private_key, "mailto:t@x.test", private_addresses=True
    ).send(row, {"title": "x"}, ttl=60, urgency="high")
    assert len(push_service.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test\\.push.example/x",
        "https://a@push.example/x",
        "https://push%2eexample/x",
        "https://push.example\\@127.0.0.1/x",
    ],
)
def test_an_endpoint_needs_a_plain_host_in_development_too(app, url):
    from marshmallow import ValidationError

    from diary.notify.schemas import _check_endpoint

    with app.app_context(), pytest.raises(ValidationError):
        _check_endpoint(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/abc?x=1#y",
        "https://FCM.googleapis.com:443/fcm/send/a%2Fb",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk-_",
        "http://127.0.0.1:8080/push/abc",
    ],
)
def test_an_accepted_endpoint_has_the_same_host_for_every_parser(url):
    """The host the schema checks is the one requests and urllib3 connect to."""
    from urllib.parse import urlsplit

    import requests
    from urllib3.util import parse_url

    from diary.notify.schemas import endpoint_host

    scheme, host, port = endpoint_host(url)
    prepared = requests.Request("POST", url).prepare()
    assert parse_url(url).host.lower() == host
    assert parse_url(prepared.url).host == host
    assert urlsplit(prepared.url).hostname == host
    assert (urlsplit(url).port, parse_url(url).port) == (port, port)


# --- the send goes to the address that was checked --------------------------------


@pytest.fixture
def tls_push_service(tmp_path, monkeypatch):
    """A push service over HTTPS on 127.0.0.1 whose certificate names push.test (and no
    address): (port, requests it saw, path of the certificate to trust)."""
    # requests prefers these to a session's own `verify`: let the session's count.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    import ssl
    from datetime import UTC, datetime
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "push.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("push.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "push-cert.pem", tmp_path / "push-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen, cert_path
    server.shutdown()
    server.server_close()
    thread.join(5)


class Dns:
    """A name server for names the machine's resolver does not know: each lookup is
    counted, and a later answer may differ from the first (DNS rebinding)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def _pusher(dns, cert_path, *, private_addresses):
    pusher = webpush.Pusher(
        webpush.generate_keys().private_key,
        "mailto:t@x.test",
        private_addresses=private_addresses,
        resolver=dns,
    )
    pusher.session.verify = str(cert_path)  # trust the test service's certificate
    return pusher


def _row(endpoint):
    key = ec_key()
    return {"endpoint": endpoint, "p256dh": key, "auth": webpush.b64url(b"a" * 16)}


def ec_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return webpush.b64url(
        public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def test_the_push_connects_to_the_checked_address_with_tls_for_the_host_name(tls_push_service):
    port, seen, cert_path = tls_push_service
    # The first answer is checked and used; a rebinding second answer is never asked
    # for (and the machine's own resolver does not know push.test at all).
    dns = Dns(["127.0.0.1"], ["10.0.0.1"])
    pusher = _pusher(dns, cert_path, private_addresses=True)
    pusher.send(_row(f"https://push.test:{port}/p/1"), {"title": "x"}, ttl=60, urgency="high")
    assert dns.lookups == ["push.test"]
    [(path, headers)] = seen
    assert path == "/p/1" and headers["host"] == f"push.test:{port}"


def test_the_certificate_must_name_the_endpoints_host_not_its_address(tls_push_service):
    port, seen, cert_path = tls_push_service
    pusher = _pusher(Dns(["127.0.0.1"]), cert_path, private_addresses=True)
    with pytest.raises(webpush.PushTransient):
        pusher.send(_row(f"https://other.test:{port}/p"), {"title": "x"}, ttl=60, urgency="high")
    assert seen == []


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], ["8.8.8.8", "10.1.2.3"], ["169.254.169.254"], ["::1"], ["fd00::1"]],
)
def test_in_production_an_internal_answer_is_refused_before_any_connection(
    tls_push_service, answer
):
    port, seen, cert_path = tls_push_service
    dns = Dns(answer)
    pusher = _pusher(dns, cert_path, private_addresses=False)
    with pytest.raises(webpush.PushRejected):
        pusher.send(_row(f"https://push.test:{port}/p"), {"title": "x"}, ttl=60, urgency="high")
    assert dns.lookups == ["push.test"] and seen == []
