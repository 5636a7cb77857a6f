"""The local stack's PKI: a server CA for TLS, a client CA for mutual TLS, and its CRL.

On AWS the server certificates come from ACM and the client CA bundle and CRL live in S3 for the
load balancer's trust store; locally the kit plays both roles with the same file formats.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idpkit.system.files import write_private, write_public

_CA_LIFETIME = dt.timedelta(days=5 * 365)
_LEAF_LIFETIME = dt.timedelta(days=365)
_RENEW_BEFORE = dt.timedelta(days=30)
_CRL_LIFETIME = dt.timedelta(days=30)
_ORGANIZATION = "idpkit local stack"
LOCAL_CLIENT_CA = x509.Name(
    [x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
     x509.NameAttribute(NameOID.COMMON_NAME, "idpkit local client CA")]
)  # fmt: skip
# The client CA an AWS stack's security team keeps offline (`idpkit certs init-ca --ca-dir`); the realm's
# mTLS clients name it in x509.casubjectdn.
OFFLINE_CLIENT_CA = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idpkit"),
        x509.NameAttribute(NameOID.COMMON_NAME, "idpkit client CA"),
    ]
)


@dataclass(frozen=True)
class LocalPki:
    """Paths of the local stack's PKI material."""

    directory: Path

    @property
    def server_ca(self) -> Path:
        """The `ca_bundle` output: verifies every server certificate of the local stack."""
        return self.directory / "server-ca.pem"

    @property
    def server_ca_key(self) -> Path:
        return self.directory / "server-ca.key"

    @property
    def server_certificate(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_ca(self) -> Path:
        return self.directory / "client-ca.pem"

    @property
    def client_ca_key(self) -> Path:
        return self.directory / "client-ca.key"

    @property
    def client_ca_bundle(self) -> Path:
        """What the M2M listener trusts: the equivalent of the load balancer's trust-store bundle."""
        return self.directory / "client-ca-bundle.pem"

    @property
    def crl(self) -> Path:
        """Revoked client certificates, signed by the client CA."""
        return self.directory / "client-ca.crl.pem"


def ensure_pki(pki: LocalPki, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> bool:
    """Create whatever is missing or near expiry; returns True when anything was (re)written."""
    pki.directory.mkdir(parents=True, exist_ok=True)
    changed = False
    if not _valid(pki.server_ca, pki.server_ca_key):
        _write_ca(pki.server_ca, pki.server_ca_key, _name("idpkit local server CA"))
        changed = True
    if changed or not _valid(pki.server_certificate, pki.server_key):
        _write_server_certificate(pki, dns_names, ip_addresses)
        changed = True
    return ensure_client_ca(pki) or changed


def ensure_client_ca(pki: LocalPki, name: x509.Name = LOCAL_CLIENT_CA) -> bool:
    """The client CA, its trust bundle and its CRL; True when they were (re)created."""
    pki.directory.mkdir(parents=True, exist_ok=True)
    if _valid(pki.client_ca, pki.client_ca_key):
        return False
    _write_ca(pki.client_ca, pki.client_ca_key, name)
    write_public(pki.client_ca_bundle, pki.client_ca.read_bytes())
    revoked_serials_file(pki).unlink(missing_ok=True)
    write_crl(pki, revoked_serials=())
    return True


def write_crl(pki: LocalPki, revoked_serials: tuple[int, ...]) -> None:
    ca_certificate = _load_certificate(pki.client_ca)
    ca_key = _load_key(pki.client_ca_key)
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate.subject)
        .last_update(now)
        .next_update(now + _CRL_LIFETIME)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    write_public(pki.crl, crl.public_bytes(serialization.Encoding.PEM))


def _valid(certificate_path: Path, key_path: Path) -> bool:
    if not (certificate_path.exists() and key_path.exists()):
        return False
    certificate = _load_certificate(certificate_path)
    return certificate.not_valid_after_utc - _RENEW_BEFORE > _now()


def _write_ca(certificate_path: Path, key_path: Path, name: x509.Name) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))
    write_public(certificate_path, certificate.public_bytes(serialization.Encoding.PEM))


def _write_server_certificate(pki: LocalPki, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> None:
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alternative_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _sign_leaf(
        pki.server_ca, pki.server_ca_key, _name(dns_names[0]), key,
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), x509.SubjectAlternativeName(alternative_names),
    )  # fmt: skip
    write_private(pki.server_key, _key_pem(key), service_readable=True)
    write_public(pki.server_certificate, certificate.public_bytes(serialization.Encoding.PEM))


def _sign_leaf(
    ca_certificate_path: Path,
    ca_key_path: Path,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    usage: x509.ExtendedKeyUsage,
    alternative_names: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    ca_certificate = _load_certificate(ca_certificate_path)
    ca_key = _load_key(ca_key_path)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if alternative_names is not None:
        builder = builder.add_extension(alternative_names, critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path}: expected an EC private key")
    return key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def issue_client_certificate(pki: LocalPki, common_name: str, out_dir: Path) -> tuple[Path, Path]:
    """A client certificate signed by the client CA; returns (certificate path, 0600 key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    # The subject is the CN alone, so a client's registered DN (`x509.subjectdn: CN=NAME`) is the same in
    # every environment, whichever CA issued the certificate.
    certificate = _sign_leaf(
        pki.client_ca,
        pki.client_ca_key,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
        key,
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    certificate_path = out_dir / f"{common_name}.pem"
    key_path = out_dir / f"{common_name}.key"
    write_private(key_path, _key_pem(key))
    write_public(certificate_path, certificate.public_bytes(serialization.Encoding.PEM))
    return certificate_path, key_path


def revoked_serials_file(pki: LocalPki) -> Path:
    return pki.directory / "revoked-serials.json"


def revoke_certificate(pki: LocalPki, certificate_path: Path) -> tuple[int, bool]:
    """Put a client certificate on the CRL; returns (serial, True if it was newly revoked)."""
    certificate = _load_certificate(certificate_path)
    ca_certificate = _load_certificate(pki.client_ca)
    if certificate.issuer != ca_certificate.subject:
        raise ValueError(f"{certificate_path}: not issued by the client CA {ca_certificate.subject.rfc4514_string()}")
    serials = revoked_serials(pki)
    newly = certificate.serial_number not in serials
    if newly:
        serials = (*serials, certificate.serial_number)
        write_public(revoked_serials_file(pki), json.dumps([str(serial) for serial in serials]))
    write_crl(pki, serials)
    return certificate.serial_number, newly


def revoked_serials(pki: LocalPki) -> tuple[int, ...]:
    try:
        return tuple(int(serial) for serial in json.loads(revoked_serials_file(pki).read_text()))
    except FileNotFoundError:
        return ()
