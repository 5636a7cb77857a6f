"""The client certificates the smoke suite presents on the M2M (mutual TLS) listener.

One certificate, with smoke-mtls's registered subject, serves both certificate-bound clients:
smoke-mtls authenticates with it (client-x509) and smoke-backend binds its private_key_jwt tokens
to it. The attacks present two more from the same trusted CA: one with another subject, and one
whose subject differs from the registered DN only where a regular expression would not notice
(`.` read as "any character"), which only exact DN matching refuses.

The subjects come from realm-config (smoke-mtls's `x509.subjectdn`, the one owner of that fact):

- Local stack: issued on the fly by the stack's client CA (`idpkit.local.pki`).
- Deployed stacks: issued by the security team from the offline client CA
  (`idpkit certs issue --subject CN=...`) into one directory named by IDPKIT_SMOKE_CLIENT_CERTS,
  as `<role>.pem` and `<role>.key` for each role below.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from idpkit.local.layout import LocalLayout
from idpkit.local.pki import issue_client_certificate
from idpkit.outputs import LOCAL_STACK
from idpkit.realm import loader

SMOKE_MTLS_CLIENT = "smoke-mtls"
SUBJECT_ATTRIBUTE = "x509.subjectdn"
DIRECTORY_VARIABLE = "IDPKIT_SMOKE_CLIENT_CERTS"
_CN_ONLY = re.compile(r"^CN=([^,=+]+)$")


class Role(StrEnum):
    """Which certificate: the client's own, or one of the attacks'."""

    CLIENT = "smoke-mtls"
    OTHER_SUBJECT = "other-subject"
    LOOKALIKE_SUBJECT = "lookalike-subject"


@dataclass(frozen=True)
class ClientCertificate:
    subject: str
    certificate: Path
    key: Path

    @property
    def requests_cert(self) -> tuple[str, str]:
        """The `cert=` argument of requests."""
        return str(self.certificate), str(self.key)


class MissingClientCertificateError(Exception):
    """A deployed stack's smoke run was not given the certificate a check needs."""


def registered_common_name() -> str:
    """The CN smoke-mtls's registered subject DN names (realm-config/fragments/smoke.yaml)."""
    clients = {client.client_id: client for client in loader.load(LOCAL_STACK).document.clients or []}
    subject = (clients[SMOKE_MTLS_CLIENT].attributes or {}).get(SUBJECT_ATTRIBUTE, "")
    match = _CN_ONLY.match(subject)
    if match is None:
        raise ValueError(f"realm-config: {SMOKE_MTLS_CLIENT} {SUBJECT_ATTRIBUTE} {subject!r} is not CN=<name> alone")
    return match.group(1)


def common_names() -> dict[Role, str]:
    """The CN of each role's certificate, derived from the registered one."""
    registered = registered_common_name()
    if "." not in registered:
        raise ValueError(f"{SMOKE_MTLS_CLIENT}'s CN {registered!r} has no '.': a regex match would look exact")
    return {
        Role.CLIENT: registered,
        Role.OTHER_SUBJECT: f"{registered}-other",
        Role.LOOKALIKE_SUBJECT: registered.replace(".", "-"),
    }


def certificate_for(stack: str, role: Role, directory: Path) -> ClientCertificate:
    """The certificate of `role` for `stack`; on the local stack a fresh one in `directory`."""
    common_name = common_names()[role]
    if stack == LOCAL_STACK:
        certificate, key = issue_client_certificate(LocalLayout.for_stack(stack).pki, common_name, directory)
        return ClientCertificate(f"CN={common_name}", certificate, key)
    source = os.environ.get(DIRECTORY_VARIABLE)
    certificate, key = (Path(source or "") / f"{role}.pem", Path(source or "") / f"{role}.key")
    if not source or not (certificate.is_file() and key.is_file()):
        raise MissingClientCertificateError(
            f"no {role} client certificate (subject CN={common_name}): set {DIRECTORY_VARIABLE} to a directory "
            f"holding {role}.pem and {role}.key issued by the client CA"
        )
    return ClientCertificate(f"CN={common_name}", certificate, key)
