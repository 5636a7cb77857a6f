"""Smoke-test credentials generated at apply time: never in the repo, never printed.

`<state>/stacks/<stack>/realm/smoke-credentials.json` (0600) holds, per test user, the password the
kit set (and, for `kit.generatedTotp` users, the TOTP secret of their second factor), and per
`kit.generatedJwk` client, its private key (PEM) and public JWK. Smoke tests read
it with `load_smoke_credentials(stack)`.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idpkit import paths
from idpkit.system.files import make_directory, write_private

PENDING = "<generated at apply>"
_RSA_BITS = 3072
_TOTP_SECRET_LENGTH = 20
"""Characters of a TOTP secret, as Keycloak generates them (160 bits of key: RFC 4226 §4's recommendation)."""
_TOTP_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def smoke_credentials_path(stack: str) -> Path:
    return paths.stack_dir(stack) / "realm" / "smoke-credentials.json"


def load_smoke_credentials(stack: str) -> dict[str, Any]:
    """The smoke-test credentials of `stack` (users' passwords, clients' private keys)."""
    loaded: dict[str, Any] = json.loads(smoke_credentials_path(stack).read_text())
    return loaded


def new_totp_secret() -> str:
    """A fresh TOTP secret in Keycloak's form (its UTF-8 bytes are the HMAC key)."""
    return "".join(secrets.choice(_TOTP_ALPHABET) for _ in range(_TOTP_SECRET_LENGTH))


def new_signing_key(algorithm: str) -> tuple[str, dict[str, Any]]:
    """A fresh private key for a JWS `algorithm` (RSA 3072 for PS*, EC P-256 otherwise): its PKCS#8 PEM, and its
    public JWK with a new `kid`, `alg` and `use: sig` (what a client registers as `jwks.string`)."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
        if algorithm.startswith("PS")
        else ec.generate_private_key(ec.SECP256R1())
    )
    public_jwk: dict[str, Any] = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key()))
    public_jwk.update({"kid": secrets.token_hex(8), "alg": algorithm, "use": "sig"})
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode(), public_jwk


@dataclass
class SecretStore:
    """Generated credentials; with `generate` false (plan/drift) missing ones are reported as pending."""

    stack: str
    generate: bool
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, stack: str, *, generate: bool) -> SecretStore:
        path = smoke_credentials_path(stack)
        data = json.loads(path.read_text()) if path.exists() else {}
        return cls(stack, generate, {"users": data.get("users", {}), "clients": data.get("clients", {})})

    def password(self, username: str) -> str | None:
        """The user's password; None if it is yet to be generated (and the user's password set)."""
        entry = self.data["users"].get(username) or {}
        if entry.get("password"):
            return str(entry["password"])
        if not self.generate:
            return None
        self.data["users"].setdefault(username, {})["password"] = secrets.token_urlsafe(24)
        self._save()
        return str(self.data["users"][username]["password"])

    def totp_secret(self, username: str) -> str | None:
        """The user's TOTP secret (Keycloak's secret text: its UTF-8 bytes are the HMAC key); None if yet to be made."""
        entry = self.data["users"].get(username) or {}
        if entry.get("totp_secret"):
            return str(entry["totp_secret"])
        if not self.generate:
            return None
        secret = new_totp_secret()
        self.data["users"].setdefault(username, {})["totp_secret"] = secret
        self._save()
        return secret

    def forget_totp_secret(self, username: str) -> None:
        """Drop a TOTP secret Keycloak never received."""
        self._forget(username, "totp_secret")

    def forget_password(self, username: str) -> None:
        """Drop a password Keycloak never received, so the next apply sets a fresh one."""
        self._forget(username, "password")

    def _forget(self, username: str, key: str) -> None:
        entry = self.data["users"].get(username)
        if entry is None or entry.pop(key, None) is None:
            return
        if not entry:
            del self.data["users"][username]
        self._save()

    def public_jwks(self, client_id: str, algorithm: str) -> str:
        """The client's public JWKS (JSON text) for `jwks.string`, or PENDING."""
        key = self._key(client_id, algorithm)
        return json.dumps({"keys": [key["public_jwk"]]}, sort_keys=True) if key else PENDING

    def public_key_base64(self, client_id: str, algorithm: str) -> str:
        """The client's public key as base64 DER (what an identity provider's key verifier takes)."""
        key = self._key(client_id, algorithm)
        if not key:
            return PENDING
        # From the stored public JWK: loading the private key would check it (a sixth of a second for RSA 3072).
        public = jwt.get_algorithm_by_name(algorithm).from_jwk(json.dumps(key["public_jwk"]))
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def _key(self, client_id: str, algorithm: str) -> dict[str, Any] | None:
        entry = self.data["clients"].get(client_id)
        if entry and entry["alg"] == algorithm:
            return dict(entry)
        if not self.generate:
            return None
        pem, public_jwk = new_signing_key(algorithm)
        kid = public_jwk["kid"]
        self.data["clients"][client_id] = {
            "alg": algorithm,
            "kid": kid,
            "private_key_pem": pem,
            "public_jwk": public_jwk,
        }
        self._save()
        return dict(self.data["clients"][client_id])

    def _save(self) -> None:
        target = smoke_credentials_path(self.stack)
        make_directory(target.parent, 0o700)
        write_private(target, json.dumps(self.data, indent=2, sort_keys=True) + "\n")
