"""The rehearsal's certificates: what ACM, RDS and the security team provide on AWS, made here.

- Server CA and one server certificate naming the public and mTLS host names (ACM on AWS) and the RDS
  endpoint (RDS's regional CA on AWS); the CA is served as the region's RDS bundle and is the rehearsal's
  `ca_bundle` (AWS: the public CAs of the system trust store).
- The client CA (`idpkit certs init-ca` on AWS, kept offline) with its CRL: the ALB trust store.
- The host certificate, self-signed for `localhost` exactly as docs/aws.md has operators make it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from idpkit.certificates import private_key_pem, self_signed_pem
from idpkit.local.pki import OFFLINE_CLIENT_CA, LocalPki, ensure_client_ca, ensure_pki, issue_client_certificate
from idpkit.smoke.certificates import common_names
from idpkit.system.files import write_private, write_public

HOST_CERTIFICATE_LIFETIME = dt.timedelta(days=30)


def ensure(pki: LocalPki, names: tuple[str, ...], addresses: tuple[str, ...]) -> None:
    """Server CA and certificate for `names`, and the client CA the realm-config of AWS stacks names."""
    # The client CA first: ensure_pki would otherwise create the local stack's client CA name.
    ensure_client_ca(pki, OFFLINE_CLIENT_CA)
    ensure_pki(pki, dns_names=names, ip_addresses=addresses)


def host_certificate(directory: Path) -> tuple[str, str]:
    """(certificate PEM, key PEM) for CN/SAN localhost, made once."""
    certificate, key = directory / "host.pem", directory / "host.key"
    if not certificate.exists():
        directory.mkdir(parents=True, exist_ok=True)
        private = ec.generate_private_key(ec.SECP256R1())
        write_private(key, private_key_pem(private))
        pem = self_signed_pem(
            private, "localhost", HOST_CERTIFICATE_LIFETIME, dns_names=("localhost",), ip_addresses=("127.0.0.1",)
        )
        write_public(certificate, pem)
    return certificate.read_text(), key.read_text()


def smoke_clients(pki: LocalPki, directory: Path) -> Path:
    """The smoke suite's client certificates from the client CA (`idpkit certs issue` on AWS), one per role,
    as `<role>.pem`/`<role>.key` in `directory` (IDPKIT_SMOKE_CLIENT_CERTS)."""
    for role, common_name in common_names().items():
        certificate = directory / f"{role}.pem"
        if certificate.exists():
            continue
        issued, key = issue_client_certificate(pki, common_name, directory)
        issued.replace(certificate)
        key.replace(directory / f"{role}.key")
    return directory
