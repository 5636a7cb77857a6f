"""One rehearsal's shared state: its steps' outcomes, what earlier steps found, and how operators run commands."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.aws_config import architecture_of
from idpkit.aws_graph import StackGraph, capture, stack_config
from idpkit.constants.aws import DEFAULT_AMI_PARAMETER
from idpkit.errors import IdpkitError
from idpkit.outputs import OUTPUTS_FILE_ENV
from idpkit.rehearsal import aws, hosts, network, pki
from idpkit.rehearsal.layout import RehearsalLayout
from idpkit.smoke.certificates import DIRECTORY_VARIABLE


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
    outcomes: list[StepOutcome] = field(default_factory=list)
    graph: StackGraph | None = None
    binding: aws.Binding = field(default_factory=aws.Binding)
    endpoint: str = ""
    region: str = ""
    hosts: list[hosts.RehearsalHost] = field(default_factory=list)

    @property
    def topology(self) -> network.Topology:
        """The network this state directory's rehearsal of the stack holds (claimed by the preflight)."""
        held = network.held(self.stack, paths.state_root())
        if held is None:
            raise IdpkitError(
                f"no rehearsal network of {self.stack} is held by {paths.state_root()}",
                hint=f"start one with `idpkit rehearse --stack {self.stack} --keep`",
            )
        return held

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
        return {
            **{name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ},
            **self.aws_env(),
            OUTPUTS_FILE_ENV: str(self.layout.outputs_file),
            "IDPKIT_STATE_DIR": str(paths.state_root()),
            "IDPKIT_PROJECT_DIR": str(paths.project_root()),
            DIRECTORY_VARIABLE: str(pki.smoke_clients(self.layout.pki, self.layout.clients)),
        }

    def operator(self, *arguments: str, namespace: str | None = None, env: Mapping[str, str] | None = None) -> str:
        """`idpkit <arguments>` as an operator would run it, from the edge namespace."""
        command = [*self.topology.exec_prefix(namespace or self.topology.edge), sys.executable, "-m", "idpkit"]
        completed = subprocess.run(
            [*command, *arguments], capture_output=True, text=True, check=False,
            env={**self.operator_env(), **(env or {})}, cwd=paths.project_root(),
        )  # fmt: skip
        log = self._operator_log(arguments)
        log.write_text(f"$ idpkit {' '.join(arguments)}\n{completed.stdout}\n{completed.stderr}")
        if completed.returncode != 0:
            raise IdpkitError(
                f"`idpkit {' '.join(arguments)}` exited {completed.returncode}:\n{_failure_excerpt(completed)}",
                hint=f"the whole output is in {log}",
            )
        return completed.stdout

    def _operator_log(self, arguments: tuple[str, ...]) -> Path:
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        taken = len(list(self.layout.logs.glob("operator-*.log")))
        return self.layout.logs / f"operator-{taken + 1:02d}-{'-'.join(arguments[:2])}.log"


_FAILURE_MARKERS = ("FAILED ", "ERROR ", "Error", "error:", "INTERNALERROR")


def _failure_excerpt(completed: subprocess.CompletedProcess[str]) -> str:
    """The lines naming what failed (pytest's FAILED/ERROR summary, the kit's error), then the end of stderr."""
    lines = (completed.stdout + "\n" + completed.stderr).splitlines()
    named = [line for line in lines if line.lstrip().startswith(_FAILURE_MARKERS)]
    return "\n".join([*named[:40], completed.stderr[-1500:].strip()]).strip()


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
    run.region = stack_values(stack)["aws:region"]
    graph = capture(stack)
    if graph.error:
        raise IdpkitError(f"the Pulumi program fails for stack {stack}: {graph.error}")
    run.graph = graph
    topology = run.topology
    run.hosts = [
        hosts.RehearsalHost(index, topology.host(index), topology.host_address(index), layout.host(index))
        for index in range(1, network.HOST_COUNT + 1)
    ]
    return run


def require_graph(run: Rehearsal) -> StackGraph:
    if run.graph is None:
        raise IdpkitError("internal: the resource graph was not captured")
    return run.graph


def stack_values(stack: str) -> dict[str, str]:
    values, _secret_keys = stack_config(stack, paths.project_root())
    return values


def architecture(stack: str) -> str:
    return architecture_of(stack_values(stack).get("idpkit:amiParameter", DEFAULT_AMI_PARAMETER))


def m2m_port(graph: StackGraph) -> int:
    return int(str(graph.outputs["m2m_url"]).rsplit(":", 1)[1])


def public_names(graph: StackGraph) -> tuple[str, ...]:
    base = str(graph.outputs["base_url"]).removeprefix("https://")
    m2m = str(graph.outputs["m2m_url"]).removeprefix("https://").rsplit(":", 1)[0]
    return (base, m2m)


def db_host(graph: StackGraph) -> str:
    (instance,) = graph.of_type("aws:rds/instance:Instance")
    return str(instance.outputs["address"])
