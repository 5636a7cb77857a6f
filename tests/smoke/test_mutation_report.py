"""docs/mutations.md is the report of a full mutation run over the current catalogue, every mutant killed.

It is written by `idpkit smoke --stack local --mutations --report docs/mutations.md` (the full run is
on demand: about half an hour); these checks fail as soon as the catalogue changes without the report
being regenerated.
"""

from __future__ import annotations

import datetime as dt

from idpkit import paths
from idpkit.smoke import mutation_report
from idpkit.smoke.mutants import Family, Mutant, mutants
from idpkit.smoke.mutations import MutationRun, Outcome, Verdict

REPORT = paths.project_root() / "docs" / "mutations.md"


def test_report_covers_exactly_the_current_catalogue() -> None:
    reported = mutation_report.rows(REPORT.read_text())
    current = {mutant.name for mutant in mutants()}
    missing, stale = sorted(current - reported.keys()), sorted(reported.keys() - current)
    assert not missing and not stale, (
        f"{REPORT} is out of date (regenerate: {mutation_report.COMMAND}): "
        f"mutants missing from it {missing}; mutants it lists that no longer exist {stale}"
    )


def test_report_shows_every_mutant_killed_by_its_claiming_check() -> None:
    reported = mutation_report.rows(REPORT.read_text())
    not_killed = {name: verdict for name, verdict in reported.items() if not verdict.startswith(Verdict.KILLED)}
    assert reported and not not_killed, f"{REPORT}: mutants not killed by their claiming check: {not_killed}"
    assert "| 100.0%" in REPORT.read_text().replace("(", "| "), f"{REPORT}: the kill rate shown is not 100%"


def test_rows_read_back_what_render_writes() -> None:
    tricky = Mutant('clients[a].attributes["x|y"]', "DENY", "", Family.RULE, ("REALM-HEADERS-001",))
    run = MutationRun([Outcome(tricky, Verdict.KILLED, ("SMOKE-X",), ("t.py::t",))], 1.0, "every mutant", 1)
    assert mutation_report.rows(mutation_report.render(run, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))) == {
        tricky.name: "killed"
    }
