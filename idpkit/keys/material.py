"""Key material the kit generates itself, so it can be stored encrypted and restored byte for byte.

Keycloak 26.7 imports RSA keys through the `rsa` provider (PEM private key + certificate) but has no
provider that imports an EC PEM. The `ecdsa-generated` provider keeps whatever `ecdsaPrivateKey` /
`ecdsaPublicKey` it is given (it generates only when they are absent, GeneratedEcdsaKeyProviderFactory
.validateConfiguration) and the admin API never returns them, so ES256 keys are imported that way.
Either way Keycloak derives the `kid` from the public key, so a restored key keeps its `kid`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idpkit.certificates import self_signed_pem
from idpkit.errors import ExitCode, IdpkitError

ALGORITHMS = ("PS256", "ES256")
RSA_KEY_BITS = 2048
"""FAPI 2.0 asks for RSA >= 2048; larger keys cost Keycloak CPU on every token it signs."""
CERTIFICATE_DAYS = 730
"""Longer than any rotation interval: the certificate only carries the key in `x5c`, nobody trusts its chain."""
PROVIDER_IDS = {"PS256": "rsa", "ES256": "ecdsa-generated"}


@dataclass(frozen=True)
class KeyMaterial:
    """One signing key pair; `secret` fields never leave the key store."""

    algorithm: str
    private_key_pem: str
    public_key_pem: str
    certificate_pem: str | None

    def __repr__(self) -> str:  # tracebacks and logs must never show the private key
        return f"KeyMaterial({self.algorithm}, {self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the public key (SubjectPublicKeyInfo DER), safe to print and audit."""
        return "sha256:" + hashlib.sha256(_public_der(self.public_key_pem)).hexdigest()

    def component_config(self, *, priority: int, active: bool, enabled: bool) -> dict[str, list[str]]:
        """The key-provider component config that imports this material (values are lists of strings)."""
        config = {
            "priority": [str(priority)],
            "enabled": [_flag(enabled)],
            "active": [_flag(active)],
        }
        if self.algorithm == "PS256":
            assert self.certificate_pem is not None, "PS256 material always carries a certificate"
            return config | {
                "algorithm": ["PS256"],
                "privateKey": [self.private_key_pem],
                "certificate": [self.certificate_pem],
            }
        private = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        private_der = private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return config | {
            "ecdsaEllipticCurveKey": ["P-256"],
            "ecdsaPrivateKey": [base64.b64encode(private_der).decode()],
            "ecdsaPublicKey": [base64.b64encode(_public_der(self.public_key_pem)).decode()],
        }


def generate(algorithm: str, subject: str) -> KeyMaterial:
    """New key material for `algorithm` (PS256: RSA with a self-signed certificate; ES256: P-256)."""
    if algorithm not in ALGORITHMS:
        raise IdpkitError(
            f"algorithm {algorithm!r}: the kit rotates {' or '.join(ALGORITHMS)} keys only", exit_code=ExitCode.USAGE
        )
    if algorithm == "PS256":
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(65537, RSA_KEY_BITS)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    certificate = self_signed_pem(key, subject, dt.timedelta(days=CERTIFICATE_DAYS)) if algorithm == "PS256" else None
    return KeyMaterial(algorithm, private_pem, public_pem, certificate)


def public_key_fingerprint(public_key_b64: str) -> str:
    """Fingerprint of a key as Keycloak's `GET /keys` returns it (base64 SubjectPublicKeyInfo)."""
    return "sha256:" + hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()


def _public_der(public_key_pem: str) -> bytes:
    public = serialization.load_pem_public_key(public_key_pem.encode())
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _flag(value: bool) -> str:
    return "true" if value else "false"
