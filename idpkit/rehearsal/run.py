"""`idpkit rehearse`: the steps, in order, each recorded with its outcome; teardown unless `--keep`."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.aws_config import architecture_of
from idpkit.aws_graph import StackGraph, capture, stack_config
from idpkit.constants.aws import DEFAULT_AMI_PARAMETER, HTTPS_PORT, POSTGRES_PORT
from idpkit.constants.keycloak import BROWSER_PROXY_PORT, KEYCLOAK_HTTPS_PORT, M2M_PROXY_PORT
from idpkit.errors import IdpkitError
from idpkit.host.config import parse_host_config
from idpkit.host.user_data import decode_user_data, embedded_host_config
from idpkit.keycloak_server import distribution
from idpkit.keycloak_server.host_proxy import haproxy_binary
from idpkit.local import front_door
from idpkit.local.database import postgres_bin_dir
from idpkit.outputs import OUTPUTS_FILE_ENV
from idpkit.rehearsal import aws, database, hosts, network, pki
from idpkit.rehearsal.layout import AWS_EMULATION_PORT, RehearsalLayout
from idpkit.smoke.certificates import CERT_VARIABLE, KEY_VARIABLE
from idpkit.smoke.hosts import HOST_ROOT_ENV, HOSTS_ENV
from idpkit.system import service_user
from idpkit.system.files import make_directory, write_private

KEYCLOAK_HEAP = "-Xms256m -Xmx768m"
"""Two nodes share this machine; on AWS each host keeps Keycloak's default (70% of its memory)."""
ROTATION_MARGIN_SECONDS = 0
"""The rehearsal promotes the new signing key at once; deployments keep the default margin."""
# Later runs re-check what the change they follow could break, not the whole suite again.
FLOWS = "test_flow"
FLOWS_AND_TOKENS = "test_flow or test_discovery or test_attack_token_integrity"
_HOST_CHECKS_MODULE = "test_host_hardening"
"""Run per host inside its namespace (a testinfra `local://` backend there sees that host's sockets)."""


@dataclass
class StepOutcome:
    step: str
    ok: bool
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self) | {"seconds": round(self.seconds, 1)}


@dataclass
class Rehearsal:
    """State shared by the steps of one run."""

    stack: str
    layout: RehearsalLayout
    progress: Callable[[str], None]
    topology: network.Topology = field(init=False)
    outcomes: list[StepOutcome] = field(default_factory=list)
    graph: StackGraph | None = None
    binding: aws.Binding = field(default_factory=aws.Binding)
    endpoint: str = ""
    region: str = ""
    hosts: list[hosts.RehearsalHost] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.topology = network.Topology(self.stack)

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def step(self, name: str, action: Callable[[], str]) -> bool:
        """Run one step unless an earlier one failed; record its outcome."""
        if not self.ok:
            return False
        self.progress(name)
        started = time.monotonic()
        try:
            detail = action()
        except IdpkitError as error:
            self.outcomes.append(StepOutcome(name, False, time.monotonic() - started, error.message))
            return False
        self.outcomes.append(StepOutcome(name, True, time.monotonic() - started, detail))
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "ok": self.ok,
            "seconds": round(sum(o.seconds for o in self.outcomes), 1),
            "steps": [o.to_dict() for o in self.outcomes],
            "outputs": str(self.layout.outputs_file),
        }

    # --- environments ---------------------------------------------------------------------------------

    def aws_env(self) -> dict[str, str]:
        return aws.environment(self.endpoint, self.region)

    def operator_env(self) -> dict[str, str]:
        """An operator's shell: the rehearsal's outputs, the AWS emulation, this machine's kit and state."""
        certificate, key = pki.smoke_client(self.layout.pki, self.layout.clients)
        return {
            **{name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ},
            **self.aws_env(),
            OUTPUTS_FILE_ENV: str(self.layout.outputs_file),
            "IDPKIT_STATE_DIR": str(paths.state_root()),
            "IDPKIT_PROJECT_DIR": str(paths.project_root()),
            CERT_VARIABLE: str(certificate),
            KEY_VARIABLE: str(key),
        }

    def operator(self, *arguments: str, namespace: str | None = None, env: Mapping[str, str] | None = None) -> str:
        """`idpkit <arguments>` as an operator would run it, from the edge namespace."""
        command = [*self.topology.exec_prefix(namespace or self.topology.edge), sys.executable, "-m", "idpkit"]
        completed = subprocess.run(
            [*command, *arguments], capture_output=True, text=True, check=False,
            env={**self.operator_env(), **(env or {})}, cwd=paths.project_root(),
        )  # fmt: skip
        if completed.returncode != 0:
            tail = (completed.stdout[-2500:] + "\n" + completed.stderr[-2500:]).strip()
            raise IdpkitError(f"`idpkit {' '.join(arguments)}` exited {completed.returncode}:\n{tail}")
        return completed.stdout


def rehearse(
    stack: str, *, keep: bool, progress: Callable[[str], None], only_up: bool = False, chaos_short: bool = False
) -> Rehearsal:
    layout = RehearsalLayout(stack)
    run = Rehearsal(stack, layout, progress)
    try:
        run.step("preflight", lambda: _preflight(run))
        run.step("resource graph (Pulumi program under mocks)", lambda: _graph(run))
        run.step("host wheelhouse", lambda: _wheelhouse(run))
        run.step("certificates", lambda: _certificates(run))
        run.step("network namespaces", lambda: _network(run))
        run.step("database (RDS stand-in, TLS)", lambda: _database(run))
        run.step("AWS API emulation seeded from the graph", lambda: _aws(run))
        for index in range(1, network.HOST_COUNT + 1):
            run.step(f"host {index}: kit from the wheelhouse, idpkit host up", functools.partial(_host, run, index))
        run.step("load balancer emulation (front door)", lambda: _front_door(run))
        run.step("admin tunnel (SSM port forward)", lambda: _tunnel(run))
        if not only_up:
            run.step("realm apply", lambda: _realm_apply(run))
            run.step("smoke, database credentials rotated mid-run", lambda: _smoke_with_rotation(run))
            run.step("nodes move to the new database role, one at a time", lambda: _refresh(run))
            run.step("flows after the rolling restart", lambda: _smoke(run, FLOWS))
            run.step("signing key rotation from a host (STS)", lambda: _keys_rotate(run))
            for index in range(1, network.HOST_COUNT + 1):
                run.step(f"host {index}: host hardening checks", functools.partial(_host_checks, run, index))
            run.step("flows and token checks after the key rotation", lambda: _smoke(run, FLOWS_AND_TOKENS))
            if chaos_short:
                _chaos_steps(run)
    finally:
        layout.root.mkdir(parents=True, exist_ok=True)
        layout.report.write_text(json.dumps(run.to_dict(), indent=2) + "\n")
        if not keep:
            down(stack)
    return run


def down(stack: str) -> list[str]:
    """Stop everything of the stack's rehearsal and remove its namespaces (its state directory stays)."""
    layout = RehearsalLayout(stack)
    topology = network.Topology(stack)
    stopped: list[str] = []
    for index in range(1, network.HOST_COUNT + 1):
        host_root = layout.host(index).root
        if host_root.exists():
            from idpkit.host.services import Processes  # noqa: PLC0415

            stopped += [f"host-{index} {name}" for name in Processes(layout.host(index)).stop_all()]
    for name in ("front-door", "admin-tunnel", "aws-emulation", "postgres"):
        process = layout.process(name)
        if name == "postgres":
            process = database.RehearsalDatabase(layout.database, "", 0, "", Path(), Path(), "", "").process(
                layout.logs, layout.run
            )
        if process.stop():
            stopped.append(name)
    if network.destroy(topology):
        stopped.append("network namespaces")
    return stopped


def purge(stack: str) -> None:
    down(stack)
    shutil.rmtree(RehearsalLayout(stack).root, ignore_errors=True)


# --- a kept rehearsal, for commands run against it (`idpkit chaos`) ------------------------------------


def _chaos_steps(run: Rehearsal) -> None:
    """The short fault scenarios (`idpkit chaos run --short`) on this rehearsal, one step each."""
    from idpkit.chaos import runner  # noqa: PLC0415 - the harness builds on this module

    results: list[dict[str, Any]] = []
    for scenario in runner.selected((), short=True):

        def measure(scenario: Any = scenario) -> str:
            (result,) = runner.run_all(run, [scenario], short=True, progress=lambda _step: None)
            results.append(result.to_dict())
            run.layout.chaos_results.write_text(json.dumps(results, indent=2) + "\n")
            if regressions := scenario.regressions(result.verdict):
                raise IdpkitError(f"goal missed beyond its known gaps: {regressions}; {result.verdict.outcome}")
            return result.verdict.summary

        run.step(f"chaos: {scenario.title.lower()}", measure)


def attach(stack: str) -> Rehearsal:
    """The handles of a rehearsal left running by `--keep`: hosts, emulation endpoint, graph, database."""
    layout = RehearsalLayout(stack)
    if not layout.binding_file.exists() or not layout.outputs_file.exists():
        raise IdpkitError(
            f"no kept rehearsal of {stack} (no {layout.outputs_file})",
            hint=f"idpkit rehearse --stack {stack} --keep --up-only",
        )
    run = Rehearsal(stack, layout, lambda _step: None)
    bound = json.loads(layout.binding_file.read_text())
    run.endpoint, run.binding = bound["endpoint"], aws.Binding(dict(bound["ids"]))
    run.region = _stack_values(stack)["aws:region"]
    graph = capture(stack)
    if graph.error:
        raise IdpkitError(f"the Pulumi program fails for stack {stack}: {graph.error}")
    run.graph = graph
    run.hosts = [
        hosts.RehearsalHost(index, run.topology.host(index), run.topology.host_address(index), layout.host(index))
        for index in range(1, network.HOST_COUNT + 1)
    ]
    return run


def database_handle(run: Rehearsal) -> database.RehearsalDatabase:
    """The rehearsal's PostgreSQL as the program declares its RDS instance."""
    (instance,) = _require_graph(run).of_type("aws:rds/instance:Instance")
    certificate, key = _database_tls(run.layout)
    return database.RehearsalDatabase(
        directory=run.layout.database,
        address=run.topology.gateway,
        port=int(instance.outputs.get("port", POSTGRES_PORT)),
        subnet=str(network.subnet(run.topology)),
        certificate=certificate,
        key=key,
        master_username=str(instance.inputs["username"]),
        database=str(instance.inputs["dbName"]),
    )


def signing_key_environment(run: Rehearsal, host: hosts.RehearsalHost) -> dict[str, str]:
    """What `idpkit keys` needs on a host: the key store and the rotation role the program declares."""
    graph = _require_graph(run)
    return {
        **run.aws_env(),
        OUTPUTS_FILE_ENV: str(host.layout.outputs_file),
        "IDPKIT_KEY_STORE": run.binding.rebind(str(graph.outputs["signing_keys_secret_arn"])),
        "IDPKIT_KEYS_ROLE_ARN": str(graph.outputs["signing_keys_rotation_role_arn"]),
        "IDPKIT_STATE_DIR": str(host.layout.state_dir),
    }


# --- steps --------------------------------------------------------------------------------------------


def _preflight(run: Rehearsal) -> str:
    if not paths.running_as_root():
        raise IdpkitError("the rehearsal runs hosts in network namespaces and needs root")
    network.check_available()
    for tool in ("nginx", "socat"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise IdpkitError(f"{tool} is not installed", hint="scripts/install-system-packages installs it")
    haproxy_binary()
    postgres_bin_dir()
    # Every rehearsal starts from nothing, as a first `pulumi up` does: no database, no hosts, no secrets.
    purge(run.stack)
    return f"root, namespaces, nginx, HAProxy, PostgreSQL {postgres_bin_dir().parent.name}, socat"


def _graph(run: Rehearsal) -> str:
    graph = capture(run.stack)
    if graph.error:
        raise IdpkitError(f"the Pulumi program fails for stack {run.stack}: {graph.error}")
    run.graph = graph
    run.region = _stack_values(run.stack)["aws:region"]
    return f"{sum(1 for r in graph.resources if r.custom)} resources"


def _wheelhouse(run: Rehearsal) -> str:
    from idpkit.host.wheelhouse import build_wheelhouse  # noqa: PLC0415

    archive, names, digest = build_wheelhouse(paths.project_root(), _architecture(run.stack))
    return f"{archive.name}: {len(names)} wheels, sha256 {digest[:16]}…"


def _certificates(run: Rehearsal) -> str:
    graph = _require_graph(run)
    names = (*_public_names(graph), _db_host(graph))
    pki.ensure(run.layout.pki, names, (run.topology.gateway,))
    pki.host_certificate(run.layout.host_tls)
    pki.smoke_client(run.layout.pki, run.layout.clients)
    return ", ".join(names)


def _network(run: Rehearsal) -> str:
    graph = _require_graph(run)
    names = dict.fromkeys(_public_names(graph), run.topology.edge_address)
    names[_db_host(graph)] = run.topology.gateway
    network.create(run.topology, names)
    return f"bridge {run.topology.bridge} {run.topology.gateway}/24, {len(run.topology.namespaces)} namespaces"


def _database(run: Rehearsal) -> str:
    graph = _require_graph(run)
    for directory in (run.layout.logs, run.layout.run, run.layout.secrets):
        make_directory(directory, 0o700)
    account = service_user.account()
    if account is None:
        raise IdpkitError("the rehearsal needs root")
    password_file = run.layout.secrets / "rds-master-password"
    if not password_file.exists():
        write_private(password_file, aws.new_password())
    db_certificate, db_key = _database_tls(run.layout)
    make_directory(run.layout.database, 0o700, service_owned=True)
    for source, target in ((run.layout.pki.server_certificate, db_certificate), (run.layout.pki.server_key, db_key)):
        shutil.copyfile(source, target)
        target.chmod(0o600)
        os.chown(target, account.uid, account.gid)
    db = database_handle(run)
    database.start(db, db.process(run.layout.logs, run.layout.run), account, password_file.read_text().strip())
    return f"{_db_host(graph)} ({run.topology.gateway}:{db.port}), master {db.master_username}, database {db.database}"


def _aws(run: Rehearsal) -> str:
    graph = _require_graph(run)
    (account,) = json.loads(_stack_values(run.stack)["aws:allowedAccountIds"])
    run.endpoint = aws.start(run.layout.process("aws-emulation"), run.topology.gateway, AWS_EMULATION_PORT, account)
    (instance,) = graph.of_type("aws:rds/instance:Instance")
    host_certificate, host_key = pki.host_certificate(run.layout.host_tls)
    bootstrap = {"username": "idpkit-bootstrap", "password": aws.new_password()}
    stack_name = f"idpkit-{run.stack}"
    secret_values = {
        f"{stack_name}-secrets-bootstrap-admin": bootstrap,
        f"{stack_name}-secrets-host-tls": {"certificate": host_certificate, "private_key": host_key},
        f"rds!db-{instance.inputs['identifier']}": {
            "username": instance.inputs["username"],
            "password": (run.layout.secrets / "rds-master-password").read_text().strip(),
        },
    }
    objects: dict[str, Path | bytes] = {}
    for obj in graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2"):
        objects[str(obj.inputs["key"])] = _object_content(run, obj.name)
    run.binding = aws.seed(graph, run.endpoint, run.region, aws.Seed(objects, secret_values))
    # Identifiers only (no secret value): what a kept rehearsal's operator shell needs (`operator_env`).
    run.layout.binding_file.write_text(json.dumps({"endpoint": run.endpoint, "ids": run.binding.values}, indent=2))
    bound = len(run.binding.values)
    return f"{run.endpoint}: {len(objects)} objects, {len(secret_values)} secret values, {bound} ids bound"


def _host(run: Rehearsal, index: int) -> str:
    graph = _require_graph(run)
    layout = run.layout.host(index)
    host = hosts.RehearsalHost(index, run.topology.host(index), run.topology.host_address(index), layout)
    if host not in run.hosts:
        run.hosts.append(host)
    (template,) = graph.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    rendered = run.binding.rebind(embedded_host_config(decode_user_data(str(template.inputs["userData"]))))
    config = dataclasses.replace(
        parse_host_config(json.loads(rendered), f"{template.name} user data"),
        start_jitter_seconds=0,
        keycloak_heap=KEYCLOAK_HEAP,
    )
    (wheelhouse,) = [
        o for o in graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.name.endswith("-host-wheelhouse")
    ]
    layout.root.mkdir(parents=True, exist_ok=True)
    hosts.prepare_root(host)
    hosts.install_kit(
        host,
        run.region,
        str(wheelhouse.inputs["bucket"]),
        str(wheelhouse.inputs["key"]),
        run.binding.rebind(str(wheelhouse.outputs["versionId"])),
        run.aws_env(),
    )
    hosts.write_config(host, config)
    result = hosts.run(
        host,
        ["host", "up", "--config", str(layout.config_file), "--root", str(layout.root), "--supervisor", "process"],
        run.aws_env(),
    )
    slow = [f"{s['step']} {s['seconds']:.0f} s" for s in result.get("steps", []) if s.get("seconds", 0) >= 5]
    return f"{host.namespace} {host.address}: {len(result.get('steps', []))} steps; {', '.join(slow)}"


def front_door_settings(run: Rehearsal, drained: tuple[str, ...] = ()) -> front_door.FrontDoorSettings:
    """The load balancer emulation over the rehearsal's hosts; `drained` hosts (by name) are deregistered."""
    graph = _require_graph(run)
    account = service_user.account()
    pki_files = run.layout.pki
    return front_door.FrontDoorSettings(
        directory=run.layout.front_door,
        logs=run.layout.logs,
        pid_file=run.layout.run / "nginx-master.pid",
        listen_address="0.0.0.0",  # noqa: S104 - inside the edge namespace, as the ALB's public address
        browser_port=HTTPS_PORT,
        m2m_port=_m2m_port(graph),
        certificate=pki_files.server_certificate,
        certificate_key=pki_files.server_key,
        client_ca_bundle=pki_files.client_ca_bundle,
        crl=pki_files.crl,
        upstream_ca=run.layout.host_tls / "host.pem",
        upstream_server_name="localhost",
        browser_upstreams=tuple(f"{h.address}:{BROWSER_PROXY_PORT}" for h in run.hosts),
        m2m_upstreams=tuple(f"{h.address}:{M2M_PROXY_PORT}" for h in run.hosts),
        run_as=account.name if account else None,
        drained_upstreams=tuple(
            f"{h.address}:{port}"
            for h in run.hosts
            if h.name in drained
            for port in (BROWSER_PROXY_PORT, M2M_PROXY_PORT)
        ),
    )


def _front_door(run: Rehearsal) -> str:
    graph = _require_graph(run)
    settings = front_door_settings(run)
    make_directory(run.layout.front_door / "tmp", 0o700, service_owned=True)
    conf, _changed = front_door.write_configuration(settings)
    binary = front_door.nginx_binary()
    front_door.check_config(binary, conf, run.layout.front_door)
    process = run.layout.process("front-door")
    process.stop()
    process.start(
        [*run.topology.exec_prefix(run.topology.edge), *front_door.nginx_command(binary, conf, run.layout.front_door)],
        env={}, cwd=run.layout.front_door, account=None,
    )  # fmt: skip
    _wait_for(lambda: _https_answers(run, f"{graph.outputs['base_url']}/"), "the front door", process)
    return f"{run.topology.edge_address}:{HTTPS_PORT} and :{_m2m_port(graph)} over {len(run.hosts)} hosts"


def _tunnel(run: Rehearsal) -> str:
    graph = _require_graph(run)
    local_port = int(str(graph.outputs["admin_url"]).rsplit(":", 1)[1])
    first = run.hosts[0]
    target = f"EXEC:ip netns exec {first.namespace} socat STDIO TCP\\:127.0.0.1\\:{KEYCLOAK_HTTPS_PORT}"
    process = run.layout.process("admin-tunnel")
    process.stop()
    process.start(
        [*run.topology.exec_prefix(run.topology.edge), "socat",
         f"TCP-LISTEN:{local_port},bind=127.0.0.1,reuseaddr,fork", target],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd=run.layout.root, account=None,
    )  # fmt: skip
    _write_outputs(run)
    return f"edge localhost:{local_port} -> {first.namespace} 127.0.0.1:{KEYCLOAK_HTTPS_PORT}"


def _realm_apply(run: Rehearsal) -> str:
    result = json.loads(run.operator("realm", "apply", "--stack", run.stack, "--json"))
    again = json.loads(run.operator("realm", "apply", "--stack", run.stack, "--json"))
    writes = again.get("writes", {}).get("total")
    if writes:
        raise IdpkitError(f"a second realm apply made {writes} writes; it must make none")
    return f"{len(result.get('changes', []))} changes applied; second apply: 0 writes"


def _smoke(run: Rehearsal, selection: str | None = None) -> str:
    """The smoke suite from the edge (the host checks run per host, `_host_checks`)."""
    selected = f"not {_HOST_CHECKS_MODULE}" if selection is None else f"({selection}) and not {_HOST_CHECKS_MODULE}"
    output = run.operator("smoke", "--stack", run.stack, "-k", selected, "-q")
    summary = next((line for line in reversed(output.splitlines()) if " passed" in line), "")
    return summary.strip("= ")


def _smoke_with_rotation(run: Rehearsal) -> str:
    """The smoke suite runs while the database credentials rotate: no connection may break."""
    result: dict[str, str] = {}
    failure: list[IdpkitError] = []

    def smoke() -> None:
        try:
            result["smoke"] = _smoke(run)
        except IdpkitError as error:
            failure.append(error)

    runner = threading.Thread(target=smoke)
    runner.start()
    time.sleep(5)
    first = run.hosts[0]
    rotated = hosts.run(first, ["host", "rotate-db-credentials", "--root", str(first.layout.root)], run.aws_env())
    runner.join()
    if failure:
        raise failure[0]
    return f"rotated {rotated['previous_role']} -> {rotated['current_role']} mid-run; {result['smoke']}"


def _refresh(run: Rehearsal) -> str:
    moved = []
    for host in run.hosts:
        result = hosts.run(
            host,
            ["host", "refresh-db-credentials", "--root", str(host.layout.root), "--supervisor", "process"],
            run.aws_env(),
        )
        moved.append(f"{host.name}: {result['previous_role']} -> {result['role']}")
    return "; ".join(moved)


def _keys_rotate(run: Rehearsal) -> str:
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


def _host_checks(run: Rehearsal, index: int) -> str:
    host = run.hosts[index - 1]
    output = run.operator(
        "smoke", "--stack", run.stack, "-k", _HOST_CHECKS_MODULE, "-q",
        namespace=host.namespace,
        env={HOSTS_ENV: "local://", HOST_ROOT_ENV: str(host.layout.root)},
    )  # fmt: skip
    summary = next((line for line in reversed(output.splitlines()) if " passed" in line), "")
    return summary.strip("= ")


# --- helpers ------------------------------------------------------------------------------------------


def _require_graph(run: Rehearsal) -> StackGraph:
    if run.graph is None:
        raise IdpkitError("internal: the resource graph was not captured")
    return run.graph


def _stack_values(stack: str) -> dict[str, str]:
    values, _secret_keys = stack_config(stack, paths.project_root())
    return values


def _architecture(stack: str) -> str:
    return architecture_of(_stack_values(stack).get("idpkit:amiParameter", DEFAULT_AMI_PARAMETER))


def _database_tls(layout: RehearsalLayout) -> tuple[Path, Path]:
    return layout.database / "server.pem", layout.database / "server.key"


def _m2m_port(graph: StackGraph) -> int:
    return int(str(graph.outputs["m2m_url"]).rsplit(":", 1)[1])


def _public_names(graph: StackGraph) -> tuple[str, ...]:
    base = str(graph.outputs["base_url"]).removeprefix("https://")
    m2m = str(graph.outputs["m2m_url"]).removeprefix("https://").rsplit(":", 1)[0]
    return (base, m2m)


def _db_host(graph: StackGraph) -> str:
    (instance,) = graph.of_type("aws:rds/instance:Instance")
    return str(instance.outputs["address"])


def _object_content(run: Rehearsal, name: str) -> Path | bytes:
    """What the rehearsal stages for each artifact the program declares (by its resource name)."""
    stack_prefix = f"idpkit-{run.stack}-artifacts-"
    kind = name.removeprefix(stack_prefix)
    staged: dict[str, Callable[[], Path | bytes]] = {
        "keycloak": lambda: distribution.ensure_archive(_quiet()),
        "rds-ca": lambda: run.layout.pki.server_ca,
        "client-ca": lambda: run.layout.pki.client_ca_bundle,
        "client-crl": lambda: run.layout.pki.crl,
        "host-wheelhouse": lambda: _wheelhouse_path(run),
    }
    if kind not in staged:
        raise IdpkitError(f"rehearsal: the program declares an artifact it does not know how to stage: {name}")
    return staged[kind]()


def _wheelhouse_path(run: Rehearsal) -> Path:
    from idpkit.aws_config import host_wheelhouse_path  # noqa: PLC0415

    return host_wheelhouse_path(paths.project_root(), _architecture(run.stack))


def _quiet() -> Any:
    from idpkit.console import Reporter  # noqa: PLC0415

    return Reporter(json_mode=True)


def _write_outputs(run: Rehearsal) -> None:
    graph = _require_graph(run)
    host_certificate, _key = pki.host_certificate(run.layout.host_tls)
    outputs = {
        "stack": run.stack,
        **{key: graph.outputs[key] for key in ("base_url", "m2m_url", "admin_url", "realm", "issuer")},
        # AWS: ACM certificates from public CAs (`null`); the rehearsal's CA stands in for them.
        "ca_bundle": str(run.layout.pki.server_ca),
        "admin_credentials": run.binding.rebind(str(graph.outputs["admin_credentials"])),
        "bootstrap_admin_credentials": run.binding.rebind(str(graph.outputs["bootstrap_admin_credentials"])),
        "admin_ca_certificate": host_certificate,
    }
    run.layout.outputs_file.write_text(json.dumps(outputs, indent=2) + "\n")


def _https_answers(run: Rehearsal, url: str) -> bool:
    probe = subprocess.run(
        [*run.topology.exec_prefix(run.topology.edge), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", str(run.layout.pki.server_ca), url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    # Any answer from Keycloak (a redirect, a 404) shows the path through a host proxy works.
    return probe.stdout.strip() not in ("", "000", "502", "503", "504")


def _wait_for(ready: Callable[[], bool], what: str, process: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process.exited_early():
            raise IdpkitError(f"{what} exited during start-up; see {process.log_file}")
        time.sleep(0.5)
    raise IdpkitError(f"{what} did not answer within {timeout:.0f} s; see {process.log_file}")
