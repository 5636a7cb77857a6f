"""Running scenarios against a rehearsal, one at a time, healing the rehearsal after each."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.chaos import faults
from idpkit.chaos.catalogue import BY_NAME, SCENARIOS
from idpkit.chaos.scenarios import Scenario, ScenarioResult, run_scenario
from idpkit.errors import IdpkitError
from idpkit.rehearsal.state import Rehearsal

RESULTS = Path("benchmarks") / "results" / "reliability.json"
"""The recorded full runs, one entry per scenario: what `idpkit chaos report` renders."""


def selected(names: Sequence[str], *, short: bool) -> list[Scenario]:
    if names:
        unknown = [name for name in names if name not in BY_NAME]
        if unknown:
            raise IdpkitError(f"unknown scenario {unknown}; known: {', '.join(BY_NAME)}")
        return [BY_NAME[name] for name in names]
    return [scenario for scenario in SCENARIOS if scenario.in_short_form or not short]


def prepare(run: Rehearsal) -> str:
    """The realm (with its smoke identities) as the code declares it: the load logs in with them."""
    result = json.loads(run.operator("realm", "apply", "--stack", run.stack, "--json"))
    return f"realm applied ({len(result.get('changes', []))} changes)"


def run_all(
    run: Rehearsal, scenarios: Sequence[Scenario], *, short: bool, progress: Callable[[str], None]
) -> list[ScenarioResult]:
    results = []
    for scenario in scenarios:
        progress(f"{scenario.name}: {scenario.title}")
        try:
            results.append(run_scenario(run, scenario, short=short))
        finally:
            heal(run)
    return results


def heal(run: Rehearsal) -> None:
    """Whatever a scenario left broken (it failed half-way): database up, every host up and registered."""
    _db, process = faults.database_process(run)
    if process.pid() is None:
        faults.start_database(run)
    for host in run.hosts:
        try:
            faults.keycloak_pid(host)
        except IdpkitError:
            faults.host_up(run, host)
    faults.set_drained(run, ())


def rehearsal_steps(run: Rehearsal) -> None:
    """The short scenarios as steps of a rehearsal (`idpkit rehearse --chaos short`), results beside its report."""
    results: list[dict[str, Any]] = []
    for scenario in selected((), short=True):

        def measure(scenario: Scenario = scenario) -> str:
            (result,) = run_all(run, [scenario], short=True, progress=lambda _step: None)
            results.append(result.to_dict())
            run.layout.chaos_results.write_text(json.dumps(results, indent=2) + "\n")
            if regressions := scenario.regressions(result.verdict):
                raise IdpkitError(f"goal missed beyond its known gaps: {regressions}; {result.verdict.outcome}")
            return result.verdict.summary

        run.step(f"chaos: {scenario.title.lower()}", measure)


def record(results: Sequence[ScenarioResult], machine: dict[str, str]) -> Path:
    """Merge full-form results into the recorded ones (a scenario's latest run replaces its previous)."""
    target = paths.project_root() / RESULTS
    recorded: dict[str, Any] = json.loads(target.read_text()) if target.exists() else {"scenarios": {}}
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for result in results:
        if result.short:
            raise IdpkitError("short-form runs are not recorded: run the full form (without --short)")
        recorded["scenarios"][result.scenario.name] = result.to_dict() | {"measured_at": when}
    recorded["machine"] = machine
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(recorded, indent=2) + "\n")
    return target
