"""Realm plan/apply at four sizes, each in its own throwaway realm: cold apply, no-op, one-field change; then
`idpkit realm apply` beside keycloak-config-cli on the same content (benchmarks/realm_side_by_side.py).

Usage: python benchmarks/realm_sizes.py [--stack local] [--quick] [--results FILE]

The shipped configuration (realm-config/, `local` overlay) is copied, renamed to `bench-apply-<N>`
and given N generated clients (benchmarks/realm_apply.py's generator); N is 0, 100, 500 and 2000. Per realm:
a cold apply (the realm does not exist; it ends with a verifying plan), the first plan after it, a plan
and an apply with nothing to change (an apply must then make zero write calls), and an apply after
editing one field (the realm's displayName). The realm
is deleted at the end, so the stack keeps only what it had. Writes are POST/PUT/DELETE calls counted
by the kit's admin API client; wall times include every read the plan needs. The run fails when an
apply with nothing to change writes anything.

The side-by-side needs a keycloak-config-cli jar (`scripts/build-keycloak-config-cli`, see
benchmarks/config_cli.py); without one the kit's column is still measured and the section says why the
other is missing. Its 2000-client rows take minutes (keycloak-config-cli's cold import).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import config_cli
import realm_side_by_side
import yaml
from benchlib import Section, arguments, save
from realm_apply import project_with

from idpkit.keycloak_server import release
from idpkit.outputs import StackOutputs, load_outputs
from idpkit.realm import engine, executor, loader
from idpkit.realm.kinds import base

ENVIRONMENT = "local"
SIZES, QUICK_SIZES = (0, 100, 500, 2000), (20,)


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--stack", default="local")
    args = parser.parse_args()
    shipped = len(loader.load(ENVIRONMENT).document.clients or [])
    section = Section(
        f"Realm plan/apply (kit engine; shipped realm = {shipped} clients)",
        ["realm", "clients", "cold apply", "first plan", "no-op plan", "no-op apply", "one-field change"],
    )
    sizes = QUICK_SIZES if args.quick else SIZES
    wrote = [size for size in sizes if _measure(section, load_outputs(args.stack), args.stack, size, shipped)]
    section.note("cells: wall time, writes = POST/PUT/DELETE calls; the kit's engine keeps no state of the realm")
    section.note(
        "cold apply: create the realm, plan and write its contents, then plan again until nothing is pending "
        f"(the verifying plan included); changes of clients run {executor.WRITE_CONCURRENCY} at a time"
    )
    section.note(
        "first plan: the plan right after the cold apply; the apply's own verifying plan made the first read of "
        "every new client, while Keycloak filled its cache from the database (counted in the cold apply)"
    )
    section.note(
        f"plans read all clients, with their scopes and mappers, in pages of {base.CLIENT_PAGE} "
        f"({base.READ_CONCURRENCY} at a time): in one read of every client, Keycloak's cold-cache load grows with "
        "the square of the clients (Hibernate flushes the whole session before each query), 82 s for 2000 here"
    )
    section.note("client keys (`kit.generatedJwk`) come from the stack's credentials file, so no key is generated")
    side, side_wrote = _side_by_side(load_outputs(args.stack), sizes, shipped, quick=args.quick)
    for realm in [f"bench-apply-{size}" for size in wrote] + side_wrote:
        side.note(f"FAILED: the no-op apply of {realm} made write calls")
    save([section, side], args.results)
    return 1 if wrote or side_wrote else 0


def _side_by_side(
    outputs: StackOutputs, sizes: tuple[int, ...], shipped: int, *, quick: bool
) -> tuple[Section, list[str]]:
    """The side-by-side table, and the realms whose no-op `realm apply` wrote anything (it must not)."""
    # Each keycloak-config-cli run starts a JVM (about 10 s on this machine): --quick, a smoke run, leaves it out.
    tool = "keycloak-config-cli: not run with --quick (one JVM start per run)" if quick else config_cli.available()
    section = Section(
        "`idpkit realm apply` beside keycloak-config-cli (same content, same server, back to back)",
        ["clients", "step", "kit (`idpkit realm apply`)", f"keycloak-config-cli {config_cli.VERSION}", "time ratio"],
    )
    wrote: list[str] = []
    with tempfile.TemporaryDirectory(prefix="config-cli-") as work:
        other = (
            realm_side_by_side.ConfigCli(tool, outputs, Path(work)) if isinstance(tool, config_cli.Available) else None
        )
        for size in sizes:
            project = _project(size, realm_side_by_side.realm_name(size))
            load_before = os.getloadavg()[0]
            try:
                steps = realm_side_by_side.compare(outputs, project, size, other, _edit_display_name)
            finally:
                shutil.rmtree(project)
            realm_side_by_side.add_rows(section, shipped + size, steps)
            section.note(
                f"{shipped + size} clients: machine load average (1 min) {load_before:.1f} before these rows, "
                f"{os.getloadavg()[0]:.1f} after"
            )
            if steps[1].kit.writes:
                wrote.append(realm_side_by_side.realm_name(size))
    if isinstance(tool, str):
        section.note(tool)
    else:
        section.note(f"keycloak-config-cli {config_cli.VERSION} built from source, run on Java {tool.java.major}")
    if other is not None and other.unknown:
        section.note(
            f"left out of keycloak-config-cli's file: {', '.join(other.unknown)} (Keycloak {release.VERSION} "
            f"fields its model does not know; its reader rejects a file that has them)"
        )
    section.note(
        "cells: wall time of the process as a user starts it (Python or JVM start included), writes = the realm's "
        "admin events of that run (CREATE/UPDATE/DELETE/ACTION, counted the same way for both tools), peak "
        "resident memory (the process's VmHWM, sampled every 10 ms)"
    )
    section.note(
        "content: the kit applies the generated realm-config; keycloak-config-cli gets that realm exported by Keycloak "
        "(partial export with clients, roles, scopes, identity providers, client policies, and its users with their "
        "realm roles, the kit's authentication flows and required actions), ids and masked secrets removed; keys, "
        "built-in flows, built-in clients and client roles left out (the kit manages none of them), and the "
        "user-profile component (the kit also declares the `fhirUser` attribute, which keycloak-config-cli's file "
        "does not carry)"
    )
    section.note(
        f"hand-made change: the realm's {realm_side_by_side.HAND_MADE_FIELD} set to "
        f"{realm_side_by_side.HAND_MADE_VALUE} through the admin API between two runs (both inputs say 300); the kit "
        "keeps no state of the realm (no cache to disable), so both hand-made rows show its one run"
    )
    section.note(
        "after each tool's cold import every client is read once, untimed, so the rows after it compare steady "
        "state (keycloak-config-cli does not read back what it created, so its cold import does not include "
        "Keycloak filling its cache; the kit's does, in its verifying plan)"
    )
    section.note(
        "Keycloak, its database and the tool measured share the machine's cores (the load averages above include "
        "them); both tools' rows of a size ran back to back on the same server"
    )
    section.note(
        "the kit reads every client of the live realm on every run (it keeps no state of the realm); it keeps the "
        "realm-config files that passed their checks, by content, so a run after the first parses only the files "
        "that changed (the generated clients are in one overlay file: the one-field change parses it again)"
    )
    section.note(
        f"no-op rows: the median of {realm_side_by_side.NO_OP_RUNS} runs of the kit and of keycloak-config-cli's "
        "checksum skip (single sub-second runs vary by a tenth of a second); every other cell is one run"
    )
    section.note("time ratio = keycloak-config-cli wall time / kit wall time")
    return section, wrote


def _measure(section: Section, stack_outputs: StackOutputs, stack: str, size: int, shipped: int) -> bool:
    """One size's row; whether its no-op apply wrote anything (it must not)."""
    name = f"bench-apply-{size}"
    outputs = dataclasses.replace(stack_outputs, realm=name, issuer=f"{stack_outputs.base_url}/realms/{name}")
    project = _project(size, name)
    realm = realm_side_by_side.Realm(outputs, name)
    os.environ["IDPKIT_PROJECT_DIR"] = str(project)
    try:
        realm.drop()
        # Only a master administrator creates a realm: the cold apply logs in to master as the break-glass account.
        cold = engine.apply(engine.Session.open(outputs, break_glass=True), ENVIRONMENT, stack)
        first = engine.plan(engine.Session.open(outputs), ENVIRONMENT, stack)
        plan = engine.plan(engine.Session.open(outputs), ENVIRONMENT, stack)
        noop = engine.apply(engine.Session.open(outputs), ENVIRONMENT, stack)
        _edit_display_name(project)
        edit = engine.apply(engine.Session.open(outputs), ENVIRONMENT, stack)
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
        shutil.rmtree(project)
        realm.drop()
    section.add(
        name,
        shipped + size,
        _cell(cold),
        f"{first.seconds:.2f} s",
        f"{plan.seconds:.2f} s, {len(plan.changes)} changes",
        _cell(noop),
        _cell(edit),
    )
    return bool(noop.writes.total or plan.changes)


def _project(size: int, realm: str) -> Path:
    """The shipped configuration with `size` generated clients, for realm `realm`."""
    project = project_with(size, ENVIRONMENT)
    base = project / "realm-config" / "base" / "realm.yaml"
    base.write_text(re.sub(r"^  realm: \S+$", f"  realm: {realm}", base.read_text(), count=1, flags=re.MULTILINE))
    return project


def _cell(result: engine.Plan) -> str:
    return f"{result.seconds:.2f} s, {result.writes.total} writes"


def _edit_display_name(project: Path) -> None:
    overlay = project / "realm-config" / "overlays" / f"{ENVIRONMENT}.yaml"
    data = yaml.safe_load(overlay.read_text())
    data["realm"]["displayName"] = f"{data['realm'].get('displayName', '')} (edited)"
    overlay.write_text(yaml.safe_dump(data, sort_keys=False))


if __name__ == "__main__":
    sys.exit(main())
