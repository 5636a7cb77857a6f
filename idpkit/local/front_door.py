"""The local front door: nginx standing in for the AWS Application Load Balancer.

Two HTTPS listeners, as on AWS: a browser listener without client certificates, and a
machine-to-machine (M2M) listener that requires a client certificate issued by the client CA and
not on its CRL, then passes it on exactly as the ALB in `verify` mode does (`X-Amzn-Mtls-Clientcert-*`,
ALB's URL encoding). Both overwrite client-supplied certificate headers (RFC 9700 §4.13), never serve
the admin API or the master realm, add HSTS, and forward to the host-local proxy — the same server
blocks as on the AWS hosts (`idpkit.keycloak_server.host_proxy`) — which alone talks to Keycloak.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.keycloak_server.host_proxy import (
    BCP195_OPENSSL_CIPHERS,
    LEAF_HEADER,
    NJS_MODULE_PATH,
    HostProxySettings,
    render_http_block,
    strip_client_certificate_headers,
)
from idpkit.local.layout import HOSTNAME, LISTEN_ADDRESS, LOOPBACK, LocalLayout
from idpkit.local.service_user import ServiceAccount

NGINX_PACKAGES = "nginx-light libnginx-mod-http-js"
_ALB_HEADERS = (
    LEAF_HEADER,
    "X-Amzn-Mtls-Clientcert-Serial-Number",
    "X-Amzn-Mtls-Clientcert-Issuer",
    "X-Amzn-Mtls-Clientcert-Subject",
    "X-Amzn-Mtls-Clientcert-Validity",
)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((str(path) for path in (Path("/usr/sbin/nginx"),) if path.exists()), None)
    if found is None:
        raise IdpkitError(
            "nginx is not installed; the local stack's front door needs it",
            hint=f"apt-get install {NGINX_PACKAGES}",
        )
    return found


def host_proxy_settings(layout: LocalLayout) -> HostProxySettings:
    pki = layout.pki
    return HostProxySettings(
        bind_address=LOOPBACK,
        browser_port=layout.ports.host_proxy_browser,
        m2m_port=layout.ports.host_proxy_m2m,
        keycloak_port=layout.ports.keycloak,
        certificate_file=str(pki.server_certificate),
        certificate_key_file=str(pki.server_key),
        keycloak_ca_file=str(pki.server_ca),
        keycloak_server_name=HOSTNAME,
        njs_script=str(layout.nginx_dir / "host_proxy.js"),
    )


def alb_emulation_source() -> str:
    return resources.files("idpkit.local").joinpath("njs/alb_emulation.js").read_text()


def render_nginx_conf(layout: LocalLayout, account: ServiceAccount | None, *, with_host_proxy: bool = True) -> str:
    """The local nginx configuration: front door plus (unless `with_host_proxy` is False) the host proxy."""
    pki = layout.pki
    ports = layout.ports
    temp = layout.nginx_dir / "tmp"
    user_line = f"user {account.name} {account.name};" if account else ""
    alb_headers = f"""            proxy_set_header {LEAF_HEADER} $idpkit_alb_leaf;
            proxy_set_header X-Amzn-Mtls-Clientcert-Serial-Number $ssl_client_serial;
            proxy_set_header X-Amzn-Mtls-Clientcert-Issuer $ssl_client_i_dn;
            proxy_set_header X-Amzn-Mtls-Clientcert-Subject $ssl_client_s_dn;
            proxy_set_header X-Amzn-Mtls-Clientcert-Validity $idpkit_alb_validity;"""

    m2m_certificate_headers = strip_client_certificate_headers("            ", keep=_ALB_HEADERS) + "\n" + alb_headers

    def locations(upstream_port: int, certificate_headers: str) -> str:
        return f"""
        # The admin API/console and the master realm are served only on the admin URL (loopback).
        location /admin {{ return 404; }}
        location /realms/master {{ return 404; }}
        location / {{
            proxy_pass https://{LOOPBACK}:{upstream_port};
{certificate_headers}
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Port $server_port;
        }}"""

    return f"""# Rendered by idpkit (idpkit/local/front_door.py): edit that file, not this one.
load_module {NJS_MODULE_PATH};
{user_line}
worker_processes 1;
pid {layout.run}/nginx-master.pid;
error_log {layout.logs}/nginx-error.log warn;
events {{ worker_connections 1024; }}

http {{
    # Paths only: query strings may carry codes or tokens, which must never reach a log.
    log_format no_query '$remote_addr [$time_iso8601] "$request_method $uri" $status $ssl_protocol '
                        '$ssl_client_verify';
    access_log {layout.logs}/nginx-access.log no_query;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server_tokens off;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {BCP195_OPENSSL_CIPHERS};
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;
    ssl_certificate {pki.server_certificate};
    ssl_certificate_key {pki.server_key};
    # One HSTS policy for the whole front door, replacing the per-realm header Keycloak sends.
    proxy_hide_header Strict-Transport-Security;
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {pki.server_ca};
    proxy_ssl_name {HOSTNAME};
    proxy_ssl_server_name on;

    js_import alb from {layout.nginx_dir / "alb_emulation.js"};
    js_set $idpkit_alb_leaf alb.leaf;
    js_set $idpkit_alb_validity alb.validity;

    server {{  # front door, browser listener
        listen {LISTEN_ADDRESS}:{ports.browser} ssl;
        server_name {HOSTNAME};
{locations(ports.host_proxy_browser, strip_client_certificate_headers("            "))}
    }}

    server {{  # front door, M2M listener: mutual TLS against the client CA bundle and its CRL
        listen {LISTEN_ADDRESS}:{ports.m2m} ssl;
        server_name {HOSTNAME};
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_client_certificate {pki.client_ca_bundle};
        ssl_crl {pki.crl};
{locations(ports.host_proxy_m2m, m2m_certificate_headers)}
    }}

{render_http_block(host_proxy_settings(layout)) if with_host_proxy else ""}
}}
"""


def check_config(binary: str, conf: Path, prefix: Path) -> None:
    completed = subprocess.run(
        [binary, "-t", "-q", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise IdpkitError(f"nginx rejects the rendered front-door configuration {conf}: {completed.stderr.strip()}")


def nginx_command(binary: str, conf: Path, prefix: Path) -> list[str]:
    return [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
