"""Where the kit keeps state, caches and its own project files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "idpkit"


def running_as_root() -> bool:
    return os.geteuid() == 0


def state_root() -> Path:
    """Root of every local stack's state; `IDPKIT_STATE_DIR` overrides it.

    As root the state lives under /var/lib so that the unprivileged Keycloak user can reach it
    (root's home is closed to other users).
    """
    if override := os.environ.get("IDPKIT_STATE_DIR"):
        return Path(override)
    if running_as_root():
        return Path("/var/lib") / APP_NAME
    return Path(platformdirs.user_state_dir(APP_NAME))


def cache_dir() -> Path:
    """Download cache (the verified Keycloak distribution); `IDPKIT_CACHE_DIR` overrides it."""
    if override := os.environ.get("IDPKIT_CACHE_DIR"):
        return Path(override)
    return Path(platformdirs.user_cache_dir(APP_NAME))


def stack_dir(stack: str) -> Path:
    return state_root() / "stacks" / stack


def project_root() -> Path:
    """The kit's checkout (holds realm-config/, stacks/, smoke-tests/); `IDPKIT_PROJECT_DIR` overrides it."""
    if override := os.environ.get("IDPKIT_PROJECT_DIR"):
        return Path(override)
    return Path(__file__).resolve().parent.parent
