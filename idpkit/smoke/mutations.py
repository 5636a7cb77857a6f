"""Mutation mode: weaken one hardened setting at a time on the live local realm; the claiming check must fail.

`idpkit smoke --stack local --mutations` takes the mutants of `idpkit.smoke.mutants`. For each one
it reads the setting's live value (kept in a pending file, so an interrupted run is undone by the
next), writes the weakened value and confirms Keycloak holds it, then runs only the tests whose
checks claim that setting. A failing claiming test kills the mutant; otherwise the rest of the
suite runs with the mutant still in place, and a failure there is reported as caught elsewhere,
not killed. The setting is then written back, realm-config re-applied and `plan` must be clean.

Before the first mutant the tests to be run must pass on the codified realm; after the last, the
tests that killed mutants run once more on the restored realm, so a flaky test cannot pose as a kill.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from idpkit.errors import ExitCode, IdpkitError
from idpkit.outputs import LOCAL_STACK, load_outputs
from idpkit.realm import engine, weakenings
from idpkit.smoke import live
from idpkit.smoke.checks import matches
from idpkit.smoke.mutants import Mutant, mutants
from idpkit.smoke.runner import collect_catalog, run_suite

# Deterministic order, quiet, every failure listed (the results file says which tests failed).
SUITE_ARGS = ("-p", "no:randomly", "-q", "--tb=no", "--no-header")
PYTEST_PASSED, PYTEST_FAILED = 0, 1
RESTORE_PASSES = 2
PENDING_FILE = "pending.json"


class Verdict(StrEnum):
    KILLED = "killed"
    ELSEWHERE = "caught elsewhere"
    SURVIVED = "survived"
    NOT_APPLIED = "not applied"
    UNCLAIMED = "unclaimed"


@dataclass(frozen=True)
class Test:
    """One test of the suite, as the catalog lists it."""

    node: str
    check: str
    claims: tuple[str, ...]
    expiry: bool
    config_read: bool


@dataclass
class Outcome:
    mutant: Mutant
    verdict: Verdict
    claiming: tuple[str, ...] = ()
    """Checks whose tests claim the mutant's setting."""
    killed_by: tuple[str, ...] = ()
    """Failing tests of claiming checks."""
    caught_by: tuple[str, ...] = ()
    """Failing tests of other checks (caught elsewhere)."""
    by_config_read: bool = False
    """Killed only by config-read checks."""
    note: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutant": self.mutant.name, "setting": self.mutant.setting, "family": self.mutant.family.value,
            "rules": list(self.mutant.rules), "verdict": self.verdict.value, "claiming": list(self.claiming),
            "killed_by": list(self.killed_by), "caught_by": list(self.caught_by),
            "by_config_read": self.by_config_read, "note": self.note, "seconds": round(self.seconds, 1),
        }  # fmt: skip


@dataclass
class MutationRun:
    outcomes: list[Outcome]
    seconds: float
    selection: str
    """Which mutants ran: every one, named ones, or a sample (with its seed)."""
    catalogue_size: int
    unstable: list[str] = field(default_factory=list)
    """Killing tests that failed again on the restored realm: their kills do not count."""

    @property
    def killed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict is Verdict.KILLED]

    @property
    def passed(self) -> bool:
        return len(self.killed) == len(self.outcomes) and not self.unstable

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutants": len(self.outcomes), "catalogue": self.catalogue_size, "selection": self.selection,
            "killed": len(self.killed), "seconds": round(self.seconds, 1), "unstable_tests": self.unstable,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }  # fmt: skip


def suite_tests(catalog: dict[str, Any]) -> list[Test]:
    return [
        Test(test["test"], check_id, tuple(test["claims"]), bool(test["expiry"]), entry["config_read"] is not None)
        for check_id, entry in catalog.items()
        for test in entry["tests"]
    ]


def claiming(tests: Sequence[Test], setting: str) -> list[Test]:
    """The tests whose claims match the setting."""
    return [test for test in tests if any(matches(pattern, setting) for pattern in test.claims)]


def choose(
    catalogue: list[Mutant], tests: list[Test], *, names: Sequence[str] = (), sample: int | None = None, seed: str = ""
) -> tuple[list[Mutant], str]:
    """The mutants to run: named ones, a sample of quick ones (no expiry test claims them), or all."""
    if names:
        if unknown := set(names) - {m.name for m in catalogue}:
            raise IdpkitError(f"unknown mutants: {', '.join(sorted(unknown))}", exit_code=ExitCode.USAGE)
        return [m for m in catalogue if m.name in names], f"{len(names)} named"
    if sample is None:
        return catalogue, "every mutant"
    quick = [m for m in catalogue if (found := claiming(tests, m.setting)) and not any(t.expiry for t in found)]

    def rank(mutant: Mutant) -> str:
        return hashlib.sha256(f"{seed}/{mutant.name}".encode()).hexdigest()

    picked = sorted(quick, key=rank)[:sample]
    return [m for m in catalogue if m in picked], f"a sample of {len(picked)} (seed {seed!r})"


def run_mutations(
    stack: str,
    *,
    workdir: Path,
    names: Sequence[str] = (),
    sample: int | None = None,
    seed: str = "",
    elsewhere: bool = True,
    progress: Callable[[Outcome], None] = lambda _outcome: None,
) -> MutationRun:
    """Each chosen mutant in turn on the live local realm: weaken, run its claiming tests, restore."""
    if stack != LOCAL_STACK:
        raise IdpkitError(
            "mutation testing weakens the live realm; it runs against the local stack only", exit_code=ExitCode.USAGE
        )
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    # Master's mutants are written, and every mutant undone, as the break-glass account: the kit's own service
    # account may not change master.
    session = engine.Session.open(load_outputs(stack), break_glass=True)
    recover(session, workdir)
    restore(session, stack)
    tests = suite_tests(collect_catalog(stack))
    catalogue = mutants()
    chosen, selection = choose(catalogue, tests, names=names, sample=sample, seed=seed)
    to_run = sorted({test.node for m in chosen for test in claiming(tests, m.setting)})
    if failing := _failures(stack, workdir / "baseline", to_run):
        raise IdpkitError(
            f"{len(failing)} smoke test(s) fail on the codified realm, so no mutant can be judged: "
            + ", ".join(failing),
            hint=f"run `idpkit smoke --stack {stack}` and fix them first",
        )
    outcomes = []
    for mutant in chosen:
        outcome = _judge(stack, session, mutant, tests, workdir, elsewhere=elsewhere)
        outcomes.append(outcome)
        progress(outcome)
    killers = sorted({node for outcome in outcomes for node in outcome.killed_by})
    unstable = _failures(stack, workdir / "confirm", killers)
    for outcome in outcomes:
        if set(outcome.killed_by) & set(unstable):
            outcome.verdict, outcome.note = Verdict.SURVIVED, "its killing test fails on the codified realm too"
    return MutationRun(outcomes, time.monotonic() - started, selection, len(catalogue), unstable)


def _judge(
    stack: str, session: engine.Session, mutant: Mutant, tests: list[Test], workdir: Path, *, elsewhere: bool
) -> Outcome:
    started = time.monotonic()
    claimed = claiming(tests, mutant.setting)
    outcome = Outcome(mutant, Verdict.UNCLAIMED, tuple(sorted({t.check for t in claimed})))
    directory = workdir / hashlib.sha256(mutant.name.encode()).hexdigest()[:12]
    if claimed:
        undo = _weaken(session, mutant, workdir)
        try:
            if refusal := _refused(session, stack, mutant):
                outcome.verdict, outcome.note = Verdict.NOT_APPLIED, refusal
            else:
                _run(stack, outcome, claimed, directory, elsewhere=elsewhere)
        finally:
            undo()
            restore(session, stack)
            (workdir / PENDING_FILE).unlink()
    outcome.seconds = time.monotonic() - started
    return outcome


def _run(stack: str, outcome: Outcome, claimed: list[Test], directory: Path, *, elsewhere: bool) -> None:
    nodes = {test.node for test in claimed}
    killed = _failures(stack, directory / "claiming", sorted(nodes))
    if killed:
        outcome.verdict, outcome.killed_by = Verdict.KILLED, tuple(killed)
        by_config_read = {t.node for t in claimed if t.config_read}
        outcome.by_config_read = set(killed) <= by_config_read
        return
    # The rest of the suite, quick tests only, selected by deselecting (host-check ids hold "//", which pytest
    # cannot take back as node ids).
    deselect = [argument for node in sorted(nodes) for argument in ("--deselect", node)]
    caught = _failures(stack, directory / "elsewhere", (), ("-m", "not expiry", *deselect)) if elsewhere else []
    outcome.verdict = Verdict.ELSEWHERE if caught else Verdict.SURVIVED
    outcome.caught_by = tuple(caught)


def _weaken(session: engine.Session, mutant: Mutant, workdir: Path) -> Callable[[], None]:
    """Write the mutant (the value it replaces kept in the pending file first); returns what undoes it."""
    pending = workdir / PENDING_FILE
    if mutant.held is not None:
        # realm-config holds the field to its secure default: `realm apply` undoes the weakening.
        pending.write_text(json.dumps({"setting": mutant.setting, "held": True}))
        weakenings.weaken(session.realm, mutant.held, mutant.target)
        return lambda: None
    target = live.setting(mutant.setting)
    before = target.read(session)
    pending.write_text(json.dumps({"setting": mutant.setting, "value": before}))
    target.write(session, mutant.weakened)
    return lambda: target.write(session, before)


def _refused(session: engine.Session, stack: str, mutant: Mutant) -> str | None:
    """Why the live realm does not hold the mutant (Keycloak refused or undid the write), or None."""
    if mutant.held is not None:
        drift = engine.plan(session, stack, stack).changes
        return None if drift else "realm drift shows no change after the weakening"
    held = live.setting(mutant.setting).read(session)
    return None if _normal(held) == _normal(mutant.weakened) else f"Keycloak holds {held!r} after writing it"


def _normal(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(map(str, value))
    return value


def recover(session: engine.Session, workdir: Path) -> None:
    """Undo the mutant an interrupted run left on the realm (its setting's value before it was weakened)."""
    pending = workdir / PENDING_FILE
    if pending.exists():
        left = json.loads(pending.read_text())
        if not left.get("held"):  # a held secure default is undone by the `restore` that follows
            live.setting(left["setting"]).write(session, left["value"])
        pending.unlink()


def restore(session: engine.Session, stack: str) -> None:
    """Re-apply the codified realm, then insist the plan is clean (the next mutant starts from it)."""
    # A second pass converges when someone applied or edited realm-config while the first one ran.
    for _ in range(RESTORE_PASSES):
        engine.apply(session, stack, stack)
        leftover = engine.plan(session, stack, stack).changes
        if not leftover:
            return
    raise IdpkitError(
        f"realm {session.outputs.realm}: still differs from realm-config after restoring: "
        + ", ".join(f"{change.kind} {change.name}" for change in leftover),
        hint=f"run `idpkit realm apply --stack {stack}` and `idpkit realm plan --stack {stack}`",
    )


def _failures(stack: str, directory: Path, tests: Sequence[str], selection: Sequence[str] = ()) -> list[str]:
    """Run exactly `tests` (node ids), or the suite as `selection` (pytest arguments) picks it; the failed tests."""
    if not tests and not selection:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    results = directory / "results.json"
    results.unlink(missing_ok=True)
    run = run_suite(
        stack, [*SUITE_ARGS, *selection], junit=directory / "junit.xml", results=results, quiet=True, tests=tests
    )
    failed = (
        [r["test"] for r in json.loads(results.read_text())["results"] if r["outcome"] == "failed"]
        if results.exists()
        else []
    )
    # A collection error or crash fails no test: counting it as "nothing failed" would let every mutant survive.
    if run.exit_code not in (PYTEST_PASSED, PYTEST_FAILED) or (run.exit_code == PYTEST_FAILED) != bool(failed):
        raise IdpkitError(
            f"the smoke suite did not run cleanly (pytest exit {run.exit_code}, {len(failed)} failed tests recorded)",
            hint=f"run `idpkit smoke --stack {stack}` to see why; artifacts in {directory}",
        )
    return failed
