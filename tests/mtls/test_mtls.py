"""mTLS end to end (RFC 8705): certificate-bound tokens through the front door and the host proxy.

Attacks covered: a client asserting a certificate through a header (RFC 9700 §4.13) on the browser
listener or straight at Keycloak's port; a revoked or untrusted certificate; a bound token replayed
with another certificate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idpkit.local.layout import LocalLayout
from idpkit.local.pki import LocalPki, ensure_pki, issue_client_certificate
from idpkit.outputs import StackOutputs
from tests.conftest import idpkit_json
from tests.mtls.conftest import PROBE_REALM, MtlsClient

CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "openid"}


def _thumbprint(certificate: Path) -> str:
    der = x509.load_pem_x509_certificate(certificate.read_bytes()).public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return loaded


def _token(client: MtlsClient, ca_bundle: str) -> requests.Response:
    return requests.post(
        client.token_endpoint, data={**CLIENT_CREDENTIALS, "client_id": client.client_id},
        cert=client.cert, verify=ca_bundle, timeout=15,
    )  # fmt: skip


@pytest.fixture(scope="module")
def bound_client(register_mtls_client) -> MtlsClient:  # type: ignore[no-untyped-def]
    return register_mtls_client("m2m-bound")


def test_certificate_bound_token_carries_the_certificate_thumbprint(
    bound_client: MtlsClient, live_stack: StackOutputs
) -> None:
    response = _token(bound_client, live_stack.ca_bundle)
    assert response.status_code == 200, f"{bound_client.token_endpoint}: mTLS client refused: {response.text}"
    confirmation = _claims(response.json()["access_token"]).get("cnf")
    assert confirmation == {"x5t#S256": _thumbprint(bound_client.certificate)}, (
        f"{bound_client.client_id}: cnf {confirmation} does not bind the token to its certificate (RFC 8705 §3)"
    )


def test_certificate_whose_base64_contains_plus_authenticates(
    register_mtls_client, local_layout: LocalLayout, live_stack: StackOutputs, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The ALB leaves '+' unescaped; form-decoding would turn it into a space and break the certificate."""
    for attempt in range(50):
        certificate, key = issue_client_certificate(local_layout.pki, f"m2m-plus-{attempt}", tmp_path)
        if "+" in certificate.read_text():
            break
    else:
        pytest.fail("50 certificates without '+' in their base64: the test could not build its input")
    client = register_mtls_client(certificate.stem, (certificate, key))
    response = _token(client, live_stack.ca_bundle)
    assert response.status_code == 200, f"{client.client_id}: certificate with '+' refused: {response.text}"


def test_m2m_listener_refuses_a_token_request_without_certificate(
    bound_client: MtlsClient, live_stack: StackOutputs
) -> None:
    response = requests.post(
        bound_client.token_endpoint, data={**CLIENT_CREDENTIALS, "client_id": bound_client.client_id},
        verify=live_stack.ca_bundle, timeout=15,
    )  # fmt: skip
    assert response.status_code == 400, f"{bound_client.token_endpoint}: no certificate, got {response.status_code}"
    assert "access_token" not in response.text, f"{bound_client.token_endpoint}: issued a token without certificate"


def test_certificate_from_an_untrusted_ca_is_refused(
    register_mtls_client, live_stack: StackOutputs, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    rogue = LocalPki(tmp_path / "rogue")
    ensure_pki(rogue, dns_names=("rogue",), ip_addresses=())
    client = register_mtls_client("m2m-rogue", issue_client_certificate(rogue, "m2m-rogue", tmp_path))
    response = _token(client, live_stack.ca_bundle)
    assert response.status_code == 400, f"{client.client_id}: untrusted CA accepted ({response.status_code})"


def test_revoked_certificate_is_refused(register_mtls_client, live_stack: StackOutputs) -> None:  # type: ignore[no-untyped-def]
    client = register_mtls_client("m2m-revoked")
    assert _token(client, live_stack.ca_bundle).status_code == 200, f"{client.client_id}: refused before revocation"
    revoked = idpkit_json("certs", "revoke", "--stack", "local", "--cert", str(client.certificate))
    assert revoked["front_door_reloaded"] is True, "certs revoke: the front door did not reload the CRL"
    deadline = time.monotonic() + 10
    while (status := _token(client, live_stack.ca_bundle).status_code) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)  # nginx swaps workers after the reload
    assert status == 400, f"{client.client_id}: revoked certificate still accepted ({status})"


def _forged_headers(certificate: Path) -> dict[str, dict[str, str]]:
    pem = certificate.read_text()
    der_base64 = "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)
    return {
        "X-Amzn-Mtls-Clientcert-Leaf": {"X-Amzn-Mtls-Clientcert-Leaf": quote(pem, safe="+=/")},
        "X-Amzn-Mtls-Clientcert": {"X-Amzn-Mtls-Clientcert": quote(pem, safe="+=/")},
        "Client-Cert": {"Client-Cert": f":{der_base64}:"},
        "SSL-Client-Cert": {"SSL-Client-Cert": quote(pem)},
        "X-Forwarded-Client-Cert": {"X-Forwarded-Client-Cert": f"Cert={quote(pem)}"},
    }


FORGED_HEADER_NAMES = ("X-Amzn-Mtls-Clientcert-Leaf", "X-Amzn-Mtls-Clientcert", "Client-Cert", "SSL-Client-Cert",
                       "X-Forwarded-Client-Cert")  # fmt: skip


@pytest.mark.parametrize("header", FORGED_HEADER_NAMES)
@pytest.mark.parametrize("entry_point", ["base_url", "admin_url", "host_proxy_browser"])
def test_forged_certificate_header_authenticates_nobody(
    bound_client: MtlsClient, live_stack: StackOutputs, local_layout: LocalLayout, entry_point: str, header: str
) -> None:
    """RFC 9700 §4.13: certificate headers from clients are stripped or untrusted at every hop."""
    root = (
        f"https://localhost:{local_layout.ports.host_proxy_browser}"
        if entry_point == "host_proxy_browser"
        else getattr(live_stack, entry_point)
    )
    url = f"{root}/realms/{PROBE_REALM}/protocol/openid-connect/token"
    response = requests.post(
        url, data={**CLIENT_CREDENTIALS, "client_id": bound_client.client_id},
        headers=_forged_headers(bound_client.certificate)[header], verify=live_stack.ca_bundle, timeout=15,
    )  # fmt: skip
    assert response.status_code == 401, f"{url}: forged {header} got {response.status_code}, expected 401"
    assert "access_token" not in response.text, f"{url}: forged {header} obtained a token"


def test_bound_token_is_accepted_with_its_own_certificate(bound_client: MtlsClient, live_stack: StackOutputs) -> None:
    """Control for the replay test below: the same call with the right certificate succeeds."""
    token = _token(bound_client, live_stack.ca_bundle).json()["access_token"]
    url = f"{live_stack.m2m_url}/realms/{PROBE_REALM}/protocol/openid-connect/userinfo"
    response = requests.get(
        url, headers={"Authorization": f"Bearer {token}"}, cert=bound_client.cert, verify=live_stack.ca_bundle,
        timeout=15,
    )  # fmt: skip
    assert response.status_code == 200, f"{url}: bound token with its own certificate refused ({response.status_code})"


def test_bound_token_presented_with_another_certificate_is_refused(
    bound_client: MtlsClient, register_mtls_client, live_stack: StackOutputs
) -> None:  # type: ignore[no-untyped-def]
    token = _token(bound_client, live_stack.ca_bundle).json()["access_token"]
    thief = register_mtls_client("m2m-thief")
    url = f"{live_stack.m2m_url}/realms/{PROBE_REALM}/protocol/openid-connect/userinfo"
    response = requests.get(
        url, headers={"Authorization": f"Bearer {token}"}, cert=thief.cert, verify=live_stack.ca_bundle, timeout=15
    )
    assert response.status_code == 401, f"{url}: token bound to another certificate accepted ({response.status_code})"


def test_discovery_advertises_certificate_bound_tokens_and_m2m_aliases(live_stack: StackOutputs) -> None:
    url = f"{live_stack.base_url}/realms/{PROBE_REALM}/.well-known/openid-configuration"
    discovery = requests.get(url, verify=live_stack.ca_bundle, timeout=15).json()
    assert discovery.get("tls_client_certificate_bound_access_tokens") is True, f"{url}: no cert-bound token support"
    aliases = discovery.get("mtls_endpoint_aliases", {})
    assert aliases.get("token_endpoint", "").startswith(live_stack.m2m_url), (
        f"{url}: mtls_endpoint_aliases.token_endpoint {aliases.get('token_endpoint')!r} is not on {live_stack.m2m_url}"
    )
