"""The steps that build a rehearsal's AWS stand-ins, from the stack's own resource graph: certificates,
network, database, the AWS API emulation and the two hosts (each brought up by `idpkit host up`)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.aws_graph import capture
from idpkit.constants.aws import POSTGRES_PORT
from idpkit.errors import IdpkitError
from idpkit.host.config import parse_host_config
from idpkit.host.user_data import decode_user_data, embedded_host_config
from idpkit.keycloak_server import distribution
from idpkit.keycloak_server.host_proxy import haproxy_binary
from idpkit.keycloak_server.kms_provider import stage as stage_kms_provider
from idpkit.local.database import postgres_bin_dir
from idpkit.rehearsal import aws, database, hosts, network, pki, state
from idpkit.rehearsal.layout import AWS_EMULATION_PORT, KMS_ENDPOINT_PORT
from idpkit.rehearsal.state import Rehearsal
from idpkit.system import service_user
from idpkit.system.files import make_directory, write_private

KEYCLOAK_HEAP = "-Xms256m -Xmx768m"
"""Two nodes share this machine; on AWS each host keeps Keycloak's default (70% of its memory)."""


def preflight(run: Rehearsal, purge: Callable[[str], None]) -> str:
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
    network.claim(run.stack, paths.state_root())
    return f"root, namespaces, nginx, HAProxy, PostgreSQL {postgres_bin_dir().parent.name}, socat"


def kms_provider() -> str:
    """`idpkit host kms-provider`: the jar `pulumi up` stages, built before the graph pins its SHA-256."""
    built = stage_kms_provider(_kms_provider_path())
    return f"{built.jar.name}: sha256 {built.sha256[:16]}…, {'built' if built.built else 'unchanged'}"


def resource_graph(run: Rehearsal) -> str:
    graph = capture(run.stack)
    if graph.error:
        raise IdpkitError(f"the Pulumi program fails for stack {run.stack}: {graph.error}")
    run.graph = graph
    run.region = state.stack_values(run.stack)["aws:region"]
    return f"{sum(1 for r in graph.resources if r.custom)} resources"


def wheelhouse(run: Rehearsal) -> str:
    from idpkit.host.wheelhouse import build_wheelhouse  # noqa: PLC0415

    archive, names, digest = build_wheelhouse(paths.project_root(), state.architecture(run.stack))
    return f"{archive.name}: {len(names)} wheels, sha256 {digest[:16]}…"


def certificates(run: Rehearsal) -> str:
    graph = state.require_graph(run)
    names = (*state.public_names(graph), state.db_host(graph))
    pki.ensure(run.layout.pki, names, (run.topology.gateway,))
    pki.host_certificate(run.layout.host_tls)
    pki.smoke_clients(run.layout.pki, run.layout.clients)
    return ", ".join(names)


def namespaces(run: Rehearsal) -> str:
    graph = state.require_graph(run)
    names = dict.fromkeys(state.public_names(graph), run.topology.edge_address)
    names[state.db_host(graph)] = run.topology.gateway
    network.create(run.topology, names)
    return f"bridge {run.topology.bridge} {run.topology.gateway}/24, {len(run.topology.namespaces)} namespaces"


def rds_stand_in(run: Rehearsal) -> str:
    graph = state.require_graph(run)
    for directory in (run.layout.logs, run.layout.run, run.layout.secrets):
        make_directory(directory, 0o700)
    account = service_user.account()
    if account is None:
        raise IdpkitError("the rehearsal needs root")
    password_file = run.layout.secrets / "rds-master-password"
    if not password_file.exists():
        write_private(password_file, aws.new_password())
    db = database_handle(run)
    make_directory(run.layout.database, 0o700, service_owned=True)
    for source, target in ((run.layout.pki.server_certificate, db.certificate), (run.layout.pki.server_key, db.key)):
        shutil.copyfile(source, target)
        target.chmod(0o600)
        os.chown(target, account.uid, account.gid)
    database.start(db, run.layout.database_process(), account, password_file.read_text().strip())
    where = f"{run.topology.gateway}:{db.port}"
    return f"{state.db_host(graph)} ({where}), master {db.master_username}, database {db.database}"


def database_handle(run: Rehearsal) -> database.RehearsalDatabase:
    """The rehearsal's PostgreSQL as the program declares its RDS instance."""
    (instance,) = state.require_graph(run).of_type("aws:rds/instance:Instance")
    return database.RehearsalDatabase(
        directory=run.layout.database,
        address=run.topology.gateway,
        port=int(instance.outputs.get("port", POSTGRES_PORT)),
        subnet=str(network.subnet(run.topology)),
        certificate=run.layout.database / "server.pem",
        key=run.layout.database / "server.key",
        master_username=str(instance.inputs["username"]),
        database=str(instance.inputs["dbName"]),
    )


def aws_emulation(run: Rehearsal) -> str:
    graph = state.require_graph(run)
    (account,) = json.loads(state.stack_values(run.stack)["aws:allowedAccountIds"])
    run.endpoint = aws.start(
        run.layout.process("aws-emulation"),
        run.topology.gateway,
        AWS_EMULATION_PORT,
        account,
        run.layout.kms_private_keys,
    )
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


def host_up(run: Rehearsal, index: int) -> str:
    graph = state.require_graph(run)
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
    kms_endpoint(run, host)
    result = hosts.run(
        host,
        ["host", "up", "--config", str(layout.config_file), "--root", str(layout.root), "--supervisor", "process"],
        run.aws_env(),
    )
    slow = [f"{s['step']} {s['seconds']:.0f} s" for s in result.get("steps", []) if s.get("seconds", 0) >= 5]
    return f"{host.namespace} {host.address}: {len(result.get('steps', []))} steps; {', '.join(slow)}"


def kms_endpoint(run: Rehearsal, host: hosts.RehearsalHost) -> None:
    """The emulation's KMS on the host's own loopback (socat), where Keycloak's KMS component reaches it."""
    process = run.layout.process(f"kms-endpoint-{host.index}")
    if process.pid() is not None:
        return
    process.start(
        [*run.topology.exec_prefix(host.namespace), "socat",
         f"TCP-LISTEN:{KMS_ENDPOINT_PORT},bind=127.0.0.1,reuseaddr,fork",
         f"TCP:{run.topology.gateway}:{AWS_EMULATION_PORT}"],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd=run.layout.root, account=None,
    )  # fmt: skip


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
        "kms-provider": _kms_provider_path,
    }
    if kind not in staged:
        raise IdpkitError(f"rehearsal: the program declares an artifact it does not know how to stage: {name}")
    return staged[kind]()


def _wheelhouse_path(run: Rehearsal) -> Path:
    from idpkit.aws_config import host_wheelhouse_path  # noqa: PLC0415

    return host_wheelhouse_path(paths.project_root(), state.architecture(run.stack))


def _kms_provider_path() -> Path:
    from idpkit.aws_config import kms_provider_jar_path  # noqa: PLC0415 - imports pulumi

    return kms_provider_jar_path(paths.project_root())


def _quiet() -> Any:
    from idpkit.console import Reporter  # noqa: PLC0415

    return Reporter(json_mode=True)
