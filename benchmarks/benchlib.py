"""What every benchmark script shares: its command line, its result file, timing and CPU accounting.

Each script prints human-readable lines as it measures and, with `--results FILE`, writes one section
of docs/benchmarks.md as JSON: a title, column names, rows and notes. `idpkit bench` runs the scripts
in child processes and renders those sections; a script also runs on its own, e.g.
`python benchmarks/token_load.py --quick`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit.host.services import Processes
from idpkit.local.layout import LocalLayout
from idpkit.local.stack import status
from idpkit.outputs import LOCAL_STACK, OUTPUTS_FILE_ENV
from idpkit.rehearsal.layout import RehearsalLayout
from idpkit.rehearsal.state import attach

# /proc/<pid>/stat counts CPU time in clock ticks.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDPKIT = (sys.executable, "-m", "idpkit")


@dataclass
class Section:
    """One table of the report."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))
        print("  " + " | ".join(str(cell) for cell in cells), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def arguments(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs and fewer sizes: a smoke run")
    parser.add_argument("--results", type=Path, default=None, help="write the report sections here (JSON)")
    return parser


def save(sections: Sequence[Section], target: Path | None) -> None:
    if target is None:
        return
    payload = [{"title": s.title, "columns": s.columns, "rows": s.rows, "notes": s.notes} for s in sections]
    target.write_text(json.dumps(payload, indent=2) + "\n")


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    output: str


def run_timed(command: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900) -> Timed:
    """Run a command to completion; its wall time, exit code and combined output (for failures and parsing)."""
    started = time.monotonic()
    completed = subprocess.run(
        list(command), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )  # fmt: skip
    return Timed(time.monotonic() - started, completed.returncode, completed.stdout + completed.stderr)


def idpkit(*args: str, env: dict[str, str] | None = None) -> Timed:
    """`idpkit ARGS` as a user runs it; raises with the output's tail when it fails."""
    result = run_timed([*IDPKIT, *args], env=env)
    if result.returncode != 0:
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        raise RuntimeError(f"`idpkit {' '.join(args)}` exited {result.returncode}:\n{tail}")
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (kc.sh starts the JVM as a child)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        if stat := _stat(current):
            total += int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15; 0-based after comm)
        pending.extend(children.get(current, []))
    return total / CLOCK_TICKS


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces): [state, ppid, ...]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


@dataclass(frozen=True)
class Sample:
    """One request of a load: when it started, how long it took, whether it got what it asked for."""

    started: float
    seconds: float
    ok: bool


@dataclass(frozen=True)
class Usage:
    """Wall time and the CPU time of Keycloak, nginx and this load generator: read twice, a window's usage."""

    wall: float
    keycloak: float
    nginx: float
    generator: float

    @classmethod
    def now(cls, processes: StackProcesses) -> Usage:
        keycloak = sum(cpu_seconds(pid) for pid in processes.keycloak)
        return cls(time.monotonic(), keycloak, cpu_seconds(processes.nginx), time.process_time())

    def since(self, start: Usage) -> Usage:
        return Usage(
            self.wall - start.wall,
            self.keycloak - start.keycloak,
            self.nginx - start.nginx,
            self.generator - start.generator,
        )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class StackProcesses:
    """The processes of a stack on this machine whose CPU a load benchmark accounts for, and what it runs on."""

    keycloak: tuple[int, ...]
    """Every Keycloak node's process (kc.sh; its JVM is a child)."""
    nginx: int
    """The front door (the load balancer emulation of a rehearsal)."""
    database: str
    """As the reports name it, with the number of nodes when more than one."""


def stack_processes(stack: str) -> StackProcesses:
    """A local stack's processes, or a kept rehearsal's (`idpkit rehearse --stack NAME --keep --up-only`)."""
    layout = LocalLayout.for_stack(stack)
    keycloak, nginx = layout.process("keycloak").pid(), layout.process("nginx").pid()
    if keycloak is not None and nginx is not None:
        return StackProcesses((keycloak,), nginx, stack_database(layout))
    if RehearsalLayout(stack).outputs_file.exists():
        return _rehearsal_processes(stack)
    raise SystemExit(f"no running local stack or kept rehearsal named {stack!r} on this machine: bring one up first")


def run_as_rehearsal_client(stack: str) -> None:
    """For a kept rehearsal: apply the realm as an operator (idempotent, as `idpkit chaos run` does), then run this
    script again from its edge namespace with an operator's environment (its outputs, the AWS emulation), as its
    clients reach it; exits with that run's status. Otherwise returns."""
    if stack == LOCAL_STACK or os.environ.get(OUTPUTS_FILE_ENV) or not RehearsalLayout(stack).outputs_file.exists():
        return
    run = attach(stack)
    run.operator("realm", "apply", "--stack", stack)
    command = [*run.topology.exec_prefix(run.topology.edge), sys.executable, *sys.argv]
    sys.exit(subprocess.run(command, env=run.operator_env(), check=False).returncode)


def _rehearsal_processes(stack: str) -> StackProcesses:
    run = attach(stack)
    nodes = tuple(pid for host in run.hosts if (pid := Processes(host.layout).keycloak_pid()) is not None)
    nginx = run.layout.process("front-door").pid()  # the name idpkit.rehearsal.edge starts the front door under
    if len(nodes) != len(run.hosts) or nginx is None:
        raise SystemExit(f"the rehearsal of {stack} is not all running ({len(nodes)} of {len(run.hosts)} Keycloak "
                         f"nodes, front door {'up' if nginx else 'down'}): `idpkit rehearse --stack {stack} --keep "
                         "--up-only` again")  # fmt: skip
    return StackProcesses(nodes, nginx, f"PostgreSQL (TLS), {len(nodes)} nodes behind the ALB emulation")


def stack_database(layout: LocalLayout) -> str:
    """The database a local stack runs on, as the reports name it."""
    chosen = status(layout).database
    return "PostgreSQL (TLS)" if chosen == "postgres" else "dev-file (H2)" if chosen == "dev-file" else "unknown"


PORT_OFFSET = "IDPKIT_LOCAL_PORT_OFFSET"
SECOND_STACK_VARIABLES = ("IDPKIT_STATE_DIR", PORT_OFFSET)


def require_second_stack() -> None:
    """Refuse to stop, purge or restart the machine's shared local stack: other engineers test against it."""
    if not all(os.environ.get(name) for name in SECOND_STACK_VARIABLES) or int(os.environ[PORT_OFFSET]) == 0:
        raise SystemExit(
            "this benchmark takes its stack down and up: run it on a second stack "
            "(IDPKIT_STATE_DIR=<empty dir> IDPKIT_LOCAL_PORT_OFFSET=200), as `idpkit bench` does"
        )
