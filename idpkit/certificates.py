"""Self-signed certificates the kit makes for itself: imported signing keys, mock stand-ins, TLS probes."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# Issued slightly in the past, so a verifier whose clock lags a little accepts it at once.
_CLOCK_SKEW = dt.timedelta(minutes=5)


def self_signed_pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    common_name: str,
    valid_for: dt.timedelta,
    *,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
) -> str:
    """A PEM certificate for `key`, issued by itself to CN=`common_name`, valid from now for `valid_for`;
    with `dns_names`/`ip_addresses`, a subjectAltName naming them (what TLS clients verify)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + valid_for)
    )
    alternative: list[x509.GeneralName] = [x509.DNSName(dns) for dns in dns_names]
    alternative += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    if alternative:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """Unencrypted PKCS#8 PEM: callers keep it in memory or in 0600 files only."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
