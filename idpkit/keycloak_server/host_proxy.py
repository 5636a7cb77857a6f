"""The host-local proxy in front of Keycloak: the same nginx server blocks on AWS hosts and locally.

The load balancer (or the local front door) reaches each host on two ports: the browser port, which
carries no client certificate, and the M2M port, whose requests carry the certificate the load
balancer verified, in `X-Amzn-Mtls-Clientcert-Leaf`. Keycloak has no lookup provider for that header
(its nginx provider form-decodes '+' into a space), so the proxy re-encodes it as RFC 9440
`Client-Cert`, which Keycloak's built-in `rfc9440` lookup reads.

Keycloak trusts forwarded and certificate headers only from `PROXY_SOURCE_ADDRESS`, the loopback
address this proxy connects from (`proxy-trusted-addresses`): a client that reaches Keycloak's port
in any other way — even from the same host — cannot assert a certificate (RFC 9700 §4.13).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

# The proxy's own loopback source address; Keycloak trusts proxy headers from this address only.
PROXY_SOURCE_ADDRESS = "127.0.0.2"
NJS_MODULE_PATH = "/usr/lib/nginx/modules/ngx_http_js_module.so"
LEAF_HEADER = "X-Amzn-Mtls-Clientcert-Leaf"
# Every header through which some proxy or Keycloak lookup provider passes a client certificate.
# Whatever a client sends in them is overwritten with "" (or the verified value) at every hop.
CLIENT_CERTIFICATE_HEADERS = (
    "X-Amzn-Mtls-Clientcert",
    LEAF_HEADER,
    "X-Amzn-Mtls-Clientcert-Serial-Number",
    "X-Amzn-Mtls-Clientcert-Issuer",
    "X-Amzn-Mtls-Clientcert-Subject",
    "X-Amzn-Mtls-Clientcert-Validity",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Client-Cert",
    "X-SSL-Client-Cert",
    "SSL-Client-Cert",
    "X-Forwarded-Client-Cert",
)
# BCP 195 (RFC 9325 §4.2) TLS 1.2 suites in OpenSSL names; TLS 1.3 suites are OpenSSL's defaults.
BCP195_OPENSSL_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


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
    certificate_file: str
    """PEM certificate the proxy presents to the load balancer."""
    certificate_key_file: str
    """Its private key."""
    keycloak_ca_file: str
    """PEM bundle that verifies Keycloak's certificate."""
    keycloak_server_name: str
    """Name Keycloak's certificate is verified against."""
    njs_script: str
    """Path of `host_proxy.js` on the host."""


def njs_source() -> str:
    """The host proxy's njs script, to install next to the rendered configuration."""
    return resources.files("idpkit.keycloak_server").joinpath("njs/host_proxy.js").read_text()


def strip_client_certificate_headers(indent: str, keep: tuple[str, ...] = ()) -> str:
    """nginx lines overwriting every certificate header but `keep` with an empty value (not forwarded)."""
    return "\n".join(f'{indent}proxy_set_header {name} "";' for name in CLIENT_CERTIFICATE_HEADERS if name not in keep)


def render_http_block(settings: HostProxySettings) -> str:
    """The proxy's part of nginx's `http` block: its njs import, upstream and two servers."""
    # Keycloak's hostname is fixed, so no X-Forwarded-Host; the client address is the load balancer's own
    # (last) X-Forwarded-For entry, as earlier entries are whatever the client sent.
    forwarded = """            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $idpkit_client_address;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-Port $http_x_forwarded_port;"""
    tls = f"""        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {BCP195_OPENSSL_CIPHERS};
        ssl_certificate {settings.certificate_file};
        ssl_certificate_key {settings.certificate_key_file};"""
    # Defence in depth: the load balancer (or front door) already refuses these paths.
    private_locations = """        location ^~ /admin { return 404; }
        location ^~ /realms/master { return 404; }"""
    upstream = f"""            proxy_pass https://keycloak_on_host;
            proxy_bind {PROXY_SOURCE_ADDRESS};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {settings.keycloak_ca_file};
            proxy_ssl_name {settings.keycloak_server_name};
            proxy_ssl_server_name on;
            proxy_ssl_protocols TLSv1.3;"""
    return f"""    # --- host-local proxy (idpkit/keycloak_server/host_proxy.py) ---
    js_import host_proxy from {settings.njs_script};
    js_set $idpkit_rfc9440_client_cert host_proxy.rfc9440ClientCert;
    map $http_x_forwarded_for $idpkit_client_address {{
        "~(?<appended>[^,\\s]+)\\s*$" $appended;
        default $remote_addr;
    }}
    upstream keycloak_on_host {{
        server 127.0.0.1:{settings.keycloak_port};
        keepalive 16;
    }}

    server {{  # host proxy, browser port: no certificate reaches Keycloak from here
        listen {settings.bind_address}:{settings.browser_port} ssl;
{tls}
{private_locations}
        location / {{
{upstream}
{forwarded}
{strip_client_certificate_headers("            ")}
        }}
    }}

    server {{  # host proxy, M2M port: the load balancer's verified leaf, re-encoded per RFC 9440
        listen {settings.bind_address}:{settings.m2m_port} ssl;
{tls}
{private_locations}
        location / {{
{upstream}
{forwarded}
{strip_client_certificate_headers("            ", keep=("Client-Cert",))}
            proxy_set_header Client-Cert $idpkit_rfc9440_client_cert;
        }}
    }}
"""
