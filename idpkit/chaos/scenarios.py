"""The scenarios: one fault each, under the same mixed load, against a goal stated before it is measured.

`run_scenario` starts the load in the rehearsal's edge namespace (where the stack's public names resolve,
as for any operator command), watches every host's management port, lets the load settle, injects the
fault and its remedy (`Scenario.inject`), keeps the load on for a tail, then stops it: the load audits
every session it holds, and the scenario's `judge` compares what was measured with its goal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.chaos.load import LoadProfile, Sample, read_samples, ready_marker, tally
from idpkit.chaos.probes import HealthWatch
from idpkit.chaos.targets import HealthCheck, Targets
from idpkit.errors import IdpkitError
from idpkit.rehearsal.state import Rehearsal

FULL_LOAD = LoadProfile(logins=1.0, grants=4.0, refreshes=3.0, validations=4.0)
SHORT_LOAD = LoadProfile(logins=1.0, grants=3.0, refreshes=2.0, validations=3.0)
SETTLE_SECONDS = 12.0
"""Load before the fault: sessions to lose, caches warm, a baseline without failures."""
TAIL_SECONDS = 12.0
"""Load after the remedy: what still fails, and the recovery's first successes."""
LOAD_LIMIT_SECONDS = 1500.0
"""Hard bound of one scenario's load process, whatever happens to this one."""
AUDIT_TIMEOUT = 300.0
ENROL_TIMEOUT = 180.0
"""How long the load may take to enrol the people it logs in, before the scenario's clock starts."""


@dataclass
class Context:
    """One scenario's run: the rehearsal's handles, the measurements made while injecting, the watch."""

    run: Rehearsal
    short: bool
    watch: HealthWatch
    targets: Targets
    facts: dict[str, Any] = field(default_factory=dict)
    """Measured while injecting: reported with the scenario."""
    marks: dict[str, Any] = field(default_factory=dict)
    """Kept for the judge only (log offsets, pids)."""
    fault_at: float = 0.0
    recovered_at: float = 0.0
    """When the remedy completed (the node back, the database up): the tail is measured from here."""

    def mark_fault(self) -> None:
        self.fault_at = time.time()

    def mark_recovered(self) -> None:
        self.recovered_at = time.time()


@dataclass(frozen=True)
class Verdict:
    """The goal's parts, each None when met or what was measured against it, and the outcome in one line."""

    checks: dict[str, str | None]
    outcome: str

    @property
    def met(self) -> bool:
        return all(missed is None for missed in self.checks.values())

    @property
    def summary(self) -> str:
        missed = [f"{name}: {detail}" for name, detail in self.checks.items() if detail is not None]
        return self.outcome + (f". Missed: {'; '.join(missed)}" if missed else "")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    fault: str
    goal: str
    inject: Callable[[Context], None]
    judge: Callable[[Context, list[Sample], dict[str, Any]], Verdict]
    in_short_form: bool = False
    prepare: Callable[[Rehearsal], str] | None = None
    """Before the load starts: the state the fault needs (reported as `prepared`)."""
    notes: tuple[str, ...] = ()
    """What the rehearsal cannot show about this fault, and how AWS differs."""
    known_gaps: dict[str, str] = field(default_factory=dict)
    """Parts of the goal measured as missed, by check name: why, and the follow-up (docs/reliability.md's
    closing note). CI holds every other part; a gap closed shows as met and its entry goes."""

    def regressions(self, verdict: Verdict) -> dict[str, str]:
        """Missed parts of the goal that are not known gaps: what must fail a CI run."""
        return {name: missed for name, missed in verdict.checks.items() if missed and name not in self.known_gaps}


@dataclass
class ScenarioResult:
    scenario: Scenario
    short: bool
    load: str
    measured: dict[str, Any]
    verdict: Verdict
    seconds: float
    load_average: str
    """The machine's load average (1/5/15 min) as the scenario started: other work shares the 2 cores."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "title": self.scenario.title,
            "fault": self.scenario.fault,
            "goal": self.scenario.goal,
            "short": self.short,
            "load": self.load,
            "measured": self.measured,
            "goal_met": self.verdict.met,
            "checks": self.verdict.checks,
            "outcome": self.verdict.summary,
            "seconds": round(self.seconds, 1),
            "load_average_at_start": self.load_average,
        }


def run_scenario(run: Rehearsal, scenario: Scenario, *, short: bool) -> ScenarioResult:
    profile = SHORT_LOAD if short else FULL_LOAD
    started = time.monotonic()
    load_average = " / ".join(f"{load:.2f}" for load in os.getloadavg())
    output = run.layout.root / "chaos" / f"{scenario.name}-load.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    ready_marker(output).unlink(missing_ok=True)
    prepared = scenario.prepare(run) if scenario.prepare else None
    with HealthWatch(list(run.hosts)) as watch, Targets(run, HealthCheck.of(run)) as targets:
        context = Context(run, short, watch, targets)
        if prepared:
            context.facts["prepared"] = prepared
        load = _start_load(run, profile, output)
        try:
            _await_enrolment(load, output)
            time.sleep(SETTLE_SECONDS)
            _require_running(load, output)
            scenario.inject(context)
            context.recovered_at = context.recovered_at or time.time()
            time.sleep(TAIL_SECONDS)
        finally:
            payload = _stop_load(load, output)
    samples = read_samples(payload)
    _keep_timeline(context, output.with_name(f"{scenario.name}-health.json"))
    context.marks["sessions"] = payload.get("sessions", [])
    measured = _common_measures(context, samples, payload)
    verdict = scenario.judge(context, samples, measured)
    return ScenarioResult(
        scenario, short, profile.describe(), measured, verdict, time.monotonic() - started, load_average
    )


# --- the load process ---------------------------------------------------------------------------------


def _start_load(run: Rehearsal, profile: LoadProfile, output: Path) -> subprocess.Popen[bytes]:
    rates = [f"--{kind}={getattr(profile, kind)}" for kind in ("logins", "grants", "refreshes", "validations")]
    command = [
        *run.topology.exec_prefix(run.topology.edge), sys.executable, "-m", "idpkit", "chaos", "load",
        "--stack", run.stack, *rates, "--max-seconds", str(LOAD_LIMIT_SECONDS), "--output", str(output),
    ]  # fmt: skip
    log = (run.layout.logs / "chaos-load.log").open("ab")
    return subprocess.Popen(
        command, env=run.operator_env(), cwd=paths.project_root(), stdout=log, stderr=subprocess.STDOUT
    )


def _await_enrolment(load: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + ENROL_TIMEOUT
    while not ready_marker(output).exists():
        _require_running(load, output)
        if time.monotonic() > deadline:
            raise IdpkitError(f"the load generator enrolled no people to log in within {ENROL_TIMEOUT:.0f} s")
        time.sleep(0.5)


def _require_running(load: subprocess.Popen[bytes], output: Path) -> None:
    if load.poll() is not None:
        raise IdpkitError(
            f"the load generator exited ({load.returncode}) before the fault; see chaos-load.log ({output})"
        )


def _stop_load(load: subprocess.Popen[bytes], output: Path) -> dict[str, Any]:
    ready_marker(output).unlink(missing_ok=True)
    if load.poll() is None:
        load.send_signal(signal.SIGTERM)
    try:
        load.wait(AUDIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()
        raise IdpkitError("the load generator did not finish its session audit in time") from None
    if load.returncode != 0 or not output.exists():
        raise IdpkitError(
            f"the load generator failed (exit {load.returncode}); see the rehearsal's logs/chaos-load.log"
        )
    loaded: dict[str, Any] = json.loads(output.read_text())
    return loaded


# --- measures every scenario reports ------------------------------------------------------------------


def _common_measures(context: Context, samples: list[Sample], payload: dict[str, Any]) -> dict[str, Any]:
    fault_at = context.fault_at or context.recovered_at
    failures_after = [s for s in samples if s.failure is not None and s.ended >= fault_at]
    last_failure = max((s.ended for s in failures_after), default=None)
    return {
        "seconds_under_load": round(payload["stopped"] - payload["started"], 1),
        "load_balancer_health_check": context.targets.check.describe(),
        "before_fault": tally(samples, until=fault_at),
        "from_fault": tally(samples, since=fault_at),
        "total": tally(samples),
        "sessions": payload["audit"],
        "time_to_recover_seconds": round(last_failure - fault_at, 1) if last_failure else 0.0,
        "remedy_seconds": round(context.recovered_at - fault_at, 1) if context.fault_at else None,
        "load_balancer_events": [
            f"{at - fault_at:+.0f} s {host} {event}" for at, host, event in context.targets.events
        ],
        **context.facts,
    }


def _keep_timeline(context: Context, target: Path) -> None:
    """Every readiness probe and load balancer event, kept beside the load's samples for a closer look."""
    timeline = {
        "fault_at": context.fault_at,
        "recovered_at": context.recovered_at,
        "probes": [[s.at, s.host, s.ready, s.detail, s.metrics] for s in context.watch.samples],
        "load_balancer": context.targets.events,
    }
    target.write_text(json.dumps(timeline))


def in_flight_at(samples: list[Sample], instant: float) -> list[Sample]:
    return [s for s in samples if s.started <= instant <= s.ended]


def failures(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if s.failure is not None]


def failure_summary(samples: list[Sample]) -> str:
    counted: dict[str, int] = {}
    for sample in failures(samples):
        key = f"{sample.kind}: {sample.failure}"
        counted[key] = counted.get(key, 0) + 1
    return ", ".join(f"{count} {key}" for key, count in sorted(counted.items(), key=lambda item: -item[1])) or "none"
