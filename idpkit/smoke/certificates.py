"""The client certificate the smoke suite presents on the M2M (mutual TLS) listener.

One certificate serves both certificate-bound clients: smoke-mtls authenticates with it
(client-x509, subject exactly `CN=smoke-mtls`) and smoke-backend binds its private_key_jwt tokens to
it (the holder-of-key policy needs some certificate from the trusted client CA).

- Local stack: issued on the fly by the stack's client CA (`idpkit.local.pki`).
- Deployed stacks: the certificate and key the security team issued from the offline client CA
  (`idpkit certs issue ... --cn smoke-mtls`), named by the environment variables
  IDPKIT_SMOKE_CLIENT_CERT and IDPKIT_SMOKE_CLIENT_KEY (PEM file paths).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from idpkit.local.layout import LocalLayout
from idpkit.local.pki import issue_client_certificate
from idpkit.outputs import LOCAL_STACK

SMOKE_MTLS_CN = "smoke-mtls"
CERT_VARIABLE = "IDPKIT_SMOKE_CLIENT_CERT"
KEY_VARIABLE = "IDPKIT_SMOKE_CLIENT_KEY"


@dataclass(frozen=True)
class ClientCertificate:
    certificate: Path
    key: Path

    @property
    def requests_cert(self) -> tuple[str, str]:
        """The `cert=` argument of requests."""
        return str(self.certificate), str(self.key)


class MissingClientCertificateError(Exception):
    """A deployed stack's smoke run was not given the smoke-mtls certificate."""


def smoke_client_certificate(stack: str, directory: Path) -> ClientCertificate:
    """The smoke-mtls client certificate for `stack`; on the local stack a fresh one in `directory`."""
    if stack == LOCAL_STACK:
        certificate, key = issue_client_certificate(LocalLayout.for_stack(stack).pki, SMOKE_MTLS_CN, directory)
        return ClientCertificate(certificate, key)
    certificate_path, key_path = os.environ.get(CERT_VARIABLE), os.environ.get(KEY_VARIABLE)
    if not certificate_path or not key_path:
        raise MissingClientCertificateError(
            f"stack {stack!r}: set {CERT_VARIABLE} and {KEY_VARIABLE} to the {SMOKE_MTLS_CN} certificate and key"
        )
    return ClientCertificate(Path(certificate_path), Path(key_path))
