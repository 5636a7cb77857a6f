"""What an operator (and a schedule) does against a rehearsed stack, each step asserting its outcome: the
realm applied twice (the second a no-op), the smoke suite while the database credentials rotate, the
nodes moved to the new role, a signing key rotation from a host through STS (the schedule's own command: with
KMS signing it creates the key in KMS), the tokens signed by it, the host checks per host."""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections import Counter

from idpkit.errors import IdpkitError
from idpkit.keycloak_server.kms_provider import PROVIDER_ID
from idpkit.keys.kms import SERVICE_ENDPOINT_ENV, SIGNING_ENV
from idpkit.local.kms_emulation import SIGN_LOG_PREFIX
from idpkit.outputs import OUTPUTS_FILE_ENV
from idpkit.rehearsal import hosts, state
from idpkit.rehearsal.layout import KMS_ENDPOINT_PORT
from idpkit.rehearsal.state import Rehearsal
from idpkit.smoke import credentials
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
    return _pytest_summary(output)


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


def scheduled_rotation(run: Rehearsal, host: hosts.RehearsalHost) -> tuple[dict[str, str], list[str]]:
    """The rotation schedule's own command line (the program's Run Command input), for `host`: its environment
    rebound to the emulation's identifiers and the host's file tree, and its `idpkit` arguments."""
    (schedule,) = state.require_graph(run).of_type("aws:scheduler/schedule:Schedule")
    line = json.loads(str(schedule.inputs["target"]["input"]))["Parameters"]["commands"][0]
    words = shlex.split(run.binding.rebind(line))
    count = next(index for index, word in enumerate(words) if "=" not in word)
    environment = dict(word.split("=", 1) for word in words[:count])
    environment[OUTPUTS_FILE_ENV] = str(host.layout.at(environment[OUTPUTS_FILE_ENV]))
    arguments = [word for word in words[count + 1 :] if word != "--json"]
    return environment, arguments


def signing_key_environment(run: Rehearsal, host: hosts.RehearsalHost) -> dict[str, str]:
    """What `idpkit keys` needs on a host: the schedule's environment, the emulation, the host's state, and
    the emulation's KMS on the host's loopback (the endpoint Keycloak's components of new KMS keys name)."""
    scheduled, _arguments = scheduled_rotation(run, host)
    return {
        **run.aws_env(),
        **scheduled,
        SERVICE_ENDPOINT_ENV: f"http://127.0.0.1:{KMS_ENDPOINT_PORT}",
        "IDPKIT_STATE_DIR": str(host.layout.state_dir),
    }


def signing_key_rotation(run: Rehearsal) -> str:
    """The schedule's command, on a host, through STS as the rotation role; with KMS signing it creates the new
    key in KMS, and the key that signs afterwards must be that KMS key."""
    first = run.hosts[0]
    _environment, arguments = scheduled_rotation(run, first)
    command = [*arguments, "--margin", str(ROTATION_MARGIN_SECONDS)]
    env = signing_key_environment(run, first)
    rotated = hosts.run(first, command, env)
    again = hosts.run(first, command, env)
    signing = [key for key in again.get("keys", []) if key.get("status") == "ACTIVE" and key.get("generation")]
    if not rotated.get("changed") or again.get("writes") or not signing:
        raise IdpkitError(
            f"the scheduled rotation did not converge: first run {rotated.get('actions')}, second run "
            f"{again.get('writes')} writes, active kit keys {signing}"
        )
    if env.get(SIGNING_ENV) == "kms" and signing[0]["provider"] != PROVIDER_ID:
        raise IdpkitError(f"the stack signs with KMS, but the key that signs now is a {signing[0]['provider']} key")
    return f"{'; '.join(rotated['actions'])}; second run: nothing due (0 writes); signs with kid {signing[0]['kid']}"


def tokens_after_rotation(run: Rehearsal) -> str:
    """The flows and token checks (tokens validated against the JWKS); with KMS signing, each host must have had
    tokens signed by the emulation's KMS during them (its log names every Sign's key and caller)."""
    log = run.layout.process("aws-emulation").log_file
    before = _signatures(log.read_text(errors="replace"))
    outcome = smoke(run, FLOWS_AND_TOKENS)
    signed = _signatures(log.read_text(errors="replace")) - before
    first = run.hosts[0]
    if signing_key_environment(run, first).get(SIGNING_ENV) != "kms":
        return f"{outcome}; imported signing keys (no KMS signature expected)"
    excused = credentials.declarations(run.stack).get("smoke-identities")
    if excused is not None:
        # Without test identities nothing here can obtain a token, so nothing is signed: the Sign path is proven
        # on the stacks that carry them (dev in CI); the key material search below still runs here.
        return f"{outcome}; no token issued on {run.stack} (smoke identities not applicable: {excused.reason})"
    by_host = {
        host.name: sum(n for (_key, caller), n in signed.items() if caller == host.address) for host in run.hosts
    }
    silent = [name for name, count in by_host.items() if not count]
    if silent:
        raise IdpkitError(
            f"the stack signs with KMS, but {', '.join(silent)} made no KMS Sign during the token checks "
            f"({outcome}; Signs by host: {by_host})"
        )
    keys = Counter[str]()
    for (key, _caller), count in signed.items():
        keys[key] += count
    return (
        f"{outcome}; KMS signatures during the run: "
        + ", ".join(f"{n} by {key}" for key, n in keys.items())
        + " ("
        + ", ".join(f"{name}: {n}" for name, n in by_host.items())
        + ")"
    )


def _signatures(log: str) -> Counter[tuple[str, str]]:
    """(key ARN, caller address) of every Sign the emulation logged, counted."""
    counts = Counter[tuple[str, str]]()
    for line in log.splitlines():
        if line.startswith(SIGN_LOG_PREFIX):
            key, _algorithm, caller = [*line.removeprefix(SIGN_LOG_PREFIX).split(), "-", "-"][:3]
            counts[key, caller] += 1
    return counts


def host_checks(run: Rehearsal, index: int) -> str:
    host = run.hosts[index - 1]
    output = run.operator(
        "smoke", "--stack", run.stack, "-k", _HOST_CHECKS_MODULE, "-q",
        namespace=host.namespace,
        env={HOSTS_ENV: "local://", HOST_ROOT_ENV: str(host.layout.root)},
    )  # fmt: skip
    return _pytest_summary(output)


def _pytest_summary(output: str) -> str:
    """pytest's closing line ("3 passed, 2 skipped in 1.2s"), not the smoke table above it."""
    summary = next((line for line in reversed(output.splitlines()) if _PYTEST_SUMMARY.search(line)), "")
    return summary.strip("= ")
