"""Helpers for realm tests: a scratch copy of realm-config/ to edit, and the realm CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from idpkit import paths


def scratch_project(tmp_path: Path) -> Path:
    """A project directory holding a copy of realm-config/ (IDPKIT_PROJECT_DIR points commands at it)."""
    shutil.copytree(paths.project_root() / "realm-config", tmp_path / "realm-config")
    return tmp_path


def edit(project: Path, file: str, change: Callable[[dict[str, Any]], None]) -> None:
    target = project / "realm-config" / file
    data = yaml.safe_load(target.read_text()) or {}
    change(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False))


def run_realm(
    *args: str, project: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    if project is not None:
        environment["IDPKIT_PROJECT_DIR"] = str(project)
    return subprocess.run(
        [sys.executable, "-m", "idpkit", "realm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
