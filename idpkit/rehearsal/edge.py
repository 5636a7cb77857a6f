"""The edge of a rehearsal: the load balancer emulation in front of the hosts, the SSM tunnel to a host's
admin port, and the stack outputs operators reach it through."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

from idpkit.constants.aws import HTTPS_PORT
from idpkit.constants.keycloak import BROWSER_PROXY_PORT, KEYCLOAK_HTTPS_PORT, M2M_PROXY_PORT
from idpkit.errors import IdpkitError
from idpkit.local import front_door
from idpkit.rehearsal import pki, state
from idpkit.rehearsal.state import Rehearsal
from idpkit.system import service_user
from idpkit.system.files import make_directory


def front_door_settings(run: Rehearsal, drained: tuple[str, ...] = ()) -> front_door.FrontDoorSettings:
    """The load balancer emulation over the rehearsal's hosts; `drained` hosts (by name) are deregistered."""
    graph = state.require_graph(run)
    account = service_user.account()
    pki_files = run.layout.pki
    return front_door.FrontDoorSettings(
        directory=run.layout.front_door,
        logs=run.layout.logs,
        pid_file=run.layout.run / "nginx-master.pid",
        listen_address="0.0.0.0",  # noqa: S104 - inside the edge namespace, as the ALB's public address
        browser_port=HTTPS_PORT,
        m2m_port=state.m2m_port(graph),
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


def load_balancer(run: Rehearsal) -> str:
    graph = state.require_graph(run)
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
    return f"{run.topology.edge_address}:{HTTPS_PORT} and :{state.m2m_port(graph)} over {len(run.hosts)} hosts"


def admin_tunnel(run: Rehearsal) -> str:
    graph = state.require_graph(run)
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
    write_outputs(run)
    return f"edge localhost:{local_port} -> {first.namespace} 127.0.0.1:{KEYCLOAK_HTTPS_PORT}"


def write_outputs(run: Rehearsal) -> None:
    graph = state.require_graph(run)
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
