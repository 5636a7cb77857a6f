"""The local front door: nginx standing in for the AWS Application Load Balancer.

Two HTTPS listeners, as on AWS: a browser listener without client certificates, and a
machine-to-machine (M2M) listener that requires a client certificate issued by the client CA
and not on its CRL. Both strip client-supplied certificate headers (RFC 9700 §4.13), never serve
the admin API or the master realm, and add HSTS.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.local.layout import HOSTNAME, LISTEN_ADDRESS, LOOPBACK, LocalLayout
from idpkit.local.service_user import ServiceAccount

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
# Every header through which some proxy or Keycloak lookup provider passes a client certificate.
# A client must never be able to set one (RFC 9700 §4.13): each is overwritten with "" upstream.
CLIENT_CERTIFICATE_HEADERS = (
    "X-Amzn-Mtls-Clientcert",
    "X-Amzn-Mtls-Clientcert-Leaf",
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
NGINX_PACKAGE = "nginx-light"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((str(path) for path in (Path("/usr/sbin/nginx"),) if path.exists()), None)
    if found is None:
        raise IdpkitError(
            "nginx is not installed; the local stack's front door needs it",
            hint=f"apt-get install {NGINX_PACKAGE}",
        )
    return found


def render_nginx_conf(layout: LocalLayout, account: ServiceAccount | None) -> str:
    pki = layout.pki
    ports = layout.ports
    temp = layout.nginx_dir / "tmp"
    strip_headers = "\n".join(f'        proxy_set_header {name} "";' for name in CLIENT_CERTIFICATE_HEADERS)
    user_line = f"user {account.name} {account.name};" if account else ""
    proxied_locations = f"""
        # The admin API/console and the master realm are served only on the admin URL (loopback).
        location /admin {{ return 404; }}
        location /realms/master {{ return 404; }}
        location / {{
            proxy_pass https://keycloak;
{strip_headers}
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
        }}"""
    return f"""# Rendered by idpkit (idpkit/local/front_door.py): edit that file, not this one.
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

    upstream keycloak {{
        server {LOOPBACK}:{ports.keycloak};
        keepalive 16;
    }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {pki.server_ca};
    proxy_ssl_name {HOSTNAME};
    proxy_ssl_server_name on;
    proxy_ssl_protocols TLSv1.3;

    server {{  # browser listener
        listen {LISTEN_ADDRESS}:{ports.browser} ssl;
        server_name {HOSTNAME};
{proxied_locations}
    }}

    server {{  # machine-to-machine listener: mutual TLS against the client CA bundle and its CRL
        listen {LISTEN_ADDRESS}:{ports.m2m} ssl;
        server_name {HOSTNAME};
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_client_certificate {pki.client_ca_bundle};
        ssl_crl {pki.crl};
{proxied_locations}
    }}
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
