"""`idpkit bench`: the report renders from results, and the command's help works. No figure is asserted here:
speed is measured by the benchmarks themselves, never by timed tests."""

from __future__ import annotations

from click.testing import CliRunner

from idpkit.cli.bench import BENCHMARKS, bench, render_report

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
