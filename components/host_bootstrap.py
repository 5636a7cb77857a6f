"""What a Keycloak host runs at first boot: pure functions, so tests read exactly what EC2 receives.

The host installs the pinned distribution (`idpkit.keycloak_server.release`) from the stack's
artifacts bucket, checks its SHA-512, writes `conf/keycloak.conf` from
`render_keycloak_conf(ServerSettings(...))` (the definition the local stack renders too), and starts
three services: nginx (the host-local proxy the load balancer talks to), Keycloak (loopback only,
unprivileged, systemd-sandboxed) and the CloudWatch agent.

Ports on a host:
  8443  nginx, browser traffic from the load balancer (client-certificate headers stripped)
  8445  nginx, machine traffic from the mutual-TLS listener (issue 5 hook: re-encodes the ALB's
        verified X-Amzn-Mtls-Clientcert-Leaf as RFC 9440 Client-Cert)
  8444  Keycloak HTTPS on 127.0.0.1: reached only by nginx and by the SSM admin port forward
  9000  Keycloak management (health, metrics), for load balancer health checks
  7800, 57800  JGroups (jdbc-ping) cluster traffic and its failure detection, host to host
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from idpkit.keycloak_server import release
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
TLS_DIR = "/etc/idpkit/tls"
HOST_CERTIFICATE = f"{TLS_DIR}/host.pem"
NGINX_KEY = f"{TLS_DIR}/nginx.key"
KEYCLOAK_KEY = f"{TLS_DIR}/keycloak.key"
RDS_CA_BUNDLE = "/etc/idpkit/rds-ca.pem"
SERVER_LOG = "/var/log/keycloak/keycloak.log"
M2M_CERT_HOOK = "/etc/idpkit/nginx/m2m-client-cert.conf"
DB_NAME = "keycloak"
DB_USERNAME = "keycloak"
# EC2 rejects user data over 16 KiB.
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
        # Only the host-local nginx may set X-Forwarded-* and Client-Cert (RFC 9700 §4.13).
        trusted_proxy_addresses=("127.0.0.1",),
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
        client_certificate_lookup=ClientCertificateLookup(),
    )


@dataclass(frozen=True)
class HostBootstrap:
    """The resolved values a host's first boot needs."""

    region: str
    """AWS region of the stack."""
    keycloak_conf: str
    """`render_keycloak_conf(...)` output, written verbatim to conf/keycloak.conf."""
    artifacts_bucket: str
    """Bucket holding the staged Keycloak archive and the RDS CA bundle."""
    keycloak_object_key: str
    """Object key of the staged `release.ARCHIVE_NAME`."""
    rds_ca_object_key: str
    """Object key of the RDS CA bundle for the region."""
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


def render_user_data(boot: HostBootstrap) -> str:
    """The cloud-init shell script of a Keycloak host."""
    archive = f"/var/tmp/{release.ARCHIVE_NAME}"  # noqa: S108  # on the host, root-only, during first boot
    install_dir = f"/opt/{release.DIST_DIRECTORY}"
    script = [
        "#!/bin/bash",
        "# Rendered by idpkit components/host_bootstrap.py.",
        "set -euo pipefail",
        "umask 077",
        f"export AWS_REGION={boot.region} AWS_DEFAULT_REGION={boot.region}",
        # Access is SSM Session Manager only; no SSH daemon, no EC2 Instance Connect keys.
        "systemctl disable --now sshd.service || true",
        # Amazon Linux 2023 repositories are served from S3, reachable through the gateway endpoint.
        "dnf install -y java-21-amazon-corretto-headless nginx amazon-cloudwatch-agent python3",
        "useradd --system --home-dir /opt/keycloak --shell /sbin/nologin keycloak",
        "install -d -m 0755 /etc/idpkit /etc/idpkit/nginx /usr/local/libexec/idpkit",
        f"install -d -m 0750 {TLS_DIR}",
        "install -d -m 0750 -o keycloak -g keycloak /var/log/keycloak",
        # The pinned distribution, staged from Maven Central at deploy time, verified here.
        f"aws s3 cp s3://{boot.artifacts_bucket}/{boot.keycloak_object_key} {archive}",
        f'echo "{release.SHA512}  {archive}" | sha512sum --check --strict -',
        f"tar -xzf {archive} -C /opt && rm -f {archive}",
        f"ln -sfn {install_dir} {KEYCLOAK_HOME}",
        f"aws s3 cp s3://{boot.artifacts_bucket}/{boot.rds_ca_object_key} {RDS_CA_BUNDLE}",
        f"chmod 0644 {RDS_CA_BUNDLE}",
    ]
    script += _file("/usr/local/libexec/idpkit/host-tls", _HOST_TLS_SCRIPT, "0700")
    script += [f"/usr/local/libexec/idpkit/host-tls {boot.host_tls_secret_arn}"]
    script += _file(KEYCLOAK_CONF, boot.keycloak_conf, "0640", group="keycloak")
    script += [
        f"{KEYCLOAK_HOME}/bin/kc.sh build",
        f"chown -R root:keycloak {install_dir} && chmod -R go-w,o-rwx {install_dir}",
        f"install -d -m 0700 -o keycloak -g keycloak {install_dir}/data",
    ]
    script += _file("/usr/local/libexec/idpkit/keycloak-env", _env_script(boot), "0700")
    script += _file("/etc/systemd/system/keycloak.service", _systemd_unit(install_dir), "0644")
    script += _file("/etc/nginx/nginx.conf", _NGINX_MAIN, "0644")
    script += _file("/etc/nginx/conf.d/idpkit.conf", _NGINX_CONF, "0644")
    script += _file("/etc/idpkit/nginx/proxy.conf", _NGINX_PROXY, "0644")
    script += _file(M2M_CERT_HOOK, _M2M_CERT_HOOK, "0644")
    agent = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
    script += _file(agent, _cloudwatch_agent(boot), "0644")
    script += [
        f"/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:{agent}",
        "systemctl daemon-reload",
        "systemctl enable --now nginx.service",
        # Keycloak #41290: nodes starting at the same moment can form split clusters; stagger them.
        "sleep $((RANDOM % 120))",
        "systemctl enable --now keycloak.service",
    ]
    rendered = "\n".join(script) + "\n"
    if len(rendered.encode()) > USER_DATA_LIMIT:
        raise ValueError(f"user data: {len(rendered.encode())} bytes exceeds EC2's {USER_DATA_LIMIT}")
    return rendered


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


# OpenSSL names of the BCP 195 (RFC 9325 §4.2) TLS 1.2 suites; TLS 1.3 suites are always on.
_NGINX_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)

# Replaces the distribution's nginx.conf, whose default server listens on port 80.
_NGINX_MAIN = """user nginx;
worker_processes auto;
error_log /var/log/nginx/error.log notice;
pid /run/nginx.pid;
include /usr/share/nginx/modules/*.conf;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
"""

_NGINX_CONF = f"""# idpkit host proxy: the load balancer's only way in (HTTPS inside the VPC, HIPAA 164.312(e)(1)).
server_tokens off;

upstream keycloak {{
    server 127.0.0.1:{KEYCLOAK_HTTPS_PORT};
    keepalive 32;
}}

# Browser listener: never forwards client-certificate headers (RFC 9700 §4.13).
server {{
    listen {BROWSER_PROXY_PORT} ssl;
    ssl_certificate {HOST_CERTIFICATE};
    ssl_certificate_key {NGINX_KEY};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {_NGINX_CIPHERS};

    # The admin console and the master realm are never public (the load balancer blocks them too).
    location ^~ /admin {{ return 404; }}
    location ^~ /realms/master {{ return 404; }}
    location / {{
        include /etc/idpkit/nginx/proxy.conf;
        proxy_set_header Client-Cert "";
        proxy_set_header Client-Cert-Chain "";
        proxy_pass https://keycloak;
    }}
}}

# Machine listener behind the ALB's mutual-TLS (verify) listener.
server {{
    listen {M2M_PROXY_PORT} ssl;
    ssl_certificate {HOST_CERTIFICATE};
    ssl_certificate_key {NGINX_KEY};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {_NGINX_CIPHERS};

    location ^~ /admin {{ return 404; }}
    location ^~ /realms/master {{ return 404; }}
    location / {{
        include /etc/idpkit/nginx/proxy.conf;
        include {M2M_CERT_HOOK};
        proxy_pass https://keycloak;
    }}
}}
"""

_NGINX_PROXY = f"""proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $host;
# The ALB appends the client address; Keycloak trusts these headers only from 127.0.0.1.
proxy_set_header X-Forwarded-For $http_x_forwarded_for;
proxy_set_header X-Forwarded-Proto https;
proxy_set_header X-Forwarded-Host $host;
proxy_set_header X-Forwarded-Port $http_x_forwarded_port;
proxy_set_header X-Amzn-Mtls-Clientcert "";
proxy_set_header X-Amzn-Mtls-Clientcert-Leaf "";
# TLS to Keycloak on loopback too, with the host certificate pinned.
proxy_ssl_verify on;
proxy_ssl_trusted_certificate {HOST_CERTIFICATE};
proxy_ssl_name localhost;
proxy_ssl_server_name on;
proxy_ssl_protocols TLSv1.3;
"""

_M2M_CERT_HOOK = """# Issue 5 replaces this file: re-encode the ALB-verified certificate
# ($http_x_amzn_mtls_clientcert_leaf, URL-encoded PEM with '+', '=' and '/' left as-is) as the
# RFC 9440 Client-Cert header Keycloak's rfc9440 lookup reads. Until then no certificate is
# forwarded, so certificate-bound clients fail closed.
proxy_set_header Client-Cert "";
proxy_set_header Client-Cert-Chain "";
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
