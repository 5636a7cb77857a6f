"""The host-local proxy in front of Keycloak: the same HAProxy configuration on AWS hosts and locally.

The load balancer (or the local front door) reaches each host on two ports: the browser port, which
carries no client certificate, and the M2M port, whose requests carry the certificate the load
balancer verified, in `X-Amzn-Mtls-Clientcert-Leaf` (the PEM, URL-encoded with `+`, `=` and `/` left
as they are). Keycloak has no lookup provider for that header (its nginx provider form-decodes `+` into
a space), so the proxy re-encodes it as RFC 9440 `Client-Cert` (`:base64(DER):`), which Keycloak's
built-in `rfc9440` lookup reads: `url_dec` (which turns `+` into a space only after a `?`, and a PEM
has none), then the PEM armour and line breaks removed.

HAProxy is Amazon Linux 2023's own package (no third-party repository, no hash the kit cannot pin);
the configuration uses only features HAProxy has had since 2.2 (`http-request return`, `set-var`,
`url_dec`, `regsub`, occurrence-indexed `req.hdr`), and every host checks it with `haproxy -c` before
starting.

Keycloak trusts forwarded and certificate headers only from `PROXY_SOURCE_ADDRESS`, the loopback
address this proxy connects from (`proxy-trusted-addresses`): a client that reaches Keycloak's port
in any other way — even from the same host — cannot assert a certificate (RFC 9700 §4.13).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from idpkit.constants.keycloak import ADMIN_PATHS, PROXY_SOURCE_ADDRESS
from idpkit.errors import IdpkitError
from idpkit.keycloak_server.options import BCP195_OPENSSL_CIPHERS

HAPROXY_PACKAGE = "haproxy"
LEAF_HEADER = "X-Amzn-Mtls-Clientcert-Leaf"
RFC9440_HEADER = "Client-Cert"
# Every header through which some proxy or Keycloak lookup provider passes a client certificate.
# Whatever a client sends in them is removed (or replaced by the verified value) at every hop.
CLIENT_CERTIFICATE_HEADERS = (
    "X-Amzn-Mtls-Clientcert",
    LEAF_HEADER,
    "X-Amzn-Mtls-Clientcert-Serial-Number",
    "X-Amzn-Mtls-Clientcert-Issuer",
    "X-Amzn-Mtls-Clientcert-Subject",
    "X-Amzn-Mtls-Clientcert-Validity",
    RFC9440_HEADER,
    "Client-Cert-Chain",
    "X-Client-Cert",
    "X-SSL-Client-Cert",
    "SSL-Client-Cert",
    "X-Forwarded-Client-Cert",
)
# The ALB leaf, decoded and stripped to the base64 of its DER; an empty value means "no certificate".
_LEAF_AS_BASE64 = f"req.hdr({LEAF_HEADER}),url_dec,regsub(-----[^-]+-----,,g),regsub([^A-Za-z0-9+/=],,g)"
# Paths compared after percent-decoding, case folding and merging slashes, so `//Admin` or `/%61dmin`
# cannot slip past (defence in depth: the load balancer and the front door refuse them first).
_PRIVATE_PATH_PATTERN = "^/(" + "|".join(path.lstrip("/") for path in ADMIN_PATHS) + ")(/|;|$)"


@dataclass(frozen=True)
class HostProxySettings:
    """Where the host proxy listens and what it forwards to."""

    bind_address: str
    """Address the proxy's two listeners bind to (loopback locally, the host's address on AWS)."""
    browser_port: int
    """Port for browser traffic: every certificate header is stripped."""
    m2m_port: int
    """Port for machine traffic: the load balancer's verified leaf becomes `Client-Cert`."""
    keycloak_port: int
    """Keycloak's HTTPS port on 127.0.0.1."""
    certificate_bundle: str
    """PEM file with the certificate the proxy presents to the load balancer, followed by its private key."""
    keycloak_ca_file: str
    """PEM bundle that verifies Keycloak's certificate."""
    keycloak_server_name: str
    """Name Keycloak's certificate is verified against."""
    run_as: str | None = None
    """System user (and group) HAProxy drops to after reading its key; `None`: it is started unprivileged."""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next((str(p) for p in (Path("/usr/sbin/haproxy"),) if p.exists()), None)
    if found is None:
        raise IdpkitError(
            "HAProxy is not installed; the host proxy needs it", hint=f"install the {HAPROXY_PACKAGE} package"
        )
    return found


def check_config(binary: str, conf: Path) -> None:
    """`haproxy -c`: a configuration HAProxy would refuse never replaces a running one."""
    completed = subprocess.run([binary, "-c", "-q", "-f", str(conf)], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise IdpkitError(f"HAProxy rejects the rendered host proxy configuration {conf}: {completed.stderr.strip()}")


def proxy_command(binary: str, conf: Path) -> list[str]:
    """HAProxy in the foreground (`-db`), logging to its stderr, which the process supervisor keeps."""
    return [binary, "-db", "-f", str(conf)]


def render_haproxy_conf(settings: HostProxySettings) -> str:
    """The host proxy's complete `haproxy.cfg`."""
    drop = f"    user {settings.run_as}\n    group {settings.run_as}\n" if settings.run_as else ""
    strip = "\n".join(f"    http-request del-header {name}" for name in CLIENT_CERTIFICATE_HEADERS)
    listener = f"{settings.bind_address}:{{port}} ssl crt {settings.certificate_bundle} alpn http/1.1"
    return f"""# Rendered by idpkit (idpkit/keycloak_server/host_proxy.py): edit that file, not this one.
global
{drop}    log stderr format raw local0 notice
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-bind-ciphers {BCP195_OPENSSL_CIPHERS}
    ssl-default-server-options ssl-min-ver TLSv1.3

defaults
    mode http
    log global
    # Paths only: query strings may carry authorization codes or tokens, which must never reach a log.
    log-format "%ci [%tr] %HM %HP %ST %sslv"
    timeout connect 5s
    timeout http-request 10s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s

frontend browser  # host proxy, browser port: no certificate reaches Keycloak from here
    bind {listener.format(port=settings.browser_port)}
{_common_request_rules(strip)}
    default_backend keycloak

frontend m2m  # host proxy, M2M port: the load balancer's verified leaf, re-encoded per RFC 9440
    bind {listener.format(port=settings.m2m_port)}
    http-request set-var(txn.client_cert) {_LEAF_AS_BASE64}
{_common_request_rules(strip)}
    http-request set-header {RFC9440_HEADER} :%[var(txn.client_cert)]: if {{ var(txn.client_cert) -m len gt 0 }}
    default_backend keycloak

backend keycloak
    http-reuse safe
    server keycloak 127.0.0.1:{settings.keycloak_port} source {PROXY_SOURCE_ADDRESS} ssl verify required \
ca-file {settings.keycloak_ca_file} verifyhost {settings.keycloak_server_name} \
sni str({settings.keycloak_server_name}) alpn http/1.1
"""


def _common_request_rules(strip: str) -> str:
    # Keycloak's hostname is fixed, so no X-Forwarded-Host; the client address is the load balancer's own
    # (last) X-Forwarded-For entry, as earlier entries are whatever the client sent.
    return f"""    acl private_path path,url_dec,lower,regsub(/+,/,g) -m reg {_PRIVATE_PATH_PATTERN}
    http-request return status 404 if private_path
    acl forwarded req.hdr(X-Forwarded-For) -m found
    http-request set-header X-Forwarded-For %[req.hdr(X-Forwarded-For,-1)] if forwarded
    http-request set-header X-Forwarded-For %[src] if !forwarded
    http-request set-header X-Forwarded-Proto https
    http-request del-header X-Forwarded-Host
    http-request del-header Forwarded
{strip}"""
