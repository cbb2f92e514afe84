"""Real servers on 127.0.0.1 for notification tests: an aiosmtpd SMTP server and
a local HTTP endpoint acting as a Web Push service."""

from __future__ import annotations

import base64
import os
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mail_support import SMTP_PASSWORD, SMTP_USER, Received, SmtpServer, free_port  # noqa: F401

from diary.notify import webpush


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """An SMTP server that is not running yet (call .start() to bring it up)."""
    server = SmtpServer()
    yield server
    server.stop()


@dataclass
class PushRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A local push service: records each POST and answers with the status set per path."""

    port: int = 0
    requests: list[PushRequest] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def push_service():
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            service.requests.append(PushRequest(self.path, headers, body))
            status = service.statuses.get(self.path, 201)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class BrowserSubscription:
    """What a browser holds: the subscription it gives the server, and its private keys."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def path(self) -> str:
        return "/" + self.endpoint.split("/", 3)[3]

    def as_json(self) -> dict:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": webpush.b64url(public), "auth": webpush.b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )


@pytest.fixture
def browser_subscription(push_service):
    def make() -> BrowserSubscription:
        return BrowserSubscription(
            endpoint=push_service.url(f"/push/{uuid.uuid4().hex}"),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
        )

    return make


@pytest.fixture
def vapid(app):
    """Configure a fresh VAPID key pair on the app; return it."""
    pair = webpush.generate_keys()
    app.config["DIARY_VAPID_PRIVATE_KEY"] = pair.private_key
    app.config["DIARY_VAPID_SUBJECT"] = "mailto:study-team@diary.test"
    return pair


def b64decode_url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for 127.0.0.1: (cert path, key path)."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_starttls(tls_files, monkeypatch):
    """An SMTP server that requires STARTTLS before login and mail; the client
    verifies its certificate as in production, trusting the test certificate."""
    import ssl

    from diary.notify import email

    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(email.ssl, "create_default_context", lambda: trusting)
    server = SmtpServer(tls_context=server_ctx)
    server.start()
    yield server
    server.stop()
