"""The local stack's network face: HTTPS only, TLS 1.2+, mutual TLS on the M2M listener, admin kept private."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from idpkit.local.layout import LocalLayout
from idpkit.local.pki import LocalPki, ensure_pki, issue_client_certificate
from idpkit.outputs import StackOutputs
from idpkit.smoke.tls_probe import client_context, legacy_tls_server, negotiate

LISTENERS = ("base_url", "m2m_url", "admin_url")
NO_CERTIFICATE_MESSAGE = "No required SSL certificate was sent"


def _address(outputs: StackOutputs, listener: str) -> tuple[str, int]:
    parts = urlsplit(getattr(outputs, listener))
    assert parts.hostname and parts.port, f"{listener}: not a host:port URL"
    return parts.hostname, parts.port


@pytest.fixture(scope="module")
def tls11_server() -> Iterator[tuple[str, int]]:
    """The control: a local server that does accept TLS 1.1."""
    with legacy_tls_server() as address:
        yield address


def test_control_legacy_client_really_speaks_tls11(tls11_server: tuple[str, int]) -> None:
    agreed = negotiate(*tls11_server, client_context(ssl.TLSVersion.TLSv1_1))
    assert agreed == "TLSv1.1", "control: the TLS 1.1 client could not reach a TLS 1.1 server; the refusal test is void"


@pytest.mark.parametrize("listener", LISTENERS)
def test_tls11_is_refused(live_stack: StackOutputs, listener: str) -> None:
    agreed = negotiate(*_address(live_stack, listener), client_context(ssl.TLSVersion.TLSv1_1))
    assert agreed is None, f"{listener}: accepted a {agreed} handshake; TLS < 1.2 must be refused (BCP 195)"


@pytest.mark.parametrize("listener", LISTENERS)
def test_tls12_is_accepted(live_stack: StackOutputs, listener: str) -> None:
    agreed = negotiate(*_address(live_stack, listener), client_context(ssl.TLSVersion.TLSv1_2))
    assert agreed == "TLSv1.2", f"{listener}: refused TLS 1.2, which clients rely on (BCP 195)"


@pytest.mark.parametrize("listener", LISTENERS)
def test_plain_http_is_refused(live_stack: StackOutputs, listener: str) -> None:
    host, port = _address(live_stack, listener)
    try:
        response = requests.get(f"http://{host}:{port}/realms/{live_stack.realm}", timeout=5)
    except requests.ConnectionError:
        return
    assert response.status_code >= 400, f"{listener}: answered plain HTTP with {response.status_code}"
    assert "realm" not in response.text, f"{listener}: served Keycloak content over plain HTTP"


def test_master_discovery_is_served_over_https_verified_with_the_kit_ca(live_stack: StackOutputs) -> None:
    url = f"{live_stack.admin_url}/realms/master/.well-known/openid-configuration"
    response = requests.get(url, verify=live_stack.ca_bundle, timeout=10)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    assert response.json()["issuer"].startswith("https://"), f"{url}: issuer is not an https URL"


def test_front_door_certificate_is_verified_by_the_kit_ca(live_stack: StackOutputs) -> None:
    response = requests.get(f"{live_stack.base_url}/realms/{live_stack.realm}", verify=live_stack.ca_bundle, timeout=10)
    assert response.status_code in (200, 404), f"{live_stack.base_url}: unexpected {response.status_code}"
    assert "nginx" not in response.text, f"{live_stack.base_url}: the front door did not reach Keycloak"


def test_management_port_listens_only_on_loopback(local_layout: LocalLayout, live_stack: StackOutputs) -> None:
    port = local_layout.ports.management
    addresses = _listening_addresses(port)
    assert addresses, f"management port {port}: nothing listens (expected Keycloak's health endpoint)"
    exposed = [address for address in addresses if not address.startswith(("127.", "::ffff:127.", "::1"))]
    assert not exposed, f"management port {port}: listens on {exposed}, must be loopback only"


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/realms", "/admin/master/console/", "/realms/master/.well-known/openid-configuration"]
)
@pytest.mark.parametrize("listener", ["base_url", "m2m_url"])
def test_admin_is_not_reachable_through_public_listeners(
    live_stack: StackOutputs, client_certificate: tuple[Path, Path], listener: str, path: str
) -> None:
    url = f"{getattr(live_stack, listener)}{path}"
    response = requests.get(
        url, verify=live_stack.ca_bundle, cert=tuple(map(str, client_certificate)), timeout=10, allow_redirects=False
    )
    assert response.status_code == 404, f"{url}: answered {response.status_code}; admin must not be public"


@pytest.fixture(scope="module")
def client_certificate(local_layout: LocalLayout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return issue_client_certificate(local_layout.pki, "front-door-test", tmp_path_factory.mktemp("client"))


def test_m2m_refuses_a_client_without_certificate(live_stack: StackOutputs) -> None:
    url = f"{live_stack.m2m_url}/realms/{live_stack.realm}"
    response = requests.get(url, verify=live_stack.ca_bundle, timeout=10)
    assert response.status_code == 400, f"{url}: no client certificate, yet answered {response.status_code}"
    assert NO_CERTIFICATE_MESSAGE in response.text, f"{url}: request without certificate reached Keycloak"


def test_m2m_refuses_a_certificate_from_another_ca(live_stack: StackOutputs, tmp_path: Path) -> None:
    rogue = LocalPki(tmp_path / "rogue")
    ensure_pki(rogue, dns_names=("rogue",), ip_addresses=())
    certificate, key = issue_client_certificate(rogue, "rogue-client", tmp_path)
    url = f"{live_stack.m2m_url}/realms/{live_stack.realm}"
    response = requests.get(url, verify=live_stack.ca_bundle, cert=(str(certificate), str(key)), timeout=10)
    assert response.status_code == 400, f"{url}: untrusted client certificate answered {response.status_code}"


def test_m2m_accepts_a_certificate_from_the_kit_client_ca(
    live_stack: StackOutputs, client_certificate: tuple[Path, Path]
) -> None:
    url = f"{live_stack.m2m_url}/realms/{live_stack.realm}"
    response = requests.get(url, verify=live_stack.ca_bundle, cert=tuple(map(str, client_certificate)), timeout=10)
    assert response.status_code in (200, 404), f"{url}: kit client certificate answered {response.status_code}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), f"{url}: did not reach Keycloak"


def _listening_addresses(port: int) -> list[str]:
    """Local addresses with a TCP socket listening on `port`, from the kernel's tables."""
    found = []
    for table, width in ((Path("/proc/net/tcp"), 8), (Path("/proc/net/tcp6"), 32)):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address_hex, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.append(_decode_address(address_hex, width))
    return found


def _decode_address(address_hex: str, width: int) -> str:
    raw = bytes.fromhex(address_hex)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)
