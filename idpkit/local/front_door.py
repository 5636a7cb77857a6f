"""The front door: nginx standing in for the AWS Application Load Balancer (local stack and rehearsals).

Two HTTPS listeners, as on AWS: a browser listener without client certificates, and a
machine-to-machine (M2M) listener that requires a client certificate issued by the client CA and
not on its CRL, then passes it on exactly as the ALB in `verify` mode does (`X-Amzn-Mtls-Clientcert-*`,
ALB's URL encoding). Both overwrite client-supplied certificate headers (RFC 9700 §4.13), never serve
the admin API or the master realm, add HSTS, append the client address to `X-Forwarded-For` and balance
over the hosts' proxies (`idpkit.keycloak_server.host_proxy`, the same configuration as on the AWS
hosts), which alone talk to Keycloak.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from idpkit.constants.keycloak import ADMIN_PATHS
from idpkit.errors import IdpkitError
from idpkit.keycloak_server.host_proxy import CLIENT_CERTIFICATE_HEADERS, LEAF_HEADER
from idpkit.keycloak_server.options import BCP195_OPENSSL_CIPHERS
from idpkit.system.files import write_if_changed

NGINX_PACKAGES = "nginx-light libnginx-mod-http-js"
# Debian's njs module (the local front door's ALB header encoding); AWS hosts run no nginx.
NJS_MODULE_PATH = "/usr/lib/nginx/modules/ngx_http_js_module.so"
ALB_EMULATION_SCRIPT = "alb_emulation.js"
HSTS = "max-age=63072000; includeSubDomains"
_ALB_HEADERS = (
    LEAF_HEADER,
    "X-Amzn-Mtls-Clientcert-Serial-Number",
    "X-Amzn-Mtls-Clientcert-Issuer",
    "X-Amzn-Mtls-Clientcert-Subject",
    "X-Amzn-Mtls-Clientcert-Validity",
)


@dataclass(frozen=True)
class FrontDoorSettings:
    """One front door: its listeners, its PKI, and the host proxies behind it."""

    directory: Path
    """nginx's prefix: the rendered configuration, the ALB emulation script and temporary files."""
    logs: Path
    """Where the access and error logs go."""
    pid_file: Path
    """nginx's master pid file."""
    listen_address: str
    """Address both listeners bind to."""
    browser_port: int
    """Browser listener (no client certificates)."""
    m2m_port: int
    """M2M listener (client certificate required)."""
    certificate: Path
    """Server certificate (chain) both listeners present."""
    certificate_key: Path
    """Its private key."""
    client_ca_bundle: Path
    """The trust store of the M2M listener (the ALB trust store's bundle)."""
    crl: Path
    """The trust store's revocation list."""
    upstream_ca: Path
    """Verifies the host proxies' certificate."""
    upstream_server_name: str
    """Name the host proxies' certificate is verified against."""
    browser_upstreams: tuple[str, ...]
    """`address:port` of every host proxy's browser port (the browser target group)."""
    m2m_upstreams: tuple[str, ...]
    """`address:port` of every host proxy's M2M port (the machine target group)."""
    run_as: str | None = None
    """Worker user when started as root."""
    drained_upstreams: tuple[str, ...] = ()
    """Upstreams taken out of rotation (`down`), as a target deregistered from the ALB: in-flight requests
    finish on nginx's old workers after a reload, new ones go elsewhere."""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((str(path) for path in (Path("/usr/sbin/nginx"),) if path.exists()), None)
    if found is None:
        raise IdpkitError(
            "nginx is not installed; the front door needs it",
            hint=f"apt-get install {NGINX_PACKAGES}",
        )
    return found


def alb_emulation_source() -> str:
    return resources.files("idpkit.local").joinpath(f"njs/{ALB_EMULATION_SCRIPT}").read_text()


def strip_client_certificate_headers(indent: str, keep: tuple[str, ...] = ()) -> str:
    """nginx lines overwriting every certificate header but `keep` with an empty value (not forwarded)."""
    return "\n".join(f'{indent}proxy_set_header {name} "";' for name in CLIENT_CERTIFICATE_HEADERS if name not in keep)


def render_nginx_conf(settings: FrontDoorSettings) -> str:
    """The front door's nginx configuration."""
    temp = settings.directory / "tmp"
    user_line = f"user {settings.run_as} {settings.run_as};" if settings.run_as else ""
    alb_headers = f"""            proxy_set_header {LEAF_HEADER} $idpkit_alb_leaf;
            proxy_set_header X-Amzn-Mtls-Clientcert-Serial-Number $ssl_client_serial;
            proxy_set_header X-Amzn-Mtls-Clientcert-Issuer $ssl_client_i_dn;
            proxy_set_header X-Amzn-Mtls-Clientcert-Subject $ssl_client_s_dn;
            proxy_set_header X-Amzn-Mtls-Clientcert-Validity $idpkit_alb_validity;"""
    m2m_certificate_headers = strip_client_certificate_headers("            ", keep=_ALB_HEADERS) + "\n" + alb_headers
    private = "\n".join(f"        location {path} {{ return 404; }}" for path in ADMIN_PATHS)

    def upstream(name: str, servers: tuple[str, ...]) -> str:
        # Passive health checks: a host that refuses connections is skipped for 10 s (the ALB probes actively).
        health = "max_fails=1 fail_timeout=10s"
        lines = "\n".join(
            f"        server {server} {'down' if server in settings.drained_upstreams else health};"
            for server in servers
        )
        return f"    upstream {name} {{\n{lines}\n        keepalive 16;\n    }}"

    def locations(target: str, certificate_headers: str) -> str:
        return f"""
        # The admin API/console and the master realm are served only on the admin URL (never public).
{private}
        location / {{
            proxy_pass https://{target};
            proxy_next_upstream error timeout http_502 http_503;
{certificate_headers}
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Port $server_port;
        }}"""

    return f"""# Rendered by idpkit (idpkit/local/front_door.py): edit that file, not this one.
load_module {NJS_MODULE_PATH};
{user_line}
worker_processes 1;
pid {settings.pid_file};
error_log {settings.logs}/nginx-error.log warn;
events {{ worker_connections 1024; }}

http {{
    # Paths only: query strings may carry codes or tokens, which must never reach a log.
    log_format no_query '$remote_addr [$time_iso8601] "$request_method $uri" $status $ssl_protocol '
                        '$ssl_client_verify $upstream_addr';
    access_log {settings.logs}/nginx-access.log no_query;
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
    ssl_certificate {settings.certificate};
    ssl_certificate_key {settings.certificate_key};
    # One HSTS policy for the whole front door, replacing the per-realm header Keycloak sends.
    proxy_hide_header Strict-Transport-Security;
    add_header Strict-Transport-Security "{HSTS}" always;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {settings.upstream_ca};
    proxy_ssl_name {settings.upstream_server_name};
    proxy_ssl_server_name on;

    js_import alb from {settings.directory / ALB_EMULATION_SCRIPT};
    js_set $idpkit_alb_leaf alb.leaf;
    js_set $idpkit_alb_validity alb.validity;

{upstream("browser_targets", settings.browser_upstreams)}
{upstream("m2m_targets", settings.m2m_upstreams)}

    server {{  # front door, browser listener
        listen {settings.listen_address}:{settings.browser_port} ssl;
{locations("browser_targets", strip_client_certificate_headers("            "))}
    }}

    server {{  # front door, M2M listener: mutual TLS against the client CA bundle and its CRL
        listen {settings.listen_address}:{settings.m2m_port} ssl;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_client_certificate {settings.client_ca_bundle};
        ssl_crl {settings.crl};
{locations("m2m_targets", m2m_certificate_headers)}
    }}
}}
"""


def write_configuration(settings: FrontDoorSettings) -> tuple[Path, bool]:
    """Write the script and configuration; returns the configuration's path and whether anything changed."""
    (settings.directory / "tmp").mkdir(parents=True, exist_ok=True)
    changed = write_if_changed(settings.directory / ALB_EMULATION_SCRIPT, alb_emulation_source(), private=False)
    conf = settings.directory / "nginx.conf"
    changed |= write_if_changed(conf, render_nginx_conf(settings), private=False)
    return conf, changed


def check_config(binary: str, conf: Path, prefix: Path) -> None:
    completed = subprocess.run(
        [binary, "-t", "-q", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise IdpkitError(f"nginx rejects the rendered front-door configuration {conf}: {completed.stderr.strip()}")


def nginx_command(binary: str, conf: Path, prefix: Path) -> list[str]:
    return [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
