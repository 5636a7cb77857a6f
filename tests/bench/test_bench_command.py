"""`idpkit bench`: the report renders from results, and the command's help works. No figure is asserted here:
speed is measured by the benchmarks themselves, never by timed tests."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from idpkit import paths
from idpkit.cli import bench as bench_module
from idpkit.cli.bench import BENCHMARKS, KMS_SIGNING_REPORT, bench, render_report

MACHINE = {"cores (nproc)": "2", "CPU": "Test CPU", "Keycloak": "26.7.3"}


def _run(name: str, exit_code: int = 0) -> dict[str, object]:
    return {
        "name": name,
        "date": "2026-01-01 00:00 UTC",
        "seconds": 12.3,
        "quick": False,
        "exit_code": exit_code,
        "sections": [
            {
                "title": "Token endpoint load",
                "columns": ["scenario", "throughput", "p50 / p99"],
                "rows": [["client_secret", "900/s", "3.1 / 9.8 ms"], ["a|b", "1/s", "1 / 2 ms"]],
                "notes": ["guidance: 120/s per vCPU"],
            }
        ],
    }


def test_report_renders_machine_and_a_table_per_section() -> None:
    report = render_report([_run("tokens")], MACHINE)
    assert "| cores (nproc) | 2 |" in report
    assert "| Keycloak | 26.7.3 |" in report
    assert "## tokens" in report
    assert "### Token endpoint load" in report
    assert "| scenario | throughput | p50 / p99 |\n| --- | --- | --- |" in report
    assert "| client_secret | 900/s | 3.1 / 9.8 ms |" in report
    assert "| a\\|b | 1/s | 1 / 2 ms |" in report  # a pipe in a cell must not split the row
    assert "- guidance: 120/s per vCPU" in report


def test_report_marks_failed_and_quick_runs() -> None:
    report = render_report([_run("realm", exit_code=1)], MACHINE, quick=True)
    assert report.startswith("# Benchmarks (quick run: not representative)")
    assert "FAILED (exit 1)" in report


def test_help_lists_every_benchmark() -> None:
    result = CliRunner().invoke(bench, ["--help"])
    assert result.exit_code == 0
    assert "--quick" in result.output
    for name in BENCHMARKS:
        assert name in result.output


def test_unknown_benchmark_is_a_usage_error() -> None:
    result = CliRunner().invoke(bench, ["--only", "nonexistent"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("running_on", "purged"),
    [("dev-file", True), ("postgres", False), (None, False)],
    ids=["other-database-purged", "same-database-kept", "no-stack-yet"],
)
def test_second_stack_is_brought_up_on_the_database_a_benchmark_needs(
    monkeypatch: pytest.MonkeyPatch, running_on: str | None, purged: bool
) -> None:
    calls: list[tuple[str, ...]] = []

    def command(_env: object, *args: str, also_ok: object = None) -> str:
        calls.append(args)
        return json.dumps({"database": running_on}) if args[:2] == ("local", "status") else ""

    monkeypatch.setattr(bench_module, "_second_stack_command", command)
    bench_module._ensure_stack({}, bench_module.PRODUCTION_DATABASE)
    assert (("local", "down", "--purge") in calls) is purged, f"stack on {running_on}: calls {calls}"
    assert ("local", "up", "--json", "--db", bench_module.PRODUCTION_DATABASE) in calls, f"calls {calls}"
    assert calls[-1] == ("realm", "apply", "--stack", "local"), f"the realm is not applied last: {calls}"


def test_report_names_the_database_of_every_pinned_benchmark() -> None:
    report = render_report([_run("tokens")], MACHINE)
    pinned = [name for name, benchmark in BENCHMARKS.items() if benchmark.database is not None]
    assert pinned, "no benchmark runs on a chosen database"
    for name in pinned:
        assert f"`{name}`" in report.split("| machine |")[0], f"the report does not say which database {name} ran on"


def test_report_links_the_hand_measured_kms_signing_figures() -> None:
    report = render_report([], {})
    assert f"]({KMS_SIGNING_REPORT.name})" in report, "the generated report does not link the KMS signing figures"
    assert (paths.project_root() / KMS_SIGNING_REPORT).is_file(), f"{KMS_SIGNING_REPORT} is linked but missing"
