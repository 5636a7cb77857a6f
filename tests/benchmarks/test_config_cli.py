"""keycloak-config-cli beside the kit: without a jar the realm benchmark says how to build one; Java 21+ is
found among the installed JDKs, or a clear error names what was rejected."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from idpkit import paths
from idpkit.errors import IdpkitError
from idpkit.system.java import INSTALLED_JDK_ROOTS, find_java

sys.path.insert(0, str(paths.project_root() / "benchmarks"))  # the benchmarks are scripts, not a package
import config_cli


def test_missing_jar_names_the_build_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(config_cli.JAR_ENV, str(tmp_path / "absent.jar"))
    reason = config_cli.available()
    assert isinstance(reason, str), "keycloak-config-cli reported available without a jar"
    assert config_cli.BUILD_COMMAND in reason and "absent.jar" in reason, f"reason does not say how to build: {reason}"


def test_build_script_exists_and_runs_the_builder() -> None:
    script = paths.project_root() / config_cli.BUILD_COMMAND
    assert script.is_file() and script.stat().st_mode & 0o111, f"{script} missing or not executable"
    assert "benchmarks/config_cli.py" in script.read_text() and " build" in script.read_text()


def test_too_new_a_java_minimum_is_a_clear_error() -> None:
    with pytest.raises(IdpkitError, match=r"keycloak-config-cli needs Java 999 or newer"):
        find_java(999, search_installed=True, purpose="keycloak-config-cli")


def test_a_jdk_is_found_for_the_build_when_one_is_installed() -> None:
    jdks = [javac.parent.parent for root in INSTALLED_JDK_ROOTS for javac in root.glob("*/bin/javac")]
    if not any(_release_major(home) >= config_cli.MINIMUM_JAVA for home in jdks):
        pytest.skip(f"no Java {config_cli.MINIMUM_JAVA}+ JDK under {INSTALLED_JDK_ROOTS} on this machine")
    found = find_java(config_cli.MINIMUM_JAVA, search_installed=True, jdk=True, purpose="keycloak-config-cli")
    assert (found.home / "bin" / "javac").is_file(), f"{found.home} has no javac"
    assert found.major >= config_cli.MINIMUM_JAVA, f"{found.home}: Java {found.major} is too old"


def _release_major(home: Path) -> int:
    """The major version a JDK's `release` file declares (0 when it has none)."""
    release = home / "release"
    found = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(), re.MULTILINE) if release.is_file() else None
    return int(found.group(1)) if found else 0
