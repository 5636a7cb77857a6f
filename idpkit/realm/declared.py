"""The hardened realm's name: realm-config owns it (`realm.realm`), every stack and command reads it here."""

from __future__ import annotations

from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.realm import loader


def realm_name(environment: str, directory: Path | None = None) -> str:
    """The realm `environment`'s merged realm-config declares; a clear error when it declares none."""
    document = loader.load(environment, directory).document
    name = document.realm.realm if document.realm else None
    if not name:
        raise IdpkitError(f"realm-config for {environment!r} declares no realm name (realm.realm)")
    return name
