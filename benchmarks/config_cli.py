"""keycloak-config-cli, the usual tool for applying realm files, run beside the kit by benchmarks/realm_sizes.py.

Usage: python benchmarks/config_cli.py build   (what scripts/build-keycloak-config-cli runs)

It is not published to any registry (Maven Central holds only stale zero versions), so it is built from
source: the release tag below is cloned from KCC_SOURCE (default: its GitHub repository; a local clone or
mirror works too) and packaged by Maven with a Java 21+ JDK found on the machine (JAVA_HOME, PATH, or
/usr/lib/jvm and /opt). The jar goes to the kit's cache directory, outside the repository; nothing of it is
ever committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from idpkit import paths
from idpkit.errors import IdpkitError
from idpkit.keycloak_server import release
from idpkit.system.java import JavaRuntime, find_java

VERSION = "v6.5.0"
"""The newest release (2026-03); built against the stack's Keycloak version below."""
SOURCE_ENV, DEFAULT_SOURCE = "KCC_SOURCE", "https://github.com/adorsys/keycloak-config-cli.git"
JAR_ENV = "KCC_JAR"
MINIMUM_JAVA = 21
BUILD_COMMAND = "scripts/build-keycloak-config-cli"
_MAVEN_FLAGS = (
    "-B", "-ntp", "clean", "package", "-Dmaven.test.skip=true", "-DskipTests", f"-Dkeycloak.version={release.VERSION}",
    "-Dkeycloak.client.version=26.0.8", "-Dlicense.skipCheckLicense", "-Dcheckstyle.skip",
)  # fmt: skip


def jar_path() -> Path:
    """Where the build puts the jar (KCC_JAR points elsewhere)."""
    if override := os.environ.get(JAR_ENV):
        return Path(override)
    return paths.cache_dir() / "keycloak-config-cli" / f"keycloak-config-cli-{VERSION}.jar"


def java(*, jdk: bool = False) -> JavaRuntime:
    return find_java(MINIMUM_JAVA, search_installed=True, jdk=jdk, purpose="keycloak-config-cli")


@dataclass(frozen=True)
class Available:
    jar: Path
    java: JavaRuntime


def available() -> Available | str:
    """The jar and a Java to run it, or why keycloak-config-cli cannot run here (and how to fix that)."""
    jar = jar_path()
    if not jar.is_file():
        return f"keycloak-config-cli not benchmarked: no jar at {jar}; build it with `{BUILD_COMMAND}` (about a minute)"
    try:
        return Available(jar, java())
    except IdpkitError as error:
        return f"keycloak-config-cli not benchmarked: {error}"


def build() -> Path:
    """Clone the release tag, package it with Maven on a Java 21+ JDK, and keep only the jar."""
    jdk = java(jdk=True)
    source = os.environ.get(SOURCE_ENV, DEFAULT_SOURCE)
    target = jar_path()
    with tempfile.TemporaryDirectory(prefix="kcc-build-") as scratch:
        checkout = Path(scratch) / "src"
        subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", VERSION, source, str(checkout)], check=True
        )
        env = dict(os.environ, JAVA_HOME=str(jdk.home), PATH=f"{jdk.home / 'bin'}:{os.environ['PATH']}")
        subprocess.run(["mvn", *_MAVEN_FLAGS], cwd=checkout, env=env, check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkout / "target" / "keycloak-config-cli.jar", target)
    return target


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit(__doc__)
    print(f"built {build()}")
