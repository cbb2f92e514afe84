"""Web Push with VAPID (pywebpush): keys, the public key for browsers, sending."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter

TIMEOUT_SECONDS = 10


class VapidKeyError(ValueError):
    """DIARY_VAPID_PRIVATE_KEY cannot be read (the message never repeats the key)."""


class PushGone(Exception):
    """The push service no longer knows the subscription (404/410): remove it."""


class PushRejected(Exception):
    """The push service refused the message for good (other 4xx)."""


class PushTransient(Exception):
    """Try again later (network error, 429, 5xx)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """PEM text (SEC1 or PKCS#8), or the base64url raw 32-byte key `vapid-keys` prints."""
    text = text.strip().replace("\\n", "\n")
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise VapidKeyError("DIARY_VAPID_PRIVATE_KEY is not a readable EC private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidKeyError("DIARY_VAPID_PRIVATE_KEY must be a P-256 (prime256v1) key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The uncompressed public point, base64url: the browser's applicationServerKey."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@dataclass(frozen=True)
class KeyPair:
    public_key: str
    private_key: str
    private_pem: str


def generate_keys() -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return KeyPair(public_key_b64(key), b64url(raw), pem)


def configured_public_key(private_key_text: str | None) -> str | None:
    if not private_key_text:
        return None
    return public_key_b64(load_private_key(private_key_text))


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the order to try them (one DNS lookup)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified: not a push
    service on the internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


class PinnedAdapter(HTTPAdapter):
    """Connects to the address it checked. The endpoint's host is resolved once for
    each request (a redirect is a request too); unless `private_addresses`, a host with any internal address is refused
    (PushRejected) before a connection is made, and the connection then goes to that
    very address, so DNS cannot answer a public address for the check and an internal
    one for the connection (rebinding). TLS still names the host: SNI and the
    certificate check use the host name, and so does the Host header."""

    def __init__(
        self,
        *,
        private_addresses: bool = False,
        resolver: Callable[[str, int], list[str]] = resolve,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.private_addresses = private_addresses
        self.resolver = resolver

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host, scheme, port = host_params["host"], host_params["scheme"], host_params["port"]
        default = 443 if scheme == "https" else 80
        address = self._checked_address(host, port or default)
        request.headers["Host"] = host if port in (None, default) else f"{host}:{port}"
        if scheme == "https":
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return {**host_params, "host": address}, pool_kwargs

    def _checked_address(self, host: str, port: int) -> str:
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise PushTransient(f"push service not resolvable: {type(exc).__name__}") from None
        if not addresses:
            raise PushTransient("push service not resolvable: no address")
        if not self.private_addresses and any(is_internal(a) for a in addresses):
            raise PushRejected("push endpoint resolves to an internal address")
        return addresses[0]


class Pusher:
    """Sends through one HTTP session per delivery run."""

    def __init__(
        self,
        private_key_text: str,
        subject: str,
        *,
        private_addresses: bool = False,
        resolver: Callable[[str, int], list[str]] = resolve,
    ) -> None:
        self.vapid = Vapid02(load_private_key(private_key_text))  # RFC 8292: "vapid t=…, k=…"
        self.subject = subject
        self.session = requests.Session()
        # Development's local push services live on loopback; production never POSTs
        # to an address inside the network, whatever name the endpoint gives, and
        # connects to the address it checked (a redirect is checked again).
        adapter = PinnedAdapter(private_addresses=private_addresses, resolver=resolver)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def send(
        self, subscription: dict[str, Any], message: dict[str, Any], *, ttl: int, urgency: str
    ) -> None:
        info = {
            "endpoint": subscription["endpoint"],
            "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
        }
        try:
            webpush(
                info,
                data=json.dumps(message, separators=(",", ":")),
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},  # a fresh dict: webpush fills aud and exp
                ttl=max(0, ttl),
                timeout=TIMEOUT_SECONDS,
                headers={"Urgency": urgency},
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                raise PushGone(f"push service answered {status}") from None
            if status is not None and 400 <= status < 500 and status != 429:
                raise PushRejected(f"push service answered {status}") from None
            raise PushTransient(
                f"push service answered {status}" if status else f"push failed: {exc.message}"
            ) from None
        except (requests.RequestException, OSError) as exc:
            raise PushTransient(f"push service unreachable: {type(exc).__name__}") from None

    def close(self) -> None:
        self.session.close()


def app_public_key() -> str | None:
    """The running app's applicationServerKey for browsers, or None when Web Push is not
    configured. A broken key disables push (browsers cannot subscribe), never the API."""
    try:
        return configured_public_key(current_app.config.get("DIARY_VAPID_PRIVATE_KEY"))
    except VapidKeyError as exc:
        logging.getLogger(__name__).error("Web Push disabled: %s", exc)
        return None
