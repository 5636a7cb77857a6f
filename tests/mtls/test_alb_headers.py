"""The front door emits exactly the ALB verify-mode headers, with ALB's encoding, and nothing a client forged.

The shipped front-door configuration is rendered for a scratch layout and run by a second nginx whose
upstreams (the host-proxy ports) are a recording HTTPS server, so the headers are read as they leave
the front door.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509

from idpkit.local import front_door
from idpkit.local.layout import HOSTNAME, LOOPBACK, LocalLayout, LocalPorts
from idpkit.local.pki import ensure_pki, issue_client_certificate
from idpkit.local.stack import front_door_settings
from idpkit.system.process import ManagedProcess

SCRATCH_PORTS = LocalPorts(browser=28443, m2m=28444, keycloak=28445, host_proxy_browser=28446, host_proxy_m2m=28447)
ALB_HEADERS = ("X-Amzn-Mtls-Clientcert-Leaf", "X-Amzn-Mtls-Clientcert-Serial-Number", "X-Amzn-Mtls-Clientcert-Issuer",
               "X-Amzn-Mtls-Clientcert-Subject", "X-Amzn-Mtls-Clientcert-Validity")  # fmt: skip


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[dict[int, dict[str, str]]] = {}

    def do_GET(self) -> None:
        _Recorder.received[self.server.server_address[1]] = dict(self.headers.items())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


def _serve_recorder(port: int, certificate: Path, key: Path) -> http.server.HTTPServer:
    server = http.server.HTTPServer((LOOPBACK, port), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def scratch_front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLayout]:
    layout = LocalLayout(root=tmp_path_factory.mktemp("front-door"), ports=SCRATCH_PORTS)
    for directory in (layout.run, layout.logs, layout.nginx_dir / "tmp"):
        directory.mkdir(parents=True)
    ensure_pki(layout.pki, dns_names=(HOSTNAME,), ip_addresses=(LOOPBACK,))
    conf, _changed = front_door.write_configuration(front_door_settings(layout, account=None))
    recorders = [
        _serve_recorder(port, layout.pki.server_certificate, layout.pki.server_key)
        for port in (SCRATCH_PORTS.host_proxy_browser, SCRATCH_PORTS.host_proxy_m2m)
    ]
    nginx = ManagedProcess("nginx", layout.run / "nginx.pid", layout.logs / "nginx.log")
    binary = front_door.nginx_binary()
    front_door.check_config(binary, conf, layout.nginx_dir)
    nginx.start(front_door.nginx_command(binary, conf, layout.nginx_dir), env={}, cwd=layout.nginx_dir, account=None)
    time.sleep(1)
    yield layout
    nginx.stop()
    for recorder in recorders:
        recorder.shutdown()


@pytest.fixture(scope="module")
def plus_certificate(scratch_front_door: LocalLayout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A client certificate whose PEM contains '+', so the encoding of '+' is exercised."""
    out = tmp_path_factory.mktemp("clients")
    for attempt in range(50):
        certificate, key = issue_client_certificate(scratch_front_door.pki, f"alb-{attempt}", out)
        if "+" in certificate.read_text():
            return certificate, key
    pytest.fail("50 certificates without '+': the test could not build its input")


@pytest.fixture(scope="module")
def forwarded_m2m(scratch_front_door: LocalLayout, plus_certificate: tuple[Path, Path]) -> dict[str, str]:
    forged = dict.fromkeys(ALB_HEADERS, "forged") | {"Client-Cert": ":Zm9yZ2Vk:"}
    response = requests.get(
        f"https://{HOSTNAME}:{SCRATCH_PORTS.m2m}/realms/phi", headers=forged,
        cert=tuple(map(str, plus_certificate)), verify=str(scratch_front_door.pki.server_ca), timeout=10,
    )  # fmt: skip
    assert response.status_code == 204, f"scratch M2M listener: {response.status_code} {response.text[:200]}"
    return _Recorder.received[SCRATCH_PORTS.host_proxy_m2m]


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_leaf_header_is_the_pem_url_encoded_with_plus_equals_slash_unescaped(
    forwarded_m2m: dict[str, str], plus_certificate: tuple[Path, Path]
) -> None:
    expected = quote(plus_certificate[0].read_text(), safe="+=/")
    assert forwarded_m2m.get("X-Amzn-Mtls-Clientcert-Leaf") == expected, (
        "front door M2M: X-Amzn-Mtls-Clientcert-Leaf is not ALB's encoding of the verified leaf"
    )


def test_serial_number_header_is_the_hexadecimal_serial(
    forwarded_m2m: dict[str, str], plus_certificate: tuple[Path, Path]
) -> None:
    serial = int(forwarded_m2m.get("X-Amzn-Mtls-Clientcert-Serial-Number", "0"), 16)
    assert serial == _certificate(plus_certificate[0]).serial_number, "front door M2M: wrong serial number header"


@pytest.mark.parametrize(("header", "attribute"), [("Subject", "subject"), ("Issuer", "issuer")])
def test_distinguished_name_headers_are_rfc2253(
    forwarded_m2m: dict[str, str], plus_certificate: tuple[Path, Path], header: str, attribute: str
) -> None:
    expected = getattr(_certificate(plus_certificate[0]), attribute).rfc4514_string()
    assert forwarded_m2m.get(f"X-Amzn-Mtls-Clientcert-{header}") == expected, f"front door M2M: wrong {header} header"


def test_validity_header_is_iso8601(forwarded_m2m: dict[str, str], plus_certificate: tuple[Path, Path]) -> None:
    certificate = _certificate(plus_certificate[0])
    expected = (
        f"NotBefore={certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%S}Z;"
        f"NotAfter={certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%S}Z"
    )
    assert forwarded_m2m.get("X-Amzn-Mtls-Clientcert-Validity") == expected, "front door M2M: wrong validity header"


def test_client_supplied_rfc9440_header_is_not_forwarded(forwarded_m2m: dict[str, str]) -> None:
    assert "Client-Cert" not in forwarded_m2m, "front door M2M: forwarded a client-supplied Client-Cert header"


@pytest.mark.parametrize("header", [*ALB_HEADERS, "Client-Cert", "X-Forwarded-Client-Cert"])
def test_browser_listener_forwards_no_certificate_header(scratch_front_door: LocalLayout, header: str) -> None:
    response = requests.get(
        f"https://{HOSTNAME}:{SCRATCH_PORTS.browser}/realms/phi", headers={header: "forged"},
        verify=str(scratch_front_door.pki.server_ca), timeout=10,
    )  # fmt: skip
    assert response.status_code == 204, f"scratch browser listener: {response.status_code}"
    forwarded = _Recorder.received[SCRATCH_PORTS.host_proxy_browser]
    assert header not in forwarded, f"front door browser listener: forwarded client-supplied {header} (RFC 9700 §4.13)"
