"""The kit's Keycloak extension (`keycloak-kms/`): realm signing keys held in AWS KMS.

Built from source with Maven on the operator's (or CI's) machine, never downloaded: `build` runs
`mvn package` with `-Dkeycloak.version` from `release.VERSION` (the only place the version lives) and
skips Maven when the sources have not changed since the last build. The jar is reproducible (fixed
entry times), so its SHA-256 is what a deployment pins: the local stack installs it into Keycloak's
`providers/`, the Pulumi program stages it in the artifacts bucket, and each host refuses any other
bytes (`idpkit.host.kms_provider`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from idpkit.errors import IdpkitError
from idpkit.keycloak_server import release

SigningChoice = Literal["imported", "kms"]
SIGNING_CHOICES: tuple[SigningChoice, ...] = ("imported", "kms")
"""Where a stack's realm signing keys live: `kms` (created in KMS, Keycloak signs through this provider and
never holds the private key) or `imported` (kit-generated material imported into Keycloak's database)."""
PROVIDER_ID = "idpkit-kms"
"""The key provider's id (`KmsKeyProviderFactory.ID`): what realm components name."""
JAR_NAME = "idpkit-keycloak-kms.jar"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "keycloak-kms"
"""The Maven project; present in a checkout of the kit (hosts get the built jar, never the sources)."""
_STAMP = "idpkit-sources.sha256"


@dataclass(frozen=True)
class BuiltProvider:
    jar: Path
    sha256: str
    built: bool
    """False when the sources were unchanged and Maven did not run."""
    seconds: float


def sources_digest(source_dir: Path = SOURCE_DIR) -> str:
    """SHA-256 over the pom, every source and resource file (names and contents) and the Keycloak version."""
    digest = hashlib.sha256(f"keycloak {release.VERSION}\n".encode())
    files = [source_dir / "pom.xml", *sorted(path for path in (source_dir / "src").rglob("*") if path.is_file())]
    for path in files:
        digest.update(str(path.relative_to(source_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build(source_dir: Path = SOURCE_DIR) -> BuiltProvider:
    """The provider jar, built (with its unit tests) only when the sources changed since the last build."""
    started = time.monotonic()
    if not (source_dir / "pom.xml").exists():
        raise IdpkitError(
            f"{source_dir}: the keycloak-kms sources are not here",
            hint="build the provider from a checkout of the idpkit repository",
        )
    jar = source_dir / "target" / JAR_NAME
    stamp = source_dir / "target" / _STAMP
    wanted = sources_digest(source_dir)
    if jar.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return BuiltProvider(jar, sha256_of(jar), built=False, seconds=time.monotonic() - started)
    maven = shutil.which("mvn")
    if maven is None:
        raise IdpkitError(
            "Maven (mvn) is not installed: it builds the KMS signing provider from source",
            hint="install it (Debian: apt-get install maven) and re-run",
        )
    command = [maven, "-B", "-q", f"-Dkeycloak.version={release.VERSION}", "package"]
    # Offline first: once the dependencies are in ~/.m2 a rebuild needs no network at all.
    completed = subprocess.run(
        [*command[:3], "-o", *command[3:]], cwd=source_dir, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        completed = subprocess.run(command, cwd=source_dir, capture_output=True, text=True, check=False)
    if completed.returncode != 0 or not jar.exists():
        output = (completed.stdout + completed.stderr).strip().splitlines()
        raise IdpkitError(
            f"building the KMS signing provider failed (mvn package in {source_dir}):\n" + "\n".join(output[-25:])
        )
    stamp.write_text(wanted + "\n")
    return BuiltProvider(jar, sha256_of(jar), built=True, seconds=time.monotonic() - started)


def stage(target: Path, source_dir: Path = SOURCE_DIR) -> BuiltProvider:
    """Build the jar (when its sources changed) and copy it to `target`, where `pulumi up` uploads it from."""
    built = build(source_dir)
    if not target.is_file() or sha256_of(target) != built.sha256:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(built.jar, staging)
        staging.replace(target)
    return BuiltProvider(target, built.sha256, built.built, built.seconds)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
