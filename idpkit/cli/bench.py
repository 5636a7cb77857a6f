"""`idpkit bench`: run the scripts under benchmarks/ and regenerate docs/benchmarks.md from their results.

The scripts run in child processes, so each gets the environment it needs: everything that touches a
local stack runs on a second stack (its own state directory, every port +200) that this command
brings up and always takes down and deletes, never on the machine's shared stack.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from idpkit import __version__, paths
from idpkit.errors import ExitCode
from idpkit.keycloak_server import release
from idpkit.local.front_door import nginx_binary
from idpkit.local.stack import DatabaseChoice
from idpkit.system.java import find_java

PRODUCTION_DATABASE: DatabaseChoice = "postgres"
"""What the realm and throughput benchmarks run on: PostgreSQL over TLS (verify-full), as production runs RDS."""


@dataclass(frozen=True)
class Benchmark:
    script: str
    needs_stack: bool
    """Runs against the second stack, which must be up with the realm applied."""
    owns_stack: bool = False
    """Takes its stack down and purges it: its quick form cannot run against a stack others use (the tests')."""
    database: DatabaseChoice | None = None
    """The database the second stack must run on (`idpkit local up --db`); None: whichever it runs."""


# Run order: the mock suite first, on an idle machine; bring-up leaves the second stack up for the rest.
BENCHMARKS: dict[str, Benchmark] = {
    "aws": Benchmark("aws_mocks.py", needs_stack=False),
    "bringup": Benchmark("bringup.py", needs_stack=False, owns_stack=True),
    "smoke": Benchmark("smoke_suite.py", needs_stack=True),
    "realm": Benchmark("realm_sizes.py", needs_stack=True, database=PRODUCTION_DATABASE),
    "tokens": Benchmark("token_load.py", needs_stack=True, database=PRODUCTION_DATABASE),
    "logins": Benchmark("login_load.py", needs_stack=True, database=PRODUCTION_DATABASE),
}
SECOND_STACK_PORT_OFFSET_ENV, SECOND_STACK_PORT_OFFSET = "IDPKIT_BENCH_PORT_OFFSET", "200"
"""The second stack's port offset (the variable moves it where another stack already listens)."""
REPORT = Path("docs") / "benchmarks.md"
KMS_SIGNING_REPORT = Path("docs") / "benchmarks-kms-signing.md"
"""Figures of the KMS signing scripts, which need a `--signing kms` stack: written by hand, linked from REPORT."""


@click.command()
@click.option("--only", "only", multiple=True, type=click.Choice(list(BENCHMARKS)), metavar="NAME",
              help=f"Run only these benchmarks (repeatable): {', '.join(BENCHMARKS)}.")  # fmt: skip
@click.option("--quick", is_flag=True,
              help="Short windows and small sizes: proves every benchmark runs; its figures go to "
                   "benchmarks/results/quick/, never to docs/benchmarks.md.")  # fmt: skip
def bench(only: tuple[str, ...], quick: bool) -> None:
    """Run the benchmarks (all, or --only NAME ...) and regenerate docs/benchmarks.md.

    Figures are printed with the machine (cores, CPU, memory) and the Python, Java and Keycloak versions.
    Stack benchmarks run on a second local stack (ports +200, or +$IDPKIT_BENCH_PORT_OFFSET) that is taken down
    and deleted at the end; tokens and logins on PostgreSQL over TLS (the stack is brought up afresh on it when it
    runs the dev-file database). The realm benchmark runs keycloak-config-cli beside `realm apply` when its jar has
    been built (scripts/build-keycloak-config-cli).
    """
    selected = [name for name in BENCHMARKS if not only or name in only]
    root = paths.project_root()
    results = root / "benchmarks" / "results" / ("quick" if quick else "")
    results.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    click.echo(" | ".join(f"{key}: {value}" for key, value in machine.items()))
    started = time.monotonic()
    failed: list[str] = []
    with _second_stack(needed="bringup" in selected or any(BENCHMARKS[n].needs_stack for n in selected)) as env:
        ready = False
        for name in selected:
            benchmark = BENCHMARKS[name]
            if benchmark.needs_stack and env is not None and not (ready and benchmark.database is None):
                _ensure_stack(env, benchmark.database)
                ready = True
            click.echo(f"== {name} ({benchmark.script})", err=True)
            run = _run(root / "benchmarks" / benchmark.script, env if env is not None else dict(os.environ), quick)
            run["name"] = name
            (results / f"{name}.json").write_text(json.dumps(run, indent=2) + "\n")
            click.echo(f"== {name}: {'ok' if run['exit_code'] == 0 else 'FAILED'} in {run['seconds']:.0f} s", err=True)
            if run["exit_code"] != 0:
                failed.append(name)
    elapsed = time.monotonic() - started
    runs = [json.loads(path.read_text()) for name in BENCHMARKS if (path := results / f"{name}.json").exists()]
    report = results / "benchmarks.md" if quick else root / REPORT
    report.write_text(render_report(runs, machine, quick=quick))
    click.echo(f"benchmark run wall time: {elapsed:.0f} s; report: {report}")
    if failed:
        click.echo(f"failed: {', '.join(failed)}", err=True)
        sys.exit(ExitCode.ERROR)


def _run(script: Path, env: Mapping[str, str], quick: bool) -> dict[str, Any]:
    """One benchmark script; its sections, or a failure with its output's tail."""
    with tempfile.TemporaryDirectory(prefix="idpkit-bench-") as scratch:
        target = Path(scratch) / "sections.json"
        command = [sys.executable, str(script), "--results", str(target), *(["--quick"] if quick else [])]
        started = time.monotonic()
        completed = subprocess.run(command, env=dict(env), check=False)
        seconds = time.monotonic() - started
        sections = json.loads(target.read_text()) if target.exists() else []
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds, 1),
        "quick": quick,
        "exit_code": completed.returncode,
        "sections": sections,
    }


@contextmanager
def _second_stack(*, needed: bool) -> Iterator[dict[str, str] | None]:
    """The environment of a fresh second stack; down and deleted afterwards, whatever happened."""
    if not needed:
        yield None
        return
    state = Path(tempfile.mkdtemp(prefix="idpkit-bench-state-"))
    offset = os.environ.get(SECOND_STACK_PORT_OFFSET_ENV, SECOND_STACK_PORT_OFFSET)
    env = dict(os.environ, IDPKIT_STATE_DIR=str(state), IDPKIT_LOCAL_PORT_OFFSET=offset)
    try:
        yield env
    finally:
        subprocess.run([sys.executable, "-m", "idpkit", "local", "down", "--purge"], env=env, check=False)
        shutil.rmtree(state, ignore_errors=True)


def _ensure_stack(env: Mapping[str, str], database: DatabaseChoice | None) -> None:
    """Up on `database` with the realm applied (idempotent, seconds when already so); not part of any figure.

    A stack on another database is purged first: a fresh stack on the asked one, rather than a switch in place."""
    if database is not None:
        status = _second_stack_command(env, "local", "status", "--json", also_ok=ExitCode.NOT_RUNNING)
        if json.loads(status or "{}").get("database") not in (None, database):
            _second_stack_command(env, "local", "down", "--purge")
    _second_stack_command(env, "local", "up", "--json", *(["--db", database] if database else []))
    _second_stack_command(env, "realm", "apply", "--stack", "local")


def _second_stack_command(env: Mapping[str, str], *args: str, also_ok: ExitCode = ExitCode.OK) -> str:
    """`idpkit ARGS` on the second stack; its standard output."""
    completed = subprocess.run([sys.executable, "-m", "idpkit", *args], env=dict(env), capture_output=True,
                               text=True, check=False)  # fmt: skip
    if completed.returncode not in (ExitCode.OK, also_ok):
        raise click.ClickException(f"`idpkit {' '.join(args)}` on the second stack failed:\n{completed.stderr}")
    return completed.stdout


def machine_facts() -> dict[str, str]:
    """What the figures depend on: cores, CPU, memory, and the versions of everything in the path."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "cores (nproc)": str(os.cpu_count()),
        "CPU": model.group(1).strip() if model else "unknown",
        "memory": f"{int(memory.group(1)) / 2**20:.1f} GiB" if memory else "unknown",
        "OS": platform.platform(terse=True),
        "Python": platform.python_version(),
        "Java": _java_version(),
        "Keycloak": release.VERSION,
        "nginx": _command_version([nginx_binary(), "-v"], r"nginx/(\S+)"),
        "idpkit": __version__,
        # Other work on the machine (the shared stack, other engineers' tests) competes for the same cores.
        "load average at start (1/5/15 min)": " / ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def render_report(runs: Sequence[Mapping[str, Any]], machine: Mapping[str, str], *, quick: bool = False) -> str:
    """docs/benchmarks.md: the machine, then one table per section of each benchmark's latest run."""
    lines = [
        "# Benchmarks" + (" (quick run: not representative)" if quick else ""),
        "",
        "Generated by `idpkit bench` (all: about 15 minutes, 30 with keycloak-config-cli built) or "
        "`idpkit bench --only NAME` "
        f"({', '.join(BENCHMARKS)}); do not edit by hand. Scripts: `benchmarks/`. Stack benchmarks run on a "
        "second local stack (own state directory, ports +200), never on the machine's shared stack.",
        "",
        database_note(),
        "",
        f"Signing inside KMS (latency per signature, rotation under load, KMS quota sizing) needs a stack started with "
        f"`--signing kms` and is measured by hand: [{KMS_SIGNING_REPORT.name}]({KMS_SIGNING_REPORT.name}).",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {_cell(value)} |" for key, value in machine.items()),
    ]
    for run in runs:
        status = "" if run["exit_code"] == 0 else f", FAILED (exit {run['exit_code']})"
        lines += ["", f"## {run['name']}", "", f"Measured {run['date']} in {run['seconds']:.0f} s{status}."]
        for section in run["sections"]:
            lines += ["", f"### {section['title']}", ""]
            lines.append("| " + " | ".join(_cell(column) for column in section["columns"]) + " |")
            lines.append("|" + " --- |" * len(section["columns"]))
            lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in section["rows"]]
            if section["notes"]:
                lines += ["", *(f"- {_cell(note)}" for note in section["notes"])]
    return "\n".join(lines) + "\n"


def database_note() -> str:
    """Which benchmarks run on which database of the second stack (the stack's own default for the rest)."""
    pinned: dict[str, list[str]] = {}
    for name, benchmark in BENCHMARKS.items():
        if benchmark.database is not None:
            pinned.setdefault(benchmark.database, []).append(f"`{name}`")
    described = [f"{', '.join(names)} on `--db {database}`" for database, names in pinned.items()]
    return (
        f"Database of the second stack: {'; '.join(described)} (PostgreSQL: over TLS, verify-full, as on AWS); "
        "the other stack benchmarks on the stack's default, the embedded dev-file database."
    )


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _java_version() -> str:
    java = find_java()
    version = _command_version([str(java.executable), "-version"], r'version "([^"]+)"')
    return f"{version} ({java.source})"


def _command_version(command: list[str], pattern: str) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "not installed"
    found = re.search(pattern, completed.stdout + completed.stderr)
    return found.group(1) if found else "unknown"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
