"""Self-signed certificates the kit makes for itself: imported signing keys, mock stand-ins, TLS probes."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# Issued slightly in the past, so a verifier whose clock lags a little accepts it at once.
_CLOCK_SKEW = dt.timedelta(minutes=5)


def self_signed_pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, common_name: str, valid_for: dt.timedelta
) -> str:
    """A PEM certificate for `key`, issued by itself to CN=`common_name`, valid from now for `valid_for`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + valid_for)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """Unencrypted PKCS#8 PEM: callers keep it in memory or in 0600 files only."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
