"""`idpkit rehearse`: the steps, in order, each recorded with its outcome; teardown unless `--keep`."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable

from idpkit import paths
from idpkit.host.services import Processes
from idpkit.rehearsal import checks, edge, environment, key_material, network
from idpkit.rehearsal.layout import RehearsalLayout
from idpkit.rehearsal.state import Rehearsal


def rehearse(
    stack: str,
    *,
    keep: bool,
    progress: Callable[[str], None],
    only_up: bool = False,
    afterwards: Callable[[Rehearsal], None] | None = None,
) -> Rehearsal:
    """`afterwards` adds steps once every check passed, before teardown (`--chaos short`: fault scenarios)."""
    layout = RehearsalLayout(stack)
    run = Rehearsal(stack, layout, progress)
    try:
        run.step("preflight", lambda: environment.preflight(run, purge))
        run.step("KMS signing provider (Maven)", environment.kms_provider)
        run.step("resource graph (Pulumi program under mocks)", lambda: environment.resource_graph(run))
        run.step("host wheelhouse", lambda: environment.wheelhouse(run))
        run.step("certificates", lambda: environment.certificates(run))
        run.step("network namespaces", lambda: environment.namespaces(run))
        run.step("database (RDS stand-in, TLS)", lambda: environment.rds_stand_in(run))
        run.step("AWS API emulation seeded from the graph", lambda: environment.aws_emulation(run))
        for index in range(1, network.HOST_COUNT + 1):
            step = functools.partial(environment.host_up, run, index)
            run.step(f"host {index}: kit from the wheelhouse, idpkit host up", step)
        run.step("load balancer emulation (front door)", lambda: edge.load_balancer(run))
        run.step("admin tunnel (SSM port forward)", lambda: edge.admin_tunnel(run))
        if not only_up:
            run.step("realm apply", lambda: checks.realm_apply(run))
            run.step("smoke, database credentials rotated mid-run", lambda: checks.smoke_with_rotation(run))
            run.step("nodes move to the new database role, one at a time", lambda: checks.refresh_database_role(run))
            run.step("flows after the rolling restart", lambda: checks.smoke(run, checks.FLOWS))
            run.step("signing key rotation from a host (STS)", lambda: checks.signing_key_rotation(run))
            for index in range(1, network.HOST_COUNT + 1):
                run.step(f"host {index}: host hardening checks", functools.partial(checks.host_checks, run, index))
            run.step("flows and token checks after the key rotation", lambda: checks.tokens_after_rotation(run))
            run.step("no private signing key in the database, on the hosts, in Secrets Manager",
                     lambda: key_material.search(run))  # fmt: skip
            if afterwards is not None:
                afterwards(run)
    finally:
        layout.root.mkdir(parents=True, exist_ok=True)
        layout.report.write_text(json.dumps(run.to_dict(), indent=2) + "\n")
        if not keep:
            down(stack)
    return run


def down(stack: str) -> list[str]:
    """Stop everything of the stack's rehearsal and remove its namespaces (its state directory stays)."""
    layout = RehearsalLayout(stack)
    stopped: list[str] = []
    for index in range(1, network.HOST_COUNT + 1):
        if layout.host(index).root.exists():
            stopped += [f"host-{index} {name}" for name in Processes(layout.host(index)).stop_all()]
    for process in (
        *(layout.process(name) for name in ("front-door", "admin-tunnel", "aws-emulation")),
        *(layout.process(f"kms-endpoint-{index}") for index in range(1, network.HOST_COUNT + 1)),
        layout.database_process(),
    ):
        if process.stop():
            stopped.append(process.name)
    topology = network.held(stack, paths.state_root())
    if topology is not None:
        if network.destroy(topology):
            stopped.append("network namespaces")
        network.release(topology, paths.state_root())
    return stopped


def purge(stack: str) -> None:
    down(stack)
    shutil.rmtree(RehearsalLayout(stack).root, ignore_errors=True)
