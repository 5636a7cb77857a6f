"""What a Keycloak host runs at first boot: pure functions, so tests read exactly what EC2 receives.

The host installs the pinned distribution (`idpkit.keycloak_server.release`) and the pinned nginx + njs
RPMs (`idpkit.keycloak_server.host_packages`) from the stack's artifacts bucket, checks their hashes,
writes `conf/keycloak.conf` from `render_keycloak_conf(ServerSettings(...))` and nginx's host-local proxy
from `render_http_block(HostProxySettings(...))` + `njs_source()` — the definitions the local stack
renders too — and starts three services: nginx (the host-local proxy the load balancer talks to),
Keycloak (loopback only, unprivileged, systemd-sandboxed) and the CloudWatch agent.

It also installs the kit itself into a root-only venv (HOST_KIT_DIR) from the wheelhouse the operator
staged (`idpkit host wheelhouse`, no package index: the hosts have no internet egress), and writes the
stack outputs as seen from the host (HOST_OUTPUTS_FILE), so the signing key rotation schedule can run
`idpkit keys rotate --stage auto` here through SSM Run Command (components/signing_keys.py).

Ports on a host:
  8443  nginx, browser traffic from the load balancer (every client-certificate header stripped)
  8445  nginx, machine traffic from the mutual-TLS listener: the ALB's verified
        X-Amzn-Mtls-Clientcert-Leaf re-encoded as RFC 9440 Client-Cert (njs/host_proxy.js)
  8444  Keycloak HTTPS on 127.0.0.1: reached by nginx (from PROXY_SOURCE_ADDRESS, the only address whose
        forwarded and certificate headers Keycloak trusts) and by the SSM admin port forward
  9000  Keycloak management (health, metrics), for load balancer health checks
  7800, 57800  JGroups (jdbc-ping) cluster traffic and its failure detection, host to host
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass

from idpkit.keycloak_server import release
from idpkit.keycloak_server.host_packages import NJS_MODULE_PATH, HostPackage
from idpkit.keycloak_server.host_proxy import (
    PROXY_SOURCE_ADDRESS,
    HostProxySettings,
    njs_source,
    render_http_block,
)
from idpkit.keycloak_server.options import (
    ClientCertificateLookup,
    DatabaseSettings,
    ServerSettings,
)

BROWSER_PROXY_PORT = 8443
M2M_PROXY_PORT = 8445
KEYCLOAK_HTTPS_PORT = 8444
MANAGEMENT_PORT = 9000
JGROUPS_PORT = 7800
# JGroups FD_SOCK2 failure detection listens on the cluster port + 50000.
JGROUPS_FD_PORT = 57800
HEALTH_CHECK_PATH = "/health/ready"

KEYCLOAK_HOME = "/opt/keycloak"
KEYCLOAK_CONF = f"{KEYCLOAK_HOME}/conf/keycloak.conf"
DISCOVERY_OVERRIDE = f"{KEYCLOAK_HOME}/conf/discovery-override.json"
TLS_DIR = "/etc/idpkit/tls"
HOST_CERTIFICATE = f"{TLS_DIR}/host.pem"
NGINX_KEY = f"{TLS_DIR}/nginx.key"
KEYCLOAK_KEY = f"{TLS_DIR}/keycloak.key"
RDS_CA_BUNDLE = "/etc/idpkit/rds-ca.pem"
# The mTLS client CA bundle, the version the ALB trust store holds: Keycloak re-validates forwarded
# client certificates against it (`truststore-paths`).
CLIENT_CA_BUNDLE = "/etc/idpkit/client-ca-bundle.pem"
SERVER_LOG = "/var/log/keycloak/keycloak.log"
NGINX_CONF = "/etc/nginx/nginx.conf"
NJS_SCRIPT = "/etc/nginx/idpkit/host_proxy.js"
PACKAGE_DIR = "/var/tmp/idpkit-packages"  # noqa: S108  # on the host, root-only (umask 077), first boot only
DB_NAME = "keycloak"
DB_USERNAME = "keycloak"
HOST_KIT_DIR = "/opt/idpkit"
"""The kit's venv on a host (root only): `idpkit keys rotate` runs from it."""
HOST_KIT_COMMAND = f"{HOST_KIT_DIR}/bin/idpkit"
HOST_OUTPUTS_FILE = "/etc/idpkit/outputs.json"
"""The stack outputs contract as seen from the host (`IDPKIT_OUTPUTS_FILE` of the scheduled command)."""
WHEELHOUSE_REQUIREMENTS = "requirements.txt"
"""In the wheelhouse archive: the kit's host dependencies, installed before the kit itself (--no-deps)."""
WHEELHOUSE_DIR = "/var/tmp/idpkit-wheelhouse"  # noqa: S108  # on the host, root-only (umask 077), first boot only
# EC2 rejects user data over 16 KiB (before base64). The script is sent gzip-compressed, which cloud-init
# unpacks itself; the compressed size is what counts.
USER_DATA_LIMIT = 16 * 1024


def host_server_settings(public_hostname: str, admin_local_port: int, db_host: str) -> ServerSettings:
    """The Keycloak options of every AWS host; tests render the same object to compare."""
    return ServerSettings(
        public_url=f"https://{public_hostname}",
        # The admin console is reached only through the SSM port forward (docs/aws.md).
        admin_url=f"https://localhost:{admin_local_port}",
        bind_address="127.0.0.1",
        https_port=KEYCLOAK_HTTPS_PORT,
        certificate_file=HOST_CERTIFICATE,
        certificate_key_file=KEYCLOAK_KEY,
        # Only the host-local proxy, connecting from its own loopback address, may set X-Forwarded-* and
        # Client-Cert (RFC 9700 §4.13); the SSM tunnel and anything else on the host connect from 127.0.0.1.
        trusted_proxy_addresses=(PROXY_SOURCE_ADDRESS,),
        database=DatabaseSettings(
            vendor="postgres",
            host=db_host,
            database=DB_NAME,
            username=DB_USERNAME,
            # HIPAA 164.312(e)(1): TLS to the database, server identity checked against the RDS CA.
            url_properties=f"?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}",
        ),
        # The load balancer probes /health/ready here; the security group admits only the LB.
        management_bind_address="0.0.0.0",  # noqa: S104
        management_port=MANAGEMENT_PORT,
        clustered=True,
        log_file=SERVER_LOG,
        client_certificate_lookup=ClientCertificateLookup(client_ca_bundle=CLIENT_CA_BUNDLE),
        discovery_override_file=DISCOVERY_OVERRIDE,
    )


def host_proxy_settings() -> HostProxySettings:
    """The host-local proxy of every AWS host; tests render the same object to compare."""
    return HostProxySettings(
        # The load balancer reaches the host's VPC address; the security group admits only the LB.
        bind_address="0.0.0.0",  # noqa: S104
        browser_port=BROWSER_PROXY_PORT,
        m2m_port=M2M_PROXY_PORT,
        keycloak_port=KEYCLOAK_HTTPS_PORT,
        certificate_file=HOST_CERTIFICATE,
        certificate_key_file=NGINX_KEY,
        # Keycloak presents the same (self-signed, localhost) host certificate: pinned.
        keycloak_ca_file=HOST_CERTIFICATE,
        keycloak_server_name="localhost",
        njs_script=NJS_SCRIPT,
    )


def render_host_outputs(stack: str, public_hostname: str, m2m_url: str, realm: str, admin_credentials: str) -> str:
    """HOST_OUTPUTS_FILE: the outputs contract (idpkit/outputs.py) as a command on the host sees the stack.

    The public URLs are the stack's; the admin API is Keycloak's own loopback listener, verified with the
    host certificate (no SSM tunnel on the host itself); admin credentials come from Secrets Manager.
    """
    base_url = f"https://{public_hostname}"
    outputs = {
        "stack": stack,
        "base_url": base_url,
        "m2m_url": m2m_url,
        "admin_url": f"https://localhost:{KEYCLOAK_HTTPS_PORT}",
        "realm": realm,
        "issuer": f"{base_url}/realms/{realm}",
        # ACM certificates from a public CA: the system trust store verifies the public listeners.
        "ca_bundle": None,
        "admin_ca_bundle": HOST_CERTIFICATE,
        "admin_credentials": admin_credentials,
    }
    return json.dumps(outputs, indent=2) + "\n"


def render_nginx_conf() -> str:
    """The host's nginx.conf: njs loaded, query-free access log, and the shared host-proxy block."""
    return f"""# Rendered by idpkit components/host_bootstrap.py; proxy block: idpkit/keycloak_server/host_proxy.py.
user nginx;
worker_processes auto;
error_log /var/log/nginx/error.log notice;
pid /run/nginx.pid;
load_module {NJS_MODULE_PATH};

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # Paths only: query strings may carry authorization codes or tokens, which must never reach a log.
    log_format no_query '$remote_addr [$time_iso8601] "$request_method $uri" $status $ssl_protocol';
    access_log /var/log/nginx/access.log no_query;
    server_tokens off;
    sendfile on;
    keepalive_timeout 65;
{render_http_block(host_proxy_settings())}}}
"""


@dataclass(frozen=True)
class HostBootstrap:
    """The resolved values a host's first boot needs."""

    region: str
    """AWS region of the stack."""
    keycloak_conf: str
    """`render_keycloak_conf(...)` output, written verbatim to conf/keycloak.conf."""
    discovery_override: str
    """`discovery_override(m2m_url, realm)` output, written verbatim to DISCOVERY_OVERRIDE."""
    artifacts_bucket: str
    """Bucket holding the staged Keycloak archive, nginx RPMs, RDS CA and client CA bundles."""
    keycloak_object_key: str
    """Object key of the staged `release.ARCHIVE_NAME`."""
    packages: tuple[HostPackage, ...]
    """The nginx and njs RPMs for the hosts' architecture (`host_packages.packages_for`)."""
    rds_ca_object_key: str
    """Object key of the RDS CA bundle for the region."""
    client_ca_object_key: str
    """Object key of the mTLS client CA bundle (the ALB trust store's source)."""
    client_ca_object_version: str
    """The object version the trust store pins: a CA change rolls the hosts too."""
    db_secret_arn: str
    """RDS-managed master user secret (username/password JSON)."""
    bootstrap_admin_secret_arn: str
    """Secret with the bootstrap admin username/password JSON."""
    host_tls_secret_arn: str
    """Secret with the host certificate and key JSON."""
    server_log_group: str
    """CloudWatch log group of the Keycloak server log."""
    event_log_group: str
    """CloudWatch log group of Keycloak login and admin events."""
    wheelhouse_object_key: str
    """Object key of the staged kit wheelhouse archive (`idpkit host wheelhouse`)."""
    wheelhouse_object_version: str
    """Its S3 version: the host installs exactly the archive this launch template was rendered for."""
    host_outputs: str
    """`render_host_outputs(...)` output, written verbatim to HOST_OUTPUTS_FILE."""


def render_user_data(boot: HostBootstrap) -> str:
    """The cloud-init shell script of a Keycloak host."""
    archive = f"/var/tmp/{release.ARCHIVE_NAME}"  # noqa: S108  # on the host, root-only, during first boot
    install_dir = f"/opt/{release.DIST_DIRECTORY}"
    rpms = [f"{PACKAGE_DIR}/{package.name}.rpm" for package in boot.packages]
    script = [
        "#!/bin/bash",
        "# Rendered by idpkit components/host_bootstrap.py.",
        "set -euo pipefail",
        "umask 077",
        f"export AWS_REGION={boot.region} AWS_DEFAULT_REGION={boot.region}",
        # Access is SSM Session Manager only; no SSH daemon, no EC2 Instance Connect keys.
        "systemctl disable --now sshd.service || true",
        # Amazon Linux 2023 repositories are served from S3, reachable through the gateway endpoint.
        "dnf install -y java-21-amazon-corretto-headless amazon-cloudwatch-agent python3 python3.11 python3.11-pip",
        # nginx + njs from nginx.org's AL2023 repository, staged at deploy time, verified here.
        f"install -d -m 0700 {PACKAGE_DIR}",
    ]
    for package, rpm in zip(boot.packages, rpms, strict=True):
        script += [
            f"aws s3 cp s3://{boot.artifacts_bucket}/{package.object_key} {rpm}",
            f'echo "{package.sha256}  {rpm}" | sha256sum --check --strict -',
        ]
    script += [
        f"dnf install -y {' '.join(rpms)} && rm -rf {PACKAGE_DIR}",
        # The package's default server listens on port 80; the rendered nginx.conf includes no conf.d.
        "rm -f /etc/nginx/conf.d/default.conf",
        "useradd --system --home-dir /opt/keycloak --shell /sbin/nologin keycloak",
        "install -d -m 0755 /etc/idpkit /etc/nginx/idpkit /usr/local/libexec/idpkit",
        f"install -d -m 0750 {TLS_DIR}",
        "install -d -m 0750 -o keycloak -g keycloak /var/log/keycloak",
        # The pinned distribution, staged from Maven Central at deploy time, verified here.
        f"aws s3 cp s3://{boot.artifacts_bucket}/{boot.keycloak_object_key} {archive}",
        f'echo "{release.SHA512}  {archive}" | sha512sum --check --strict -',
        f"tar -xzf {archive} -C /opt && rm -f {archive}",
        f"ln -sfn {install_dir} {KEYCLOAK_HOME}",
        f"aws s3 cp s3://{boot.artifacts_bucket}/{boot.rds_ca_object_key} {RDS_CA_BUNDLE}",
        f"chmod 0644 {RDS_CA_BUNDLE}",
        # Exactly the bundle version the load balancer's trust store verifies client certificates with
        # (the current version, checked: reading a pinned version would need s3:GetObjectVersion).
        f'test "$(aws s3api get-object --bucket {boot.artifacts_bucket} --key {boot.client_ca_object_key} '
        f'{CLIENT_CA_BUNDLE} --query VersionId --output text)" = "{boot.client_ca_object_version}"',
        f"chmod 0644 {CLIENT_CA_BUNDLE}",
    ]
    script += _file("/usr/local/libexec/idpkit/host-tls", _HOST_TLS_SCRIPT, "0700")
    script += [f"/usr/local/libexec/idpkit/host-tls {boot.host_tls_secret_arn}"]
    script += _file(KEYCLOAK_CONF, boot.keycloak_conf, "0640", group="keycloak")
    script += _file(DISCOVERY_OVERRIDE, boot.discovery_override, "0640", group="keycloak")
    script += [
        f"{KEYCLOAK_HOME}/bin/kc.sh build",
        f"chown -R root:keycloak {install_dir} && chmod -R go-w,o-rwx {install_dir}",
        f"install -d -m 0700 -o keycloak -g keycloak {install_dir}/data",
    ]
    script += _file("/usr/local/libexec/idpkit/keycloak-env", _env_script(boot), "0700")
    script += _file("/etc/systemd/system/keycloak.service", _systemd_unit(install_dir), "0644")
    script += _file(NGINX_CONF, render_nginx_conf(), "0644")
    script += _file(NJS_SCRIPT, njs_source(), "0644")
    script += _host_kit(boot)
    agent = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
    script += _file(agent, _cloudwatch_agent(boot), "0644")
    script += [
        f"/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:{agent}",
        "systemctl daemon-reload",
        "nginx -t",
        "systemctl enable --now nginx.service",
        # Keycloak #41290: nodes starting at the same moment can form split clusters; stagger them.
        "sleep $((RANDOM % 120))",
        "systemctl enable --now keycloak.service",
    ]
    rendered = "\n".join(script) + "\n"
    compressed = compress_user_data(rendered)
    if len(compressed) > USER_DATA_LIMIT:
        raise ValueError(f"user data: {len(compressed)} bytes (gzip) exceeds EC2's {USER_DATA_LIMIT}")
    return rendered


def _host_kit(boot: HostBootstrap) -> list[str]:
    """The kit in HOST_KIT_DIR from the staged wheelhouse (no index), and the host's outputs file."""
    archive = f"{WHEELHOUSE_DIR}.tar"
    pip = f"{HOST_KIT_DIR}/bin/pip install --no-index --only-binary=:all: --disable-pip-version-check"
    return [
        # Exactly the archive version this launch template pins (a new wheelhouse rolls the hosts).
        f'test "$(aws s3api get-object --bucket {boot.artifacts_bucket} --key {boot.wheelhouse_object_key} '
        f'{archive} --query VersionId --output text)" = "{boot.wheelhouse_object_version}"',
        f"install -d -m 0700 {WHEELHOUSE_DIR} && tar -xf {archive} -C {WHEELHOUSE_DIR} && rm -f {archive}",
        f"python3.11 -m venv {HOST_KIT_DIR}",
        f"{pip} --find-links {WHEELHOUSE_DIR} -r {WHEELHOUSE_DIR}/{WHEELHOUSE_REQUIREMENTS}",
        f"{pip} --no-deps {WHEELHOUSE_DIR}/idpkit-*.whl && rm -rf {WHEELHOUSE_DIR}",
        f"{HOST_KIT_COMMAND} --version",
        *_file(HOST_OUTPUTS_FILE, boot.host_outputs, "0600"),
    ]


def compress_user_data(script: str) -> bytes:
    """The script as EC2 receives it: gzip (cloud-init detects and unpacks it), reproducibly (no
    timestamp), so an unchanged script never changes the launch template."""
    return gzip.compress(script.encode(), compresslevel=9, mtime=0)


def encode_user_data(script: str) -> str:
    """`compress_user_data`, base64-encoded for the launch template's `user_data`."""
    return base64.b64encode(compress_user_data(script)).decode()


def decode_user_data(encoded: str) -> str:
    """The script inside a launch template's `user_data` (inverse of `encode_user_data`)."""
    return gzip.decompress(base64.b64decode(encoded)).decode()


def _file(path: str, content: str, mode: str, group: str = "root") -> list[str]:
    """Shell lines writing `content` to `path` verbatim (quoted heredoc: no expansion)."""
    if "IDPKIT_EOF" in content:
        raise ValueError(f"{path}: content contains the heredoc delimiter")
    return [
        f"install -D -m {mode} -o root -g {group} /dev/null {path}",
        f"cat > {path} <<'IDPKIT_EOF'",
        content.removesuffix("\n"),
        "IDPKIT_EOF",
    ]


_HOST_TLS_SCRIPT = """#!/usr/bin/python3
# Writes the host certificate and its key (nginx: root only; Keycloak: its own copy).
import json, os, pwd, subprocess, sys

value = json.loads(subprocess.run(
    ["aws", "secretsmanager", "get-secret-value", "--secret-id", sys.argv[1],
     "--query", "SecretString", "--output", "text"],
    check=True, capture_output=True, text=True).stdout)
keycloak = pwd.getpwnam("keycloak")
for path, content, mode, uid, gid in (
    ("/etc/idpkit/tls/host.pem", value["certificate"], 0o644, 0, keycloak.pw_gid),
    ("/etc/idpkit/tls/nginx.key", value["private_key"], 0o600, 0, 0),
    ("/etc/idpkit/tls/keycloak.key", value["private_key"], 0o600, keycloak.pw_uid, keycloak.pw_gid),
):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chown(path, uid, gid)
os.chmod("/etc/idpkit/tls", 0o751)
"""


def _env_script(boot: HostBootstrap) -> str:
    """Run as root before each start, so a rotated database password is picked up (Keycloak #43633)."""
    return f"""#!/usr/bin/python3
# Secrets reach Keycloak through a 0600 file on tmpfs, never through keycloak.conf or user data.
import json, os, pwd, subprocess

def secret(arn):
    out = subprocess.run(["aws", "secretsmanager", "get-secret-value", "--secret-id", arn,
                          "--query", "SecretString", "--output", "text"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)

database = secret("{boot.db_secret_arn}")
admin = secret("{boot.bootstrap_admin_secret_arn}")
values = {{
    "KC_DB_PASSWORD": database["password"],
    "KC_BOOTSTRAP_ADMIN_USERNAME": admin["username"],
    "KC_BOOTSTRAP_ADMIN_PASSWORD": admin["password"],
}}
for name, value in values.items():
    if "'" in value or "\\n" in value:
        raise SystemExit(f"{{name}}: quotes and newlines are not supported")
path = "/run/keycloak/keycloak.env"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as handle:
    handle.writelines(f"{{name}}='{{value}}'\\n" for name, value in values.items())
user = pwd.getpwnam("keycloak")
os.chown(path, user.pw_uid, user.pw_gid)
"""


def _systemd_unit(install_dir: str) -> str:
    return f"""[Unit]
Description=Keycloak {release.VERSION} (idpkit)
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User=keycloak
Group=keycloak
RuntimeDirectory=keycloak
RuntimeDirectoryMode=0700
# '+': this one step runs as root to read Secrets Manager; Keycloak itself never holds AWS rights beyond
# the instance role's read of its own secrets.
ExecStartPre=+/usr/local/libexec/idpkit/keycloak-env
EnvironmentFile=/run/keycloak/keycloak.env
ExecStart={KEYCLOAK_HOME}/bin/kc.sh start --optimized
Restart=on-failure
RestartSec=15
TimeoutStartSec=600
LimitNOFILE=65536
UMask=0077
# Sandbox (HIPAA 164.312(a)(1) access control; least privilege for an Internet-facing service).
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={install_dir}/data /var/log/keycloak
PrivateTmp=yes
PrivateDevices=yes
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service

[Install]
WantedBy=multi-user.target
"""


def _cloudwatch_agent(boot: HostBootstrap) -> str:
    server = {"file_path": SERVER_LOG, "log_group_name": boot.server_log_group, "log_stream_name": "{instance_id}"}
    # Keycloak's jboss-logging event listener writes login and admin events in category org.keycloak.events;
    # HIPAA 164.312(b) audit controls.
    events = {
        "file_path": SERVER_LOG,
        "log_group_name": boot.event_log_group,
        "log_stream_name": "{instance_id}",
        "filters": [{"type": "include", "expression": "org\\.keycloak\\.events"}],
    }
    config = {
        "agent": {"run_as_user": "root"},
        "logs": {"logs_collected": {"files": {"collect_list": [server, events]}}},
    }
    return json.dumps(config, indent=2) + "\n"
