"""Forged and tampered JWTs for attack tests: what an attacker can build without the realm's keys."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idpkit.smoke.oauth import b64url


def _segment(document: Mapping[str, Any]) -> str:
    return b64url(json.dumps(dict(document), separators=(",", ":")).encode())


def unsigned(payload: Mapping[str, Any], kid: str | None = None) -> str:
    """`alg: none` with an empty signature (RFC 7519 §6)."""
    header = {"alg": "none", "typ": "JWT"} | ({"kid": kid} if kid else {})
    return f"{_segment(header)}.{_segment(payload)}."


def hmac_with_public_key(payload: Mapping[str, Any], public_key_pem: bytes, kid: str | None = None) -> str:
    """HS256 keyed with the victim's public key: the algorithm-confusion attack on naive verifiers.

    Built by hand because PyJWT (rightly) refuses a PEM public key as an HMAC secret.
    """
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    signature = hmac.new(public_key_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rogue_key() -> rsa.RSAPrivateKey:
    """A key nobody registered: stands for another environment's or an attacker's signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def signed_with(payload: Mapping[str, Any], key: rsa.RSAPrivateKey, kid: str, algorithm: str = "PS256") -> str:
    return jwt.encode(dict(payload), private_pem(key), algorithm=algorithm, headers={"kid": kid})


def with_altered_payload(token: str, changes: Mapping[str, Any]) -> str:
    """The token with claims changed but its original header and signature kept."""
    header, _, signature = token.split(".")
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return f"{header}.{_segment(claims | dict(changes))}.{signature}"
