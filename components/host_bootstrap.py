"""What a Keycloak host runs at first boot: a short user-data script, rendered by pure functions so tests
read exactly what EC2 receives.

The script installs operating-system packages from Amazon Linux 2023's own repositories only (Java,
HAProxy for the host proxy, Python, the CloudWatch agent), installs the kit from the wheelhouse the
operator staged (`idpkit host wheelhouse`, pinned to its S3 object version; the hosts have no package
index), writes the host's configuration (`idpkit.host.config.HostConfig`: names, ARNs and versions, no
secret) and runs `idpkit host up`, which does the rest in Python with the renderers the local stack uses
(idpkit/host/). The rehearsal (`idpkit rehearse`) runs the same command against an emulation of the AWS
APIs.
"""

from __future__ import annotations

from dataclasses import dataclass

from idpkit.host.config import HostConfig
from idpkit.host.layout import AWS_HOST
from idpkit.host.user_data import HOST_CONFIG_FILE, compress_user_data, file_lines
from idpkit.host.wheelhouse import HOST_PYTHON_VERSION, install_commands

OS_PACKAGES = (
    "java-21-amazon-corretto-headless",
    "haproxy",
    # The host firewall (idpkit/host/firewall.py): the service users cannot reach instance metadata.
    "nftables",
    "amazon-cloudwatch-agent",
    f"python{HOST_PYTHON_VERSION}",
    f"python{HOST_PYTHON_VERSION}-pip",
)
"""Installed with dnf from Amazon Linux 2023's repositories (served from S3 through the gateway endpoint):
the distribution signs them, so the kit pins nothing it cannot verify."""
HOST_KIT_COMMAND = str(AWS_HOST.kit_command)
HOST_OUTPUTS_FILE = str(AWS_HOST.outputs_file)
"""The stack outputs contract as seen from the host (`IDPKIT_OUTPUTS_FILE` of the scheduled commands)."""
WHEELHOUSE_DIR = "/var/tmp/idpkit-wheelhouse"  # noqa: S108  # on the host, root-only (umask 077), first boot only
START_JITTER_SECONDS = 120
"""Keycloak #41290: nodes starting at the same moment can form split clusters; each waits up to this long."""
# EC2 rejects user data over 16 KiB (before base64). The script is sent gzip-compressed, which cloud-init
# unpacks itself; the compressed size is what counts.
USER_DATA_LIMIT = 16 * 1024


@dataclass(frozen=True)
class StagedWheelhouse:
    """Where the kit's wheelhouse is staged, and the exact version this launch template accepts."""

    bucket: str
    key: str
    version: str


def render_user_data(config: HostConfig, wheelhouse: StagedWheelhouse) -> str:
    """The cloud-init shell script of a Keycloak host."""
    script = [
        "#!/bin/bash",
        "# Rendered by idpkit components/host_bootstrap.py; the host's work is `idpkit host up` (idpkit/host/).",
        "set -euo pipefail",
        "umask 077",
        f"export AWS_REGION={config.region} AWS_DEFAULT_REGION={config.region}",
        # Access is SSM Session Manager only; no SSH daemon, no EC2 Instance Connect keys.
        "systemctl disable --now sshd.service || true",
        f"dnf install -y {' '.join(OS_PACKAGES)}",
        *install_commands(wheelhouse.bucket, wheelhouse.key, wheelhouse.version, str(AWS_HOST.kit_dir), WHEELHOUSE_DIR),
        *file_lines(HOST_CONFIG_FILE, config.to_json(), "0600"),
        f"{HOST_KIT_COMMAND} host up --config {HOST_CONFIG_FILE} --supervisor systemd",
    ]
    rendered = "\n".join(script) + "\n"
    compressed = compress_user_data(rendered)
    if len(compressed) > USER_DATA_LIMIT:
        raise ValueError(f"user data: {len(compressed)} bytes (gzip) exceeds EC2's {USER_DATA_LIMIT}")
    return rendered
