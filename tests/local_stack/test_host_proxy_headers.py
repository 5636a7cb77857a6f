"""The host proxy's header handling, on real HAProxy with the AWS hosts' configuration, observed at its upstream.

The rendered `haproxy.cfg` (idpkit/keycloak_server/host_proxy.py) runs against a recording HTTPS upstream
in place of Keycloak, so what the proxy forwards is read byte for byte:
- the ALB's `X-Amzn-Mtls-Clientcert-Leaf` (PEM URL-encoded with `+`, `=` and `/` unescaped) becomes RFC 9440
  `Client-Cert: :base64(DER):` for a class of certificates, generated until every base64 character that
  URL encoding treats specially (`+`, `/`, `=`) has been seen;
- every certificate header a client sends is dropped on both ports;
- private paths answer 404 in every spelling that decodes to them.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import ssl
import subprocess
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idpkit.certificates import private_key_pem, self_signed_pem
from idpkit.keycloak_server.host_proxy import (
    CLIENT_CERTIFICATE_HEADERS,
    LEAF_HEADER,
    RFC9440_HEADER,
    HostProxySettings,
    check_config,
    haproxy_binary,
    proxy_command,
    render_haproxy_conf,
)

BROWSER, M2M, UPSTREAM = 28543, 28545, 28544
CERTIFICATES = 24
PRIVATE_SPELLINGS = ["/admin", "/admin/", "//admin", "/Admin/master", "/%61dmin", "/admin;x=1", "/realms/master",
                     "/realms//master/", "/REALMS/MASTER/protocol", "/realms/%6daster"]  # fmt: skip


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        _Recorder.received.append({name.lower(): value for name, value in self.headers.items()})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Real HAProxy with the hosts' configuration; yields the CA file that verifies its certificate."""
    directory = tmp_path_factory.mktemp("host-proxy")
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_pem(key, "localhost", dt.timedelta(days=1), dns_names=("localhost",))
    (directory / "host.pem").write_text(certificate)
    (directory / "host.key").write_text(private_key_pem(key))
    (directory / "proxy.pem").write_text(certificate + private_key_pem(key))
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", UPSTREAM), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "host.pem", directory / "host.key")
    upstream.socket = context.wrap_socket(upstream.socket, server_side=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    settings = HostProxySettings(
        bind_address="127.0.0.1", browser_port=BROWSER, m2m_port=M2M, keycloak_port=UPSTREAM,
        certificate_bundle=str(directory / "proxy.pem"), keycloak_ca_file=str(directory / "host.pem"),
        keycloak_server_name="localhost",
    )  # fmt: skip
    conf = directory / "haproxy.cfg"
    conf.write_text(render_haproxy_conf(settings))
    binary = haproxy_binary()
    check_config(binary, conf)
    process = subprocess.Popen(proxy_command(binary, conf), stderr=subprocess.PIPE)
    time.sleep(1)
    yield directory / "host.pem"
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


def _send(
    ca: Path, port: int, path: str = "/realms/phi", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    _Recorder.received.clear()
    response = requests.get(f"https://localhost:{port}{path}", headers=headers or {}, verify=str(ca), timeout=10)
    return response.status_code, (_Recorder.received[-1] if _Recorder.received else {})


def _certificates() -> list[x509.Certificate]:
    """Client certificates until their PEMs have shown `+`, `/` and `=` (RSA and EC, as partners use)."""
    made: list[x509.Certificate] = []
    seen: set[str] = set()
    while len(made) < CERTIFICATES or not {"+", "/", "="} <= seen:
        key = rsa.generate_private_key(65537, 2048) if len(made) % 2 else ec.generate_private_key(ec.SECP384R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"partner-{len(made)}")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        seen |= {character for character in "+/=" if character in pem}
        made.append(certificate)
    return made


@pytest.mark.parametrize("certificate", _certificates(), ids=lambda c: c.subject.rfc4514_string())
def test_alb_leaf_becomes_the_rfc9440_certificate(proxy: Path, certificate: x509.Certificate) -> None:
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    status, forwarded = _send(proxy, M2M, headers={LEAF_HEADER: quote(pem, safe="+=/")})
    assert status == 204, f"host proxy M2M port answered {status}"
    value = forwarded.get(RFC9440_HEADER.lower(), "")
    assert value.startswith(":") and value.endswith(":"), f"{RFC9440_HEADER} {value!r} is not an RFC 9440 byte sequence"
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(value.strip(":")) == der, (
        f"host proxy M2M: {RFC9440_HEADER} is not the DER of the verified leaf ({certificate.subject.rfc4514_string()})"
    )


@pytest.mark.parametrize("port", [BROWSER, M2M], ids=["browser", "m2m"])
@pytest.mark.parametrize("header", CLIENT_CERTIFICATE_HEADERS)
def test_client_supplied_certificate_headers_never_reach_keycloak(proxy: Path, port: int, header: str) -> None:
    forged = ":Zm9yZ2Vk:" if header == RFC9440_HEADER else "forged"
    status, forwarded = _send(proxy, port, headers={header: forged})
    assert status == 204, f"host proxy port {port} answered {status}"
    assert header.lower() not in forwarded, (
        f"host proxy port {port}: forwarded client-supplied {header} (RFC 9700 §4.13)"
    )


def test_browser_port_ignores_an_alb_leaf_header(proxy: None) -> None:
    _status, forwarded = _send(proxy, BROWSER, headers={LEAF_HEADER: "-----BEGIN%20CERTIFICATE-----%0AMIIB%0A"})
    assert RFC9440_HEADER.lower() not in forwarded, "host proxy browser port: turned a client header into Client-Cert"


@pytest.mark.parametrize("port", [BROWSER, M2M], ids=["browser", "m2m"])
def test_forwarded_for_is_the_load_balancers_entry(proxy: Path, port: int) -> None:
    _status, forwarded = _send(proxy, port, headers={"X-Forwarded-For": "203.0.113.66, 198.51.100.7"})
    assert forwarded.get("x-forwarded-for") == "198.51.100.7", (
        f"host proxy port {port}: X-Forwarded-For {forwarded.get('x-forwarded-for')!r}, expected the ALB's last entry"
    )


@pytest.mark.parametrize("path", PRIVATE_SPELLINGS)
@pytest.mark.parametrize("port", [BROWSER, M2M], ids=["browser", "m2m"])
def test_private_paths_are_refused_in_every_spelling(proxy: Path, port: int, path: str) -> None:
    status, forwarded = _send(proxy, port, path=path)
    assert status == 404 and not forwarded, f"host proxy port {port}: {path} reached Keycloak (status {status})"
