"""Plan/apply wall time and HTTP write counts: the shipped realm, then realms with 100 and 500 generated clients.

Usage: python benchmarks/realm_apply.py [--stack local] [--env local]
Each generated size is applied on top of the shipped configuration, re-applied (expect 0 writes),
then removed again with --prune, so the stack ends as the shipped configuration left it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from idpkit import paths
from idpkit.outputs import load_outputs
from idpkit.realm import engine

SIZES = (100, 500, 2000)


def generated_client(index: int) -> dict[str, object]:
    return {
        "clientId": f"bench-{index:04d}",
        "publicClient": False,
        "clientAuthenticatorType": "client-jwt",
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "fullScopeAllowed": False,
        "frontchannelLogout": False,
        "redirectUris": [f"https://bench-{index:04d}.example.org/callback"],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "use.jwks.string": "true",
            "require.pushed.authorization.requests": "true",
            "dpop.bound.access.tokens": "true",
        },
        "defaultClientScopes": ["basic", "phi-api-audience"],
        "optionalClientScopes": ["patient/Observation.rs"],
    }


def project_with(clients: int, environment: str) -> Path:
    project = Path(tempfile.mkdtemp(prefix="realm-bench-"))
    shutil.copytree(paths.project_root() / "realm-config", project / "realm-config")
    overlay = project / "realm-config" / "overlays" / f"{environment}.yaml"
    data = yaml.safe_load(overlay.read_text()) or {}
    data["clients"] = [*(data.get("clients") or []), *(generated_client(i) for i in range(clients))]
    overlay.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


def _measure(label: str, stack: str, environment: str, *, prune: bool = False) -> None:
    outputs = load_outputs(stack)
    planned = engine.plan(engine.Session.open(outputs), environment, stack, prune=prune)
    applied = engine.apply(engine.Session.open(outputs), environment, stack, prune=prune)
    again = engine.apply(engine.Session.open(outputs), environment, stack, prune=prune)
    print(
        f"{label:<28} plan {planned.seconds:7.2f} s ({len(planned.changes):4d} changes) | "
        f"apply {applied.seconds:7.2f} s, writes {applied.writes.total:5d} "
        f"(POST {applied.writes.post}, PUT {applied.writes.put}, DELETE {applied.writes.delete}) | "
        f"re-apply {again.seconds:6.2f} s, writes {again.writes.total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--env", default=None, help="overlay (default: the stack's name)")
    args = parser.parse_args()
    environment = args.env or args.stack
    _measure("shipped realm", args.stack, environment)
    for size in SIZES:
        project = project_with(size, environment)
        os.environ["IDPKIT_PROJECT_DIR"] = str(project)
        try:
            _measure(f"+{size} generated clients", args.stack, environment)
        finally:
            os.environ.pop("IDPKIT_PROJECT_DIR")
            shutil.rmtree(project)
    _measure("prune back to shipped", args.stack, environment, prune=True)


if __name__ == "__main__":
    main()
