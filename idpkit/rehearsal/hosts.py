"""A rehearsal host: its own network namespace and file tree, the kit installed the way the user data does.

The user data's wheelhouse lines (`host.wheelhouse.install_commands`) run verbatim under the host's root,
except the first, `aws s3api get-object` (this machine has no AWS CLI): the same read of the pinned object
version is made with boto3. Then `idpkit host up` runs from the host's own venv, inside its namespace,
with the configuration the program rendered (rebound to the emulation's identifiers).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.host import aws
from idpkit.host.config import HostConfig
from idpkit.host.layout import HostLayout
from idpkit.host.wheelhouse import install_commands

_SCRATCH = "/var/tmp/idpkit-wheelhouse"  # noqa: S108 - under the rehearsal host's own root


@dataclass(frozen=True)
class RehearsalHost:
    index: int
    namespace: str
    address: str
    layout: HostLayout

    @property
    def name(self) -> str:
        return f"host-{self.index}"

    def command(self, *arguments: str) -> list[str]:
        """`idpkit <arguments>` from this host's own venv, inside its namespace."""
        return ["ip", "netns", "exec", self.namespace, str(self.layout.kit_command), *arguments]


# The directories a fresh Amazon Linux root has, with its modes: the host's own files go below them.
_OS_DIRECTORIES = {"/opt": 0o755, "/etc": 0o755, "/var": 0o755, "/var/log": 0o755, "/var/lib": 0o755,
                   "/var/tmp": 0o1777, "/run": 0o755}  # fmt: skip  # noqa: S108 - under the host's own root


def prepare_root(host: RehearsalHost) -> None:
    """The host's root as a fresh instance has it, before the user data runs."""
    for directory, mode in _OS_DIRECTORIES.items():
        path = host.layout.at(directory)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)


def install_kit(host: RehearsalHost, region: str, bucket: str, key: str, version: str, env: Mapping[str, str]) -> None:
    """The user data's wheelhouse install, under the host's root."""
    kit_dir, scratch = str(host.layout.kit_dir), str(host.layout.at(_SCRATCH))
    lines = install_commands(bucket, key, version, kit_dir, scratch)
    with _Environment(env):
        aws.download(region, bucket, key, Path(f"{scratch}.tar"), version)
    script = "set -euo pipefail\numask 077\n" + "\n".join(lines[1:]) + "\n"
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if completed.returncode != 0:
        raise IdpkitError(f"{host.name}: installing the kit from the wheelhouse failed:\n{completed.stderr[-2000:]}")


def write_config(host: RehearsalHost, config: HostConfig) -> None:
    host.layout.etc.mkdir(parents=True, exist_ok=True)
    target = host.layout.config_file
    target.write_text(config.to_json())
    target.chmod(0o600)


def run(host: RehearsalHost, arguments: list[str], env: Mapping[str, str], timeout: float = 1200) -> dict[str, Any]:
    """`idpkit <arguments> --json` on the host; its JSON result, or an error with the command's stderr."""
    completed = subprocess.run(
        host.command(*arguments, "--json"),
        capture_output=True, text=True, check=False, timeout=timeout,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **env},
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"{host.name}: `idpkit {' '.join(arguments)}` failed:\n{completed.stderr.strip()[-3000:]}")
    loaded: dict[str, Any] = json.loads(completed.stdout or "{}")
    return loaded


class _Environment:
    """Temporarily set environment variables for boto3 clients created in this process."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *_: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
