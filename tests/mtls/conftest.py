"""A throwaway realm with one mutual-TLS client: the transport is tested apart from the shipped realm."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from keycloak import KeycloakAdmin

from idpkit.keycloak_admin import connect
from idpkit.local.layout import LocalLayout
from idpkit.local.pki import issue_client_certificate
from idpkit.outputs import StackOutputs, load_admin_credentials
from idpkit.realm.bootstrap import create_delegated_realm

PROBE_REALM = "mtls-probe"


@dataclass(frozen=True)
class MtlsClient:
    client_id: str
    certificate: Path
    key: Path
    token_endpoint: str
    """The realm's token endpoint on the M2M listener."""

    @property
    def cert(self) -> tuple[str, str]:
        return str(self.certificate), str(self.key)


def admin_for(outputs: StackOutputs) -> KeycloakAdmin:
    return KeycloakAdmin(connection=connect(outputs, load_admin_credentials(outputs)))


def _subject_dn(certificate: Path) -> str:
    return x509.load_pem_x509_certificate(certificate.read_bytes()).subject.rfc4514_string()


def _ca_dn(pki_ca: Path) -> str:
    return x509.load_pem_x509_certificate(pki_ca.read_bytes()).subject.rfc4514_string()


@pytest.fixture(scope="session")
def probe_realm(live_stack: StackOutputs) -> Iterator[KeycloakAdmin]:
    create_delegated_realm(live_stack, {"realm": PROBE_REALM, "enabled": True, "sslRequired": "all"})
    admin = admin_for(live_stack)
    admin.change_current_realm(PROBE_REALM)
    yield admin
    admin.change_current_realm("master")
    admin.delete_realm(PROBE_REALM)


@pytest.fixture(scope="session")
def register_mtls_client(
    probe_realm: KeycloakAdmin,
    live_stack: StackOutputs,
    local_layout: LocalLayout,
    tmp_path_factory: pytest.TempPathFactory,
):  # type: ignore[no-untyped-def]
    """Issue a certificate for `name` and register a `client-x509` client with certificate-bound tokens."""

    def register(name: str, certificate: tuple[Path, Path] | None = None) -> MtlsClient:
        cert_path, key_path = certificate or issue_client_certificate(
            local_layout.pki, name, tmp_path_factory.mktemp(name)
        )
        probe_realm.create_client(
            {
                "clientId": name,
                "publicClient": False,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "clientAuthenticatorType": "client-x509",
                "attributes": {
                    "x509.subjectdn": _subject_dn(cert_path),
                    "x509.casubjectdn": _ca_dn(local_layout.pki.client_ca),
                    "x509.allow.regex.pattern.comparison": "false",
                    "tls.client.certificate.bound.access.tokens": "true",
                },
            },
            skip_exists=True,
        )
        endpoint = f"{live_stack.m2m_url}/realms/{PROBE_REALM}/protocol/openid-connect/token"
        return MtlsClient(name, cert_path, key_path, endpoint)

    return register
