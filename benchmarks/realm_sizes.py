"""Realm plan/apply at three sizes, each in its own throwaway realm: cold apply, no-op, one-field change.

Usage: python benchmarks/realm_sizes.py [--stack local] [--quick] [--results FILE]

The shipped configuration (realm-config/, `local` overlay) is copied, renamed to `bench-apply-<N>`
and given N generated clients (benchmarks/realm_apply.py's generator); N is 0, 100, 500 and 2000. Per realm:
a cold apply (the realm does not exist), the first plan after it (Keycloak's cache still cold), a plan
and an apply with nothing to change (an apply must then make zero write calls), and an apply after
editing one field (the realm's displayName). The realm
is deleted at the end, so the stack keeps only what it had. Writes are POST/PUT/DELETE calls counted
by the kit's admin API client; wall times include every read the plan needs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from pathlib import Path

import requests
import yaml
from benchlib import Section, arguments, save
from realm_apply import project_with

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, ApiError, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials, load_outputs
from idpkit.realm import engine, loader

ENVIRONMENT = "local"
SIZES, QUICK_SIZES = (0, 100, 500, 2000), (0, 20)
CONFIG_CLI_GROUP = "https://repo.maven.apache.org/maven2/de/adorsys/keycloak/"
_NOT_FOUND = 404


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--stack", default="local")
    args = parser.parse_args()
    shipped = len(loader.load(ENVIRONMENT).document.clients or [])
    section = Section(
        f"Realm plan/apply (kit engine; shipped realm = {shipped} clients)",
        ["realm", "clients", "cold apply", "first plan", "no-op plan", "no-op apply", "one-field change"],
    )
    for size in QUICK_SIZES if args.quick else SIZES:
        _measure(section, load_outputs(args.stack), args.stack, size, shipped)
    section.note(_config_cli_availability())
    section.note("cells: wall time, writes = POST/PUT/DELETE calls; the kit's engine needs no state file or cache")
    section.note(
        "first plan: the first read of every client after the cold apply, while Keycloak fills its cache "
        "from the database (creates are one POST each, so nothing warmed it); later plans read the cache"
    )
    section.note("plans read all clients, with their scopes and mappers, in one GET")
    section.note("client keys (`kit.generatedJwk`) come from the stack's credentials file, so no key is generated")
    save([section], args.results)
    return 0


def _measure(section: Section, stack_outputs: StackOutputs, stack: str, size: int, shipped: int) -> None:
    name = f"bench-apply-{size}"
    outputs = dataclasses.replace(stack_outputs, realm=name, issuer=f"{stack_outputs.base_url}/realms/{name}")
    project = project_with(size, ENVIRONMENT)
    base = project / "realm-config" / "base" / "realm.yaml"
    base.write_text(re.sub(r"^  realm: \S+$", f"  realm: {name}", base.read_text(), count=1, flags=re.MULTILINE))
    master = AdminApi(connect(outputs, load_admin_credentials(outputs)), ADMIN_REALM)
    os.environ["IDPKIT_PROJECT_DIR"] = str(project)
    try:
        _drop(master, name)
        cold = engine.apply(engine.Session.open(outputs), ENVIRONMENT, stack)
        first = engine.plan(engine.Session.open(outputs), ENVIRONMENT, stack)
        plan = engine.plan(engine.Session.open(outputs), ENVIRONMENT, stack)
        noop = engine.apply(engine.Session.open(outputs), ENVIRONMENT, stack)
        _edit_display_name(project)
        edit = engine.apply(engine.Session.open(outputs), ENVIRONMENT, stack)
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
        shutil.rmtree(project)
        _drop(master, name)
    section.add(
        name,
        shipped + size,
        _cell(cold),
        f"{first.seconds:.2f} s",
        f"{plan.seconds:.2f} s, {len(plan.changes)} changes",
        _cell(noop),
        _cell(edit),
    )


def _cell(result: engine.Plan) -> str:
    return f"{result.seconds:.2f} s, {result.writes.total} writes"


def _edit_display_name(project: Path) -> None:
    overlay = project / "realm-config" / "overlays" / f"{ENVIRONMENT}.yaml"
    data = yaml.safe_load(overlay.read_text())
    data["realm"]["displayName"] = f"{data['realm'].get('displayName', '')} (edited)"
    overlay.write_text(yaml.safe_dump(data, sort_keys=False))


def _drop(master: AdminApi, realm: str) -> None:
    try:
        master.delete(AdminApi(master.connection, realm).path(urls.REALM))
    except ApiError as error:
        if error.status != _NOT_FOUND:
            raise


def _config_cli_availability() -> str:
    """keycloak-config-cli is the obvious side-by-side, but it is not published where this machine can fetch it."""
    try:
        status = requests.head(CONFIG_CLI_GROUP, timeout=15, allow_redirects=True).status_code
    except requests.RequestException as error:
        return f"keycloak-config-cli: not obtainable here (Maven Central unreachable: {type(error).__name__})"
    if status == _NOT_FOUND:
        return (
            "keycloak-config-cli: not obtainable from any registry reachable here "
            "(Maven Central 404 for de.adorsys.keycloak)"
        )
    return f"keycloak-config-cli: Maven Central answered HTTP {status} for de.adorsys.keycloak; not benchmarked here"


if __name__ == "__main__":
    sys.exit(main())
