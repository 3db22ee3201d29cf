"""The emulator's RSA signing key: kept in a file, published as a JWK, used to mint access tokens.

The key must outlive the emulator. The SDK fetches the key set (JWKS) once per URL and keeps it for
the whole process, and an app's session cookie holds tokens signed before a restart: a new key on
every start would turn both into "invalid token". So the key is generated once, written to a PEM file
only its owner can read, and loaded from there on every later start; its `kid` is computed from the
key itself (its RFC 7638 thumbprint), so the same key always has the same `kid`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from workshop import services


def default_key_path() -> Path:
    return services.state_dir() / "workos-emulator-key.pem"


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str
    jwk: dict[str, Any]
    """The public half, as `GET /sso/jwks/{client_id}` lists it."""

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        pem = read_or_create_secret(path, _new_private_key_pem)
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        kid = _thumbprint(private_key.public_key())
        return cls(private_key=private_key, kid=kid, jwk=_public_jwk(private_key, kid))

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT signed RS256, whose header names this key, as WorkOS' access tokens are."""
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def read_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of `path`; when there is no such file yet, `make()` is written there first.

    The file is written with mode 0600 (readable by its owner only) under another name, then linked
    into place: a process reading at the same moment never sees half a file, and when two processes
    create it at once the first one wins and the other reads what the first wrote.
    """
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
        with contextlib.suppress(FileExistsError):  # another process was quicker: use its file
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return path.read_bytes()


def _new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    numbers = private_key.public_key().public_numbers()
    certificate = _self_signed_certificate(private_key, kid).public_bytes(serialization.Encoding.DER)
    return {
        "alg": "RS256",
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
        # WorkOS publishes the key's certificate too, and the SDK's `get_jwks()` requires both fields.
        "x5c": [base64.b64encode(certificate).decode()],  # standard base64, not the URL-safe kind
        "x5t#S256": _b64url(hashlib.sha256(certificate).digest()),
    }


def _self_signed_certificate(private_key: rsa.RSAPrivateKey, kid: str) -> x509.Certificate:
    """A certificate for the key, the same bytes on every start: fixed dates, serial from the `kid`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WorkOS emulator signing key")])
    serial = int.from_bytes(hashlib.sha256(kid.encode()).digest()[:19])  # < 2**159, as RFC 5280 asks
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(serial or 1)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2124, 1, 1, tzinfo=UTC))
        .sign(private_key, hashes.SHA256())  # RSA PKCS#1 v1.5 signatures are deterministic
    )


def _thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638: the SHA-256 of the key's required JWK members, in this exact JSON form."""
    numbers = public_key.public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    return _b64url(hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest())


def _b64url_uint(number: int) -> str:
    return _b64url(number.to_bytes((number.bit_length() + 7) // 8))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
