"""What an operator (and a schedule) does against a rehearsed stack, each step asserting its outcome: the
realm applied twice (the second a no-op), the smoke suite while the database credentials rotate, the
nodes moved to the new role, a signing key rotation from a host through STS, the host checks per host."""

from __future__ import annotations

import json
import re
import threading
import time

from idpkit.errors import IdpkitError
from idpkit.outputs import OUTPUTS_FILE_ENV
from idpkit.rehearsal import hosts, state
from idpkit.rehearsal.state import Rehearsal
from idpkit.smoke.hosts import HOST_ROOT_ENV, HOSTS_ENV

ROTATION_MARGIN_SECONDS = 0
"""The rehearsal promotes the new signing key at once; deployments keep the default margin."""
# Later runs re-check what the change they follow could break, not the whole suite again.
FLOWS = "test_flow"
FLOWS_AND_TOKENS = "test_flow or test_discovery or test_attack_token_integrity"
_PYTEST_SUMMARY = re.compile(r"\b\d+ (passed|failed|skipped)\b.* in [\d.]+s")
_HOST_CHECKS_MODULE = "test_host_hardening"
"""Run per host inside its namespace (a testinfra `local://` backend there sees that host's sockets)."""


def realm_apply(run: Rehearsal) -> str:
    result = json.loads(run.operator("realm", "apply", "--stack", run.stack, "--json"))
    again = json.loads(run.operator("realm", "apply", "--stack", run.stack, "--json"))
    writes = again.get("writes", {}).get("total")
    if writes:
        raise IdpkitError(f"a second realm apply made {writes} writes; it must make none")
    return f"{len(result.get('changes', []))} changes applied; second apply: 0 writes"


def smoke(run: Rehearsal, selection: str | None = None) -> str:
    """The smoke suite from the edge (the host checks run per host, `_host_checks`)."""
    selected = f"not {_HOST_CHECKS_MODULE}" if selection is None else f"({selection}) and not {_HOST_CHECKS_MODULE}"
    output = run.operator("smoke", "--stack", run.stack, "-k", selected, "-q")
    summary = next((line for line in reversed(output.splitlines()) if _PYTEST_SUMMARY.search(line)), "")
    return summary.strip("= ")


def smoke_with_rotation(run: Rehearsal) -> str:
    """The smoke suite runs while the database credentials rotate: no connection may break."""
    result: dict[str, str] = {}
    failure: list[IdpkitError] = []

    def whole_suite() -> None:
        try:
            result["smoke"] = smoke(run)
        except IdpkitError as error:
            failure.append(error)

    runner = threading.Thread(target=whole_suite)
    runner.start()
    time.sleep(5)
    first = run.hosts[0]
    rotated = hosts.run(first, ["host", "rotate-db-credentials", "--root", str(first.layout.root)], run.aws_env())
    runner.join()
    if failure:
        raise failure[0]
    return f"rotated {rotated['previous_role']} -> {rotated['current_role']} mid-run; {result['smoke']}"


def refresh_database_role(run: Rehearsal) -> str:
    moved = []
    for host in run.hosts:
        result = hosts.run(
            host,
            ["host", "refresh-db-credentials", "--root", str(host.layout.root), "--supervisor", "process"],
            run.aws_env(),
        )
        moved.append(f"{host.name}: {result['previous_role']} -> {result['role']}")
    return "; ".join(moved)


def signing_key_environment(run: Rehearsal, host: hosts.RehearsalHost) -> dict[str, str]:
    """What `idpkit keys` needs on a host: the key store and the rotation role the program declares."""
    graph = state.require_graph(run)
    return {
        **run.aws_env(),
        OUTPUTS_FILE_ENV: str(host.layout.outputs_file),
        "IDPKIT_KEY_STORE": run.binding.rebind(str(graph.outputs["signing_keys_secret_arn"])),
        "IDPKIT_KEYS_ROLE_ARN": str(graph.outputs["signing_keys_rotation_role_arn"]),
        "IDPKIT_STATE_DIR": str(host.layout.state_dir),
    }


def signing_key_rotation(run: Rehearsal) -> str:
    first = run.hosts[0]
    env = signing_key_environment(run, first)
    command = ["keys", "rotate", "--stack", run.stack, "--stage", "auto", "--margin", str(ROTATION_MARGIN_SECONDS)]
    rotated = hosts.run(first, command, env)
    again = hosts.run(first, command, env)
    signing = [key for key in again.get("keys", []) if key.get("status") == "ACTIVE" and key.get("generation")]
    if not rotated.get("changed") or again.get("writes") or not signing:
        raise IdpkitError(
            f"the scheduled rotation did not converge: first run {rotated.get('actions')}, second run "
            f"{again.get('writes')} writes, active kit keys {signing}"
        )
    return f"{'; '.join(rotated['actions'])}; second run: nothing due (0 writes); signs with kid {signing[0]['kid']}"


def host_checks(run: Rehearsal, index: int) -> str:
    host = run.hosts[index - 1]
    output = run.operator(
        "smoke", "--stack", run.stack, "-k", _HOST_CHECKS_MODULE, "-q",
        namespace=host.namespace,
        env={HOSTS_ENV: "local://", HOST_ROOT_ENV: str(host.layout.root)},
    )  # fmt: skip
    summary = next((line for line in reversed(output.splitlines()) if _PYTEST_SUMMARY.search(line)), "")
    return summary.strip("= ")
