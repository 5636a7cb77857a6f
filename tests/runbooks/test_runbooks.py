"""The runbooks in runbooks/: complete, naming only real commands, and their local steps passing on the local stack.

Each runbook's `sh local` blocks run in order in one bash session against the real local stack,
after its scenario (tests/runbooks/scenarios.py) has staged the incident; the run must pass the
runbook's own `verify` blocks, print no secret or token, and leave the realm as the code declares it.
"""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from pathlib import Path

import pytest

from idpkit import paths
from idpkit.cli import cli
from idpkit.outputs import StackOutputs
from idpkit.runbooks import check_command, commands_in_code, idpkit_commands, parse_runbook, run_local_blocks
from tests.conftest import idpkit
from tests.runbooks.scenarios import SCENARIOS, Stage, Staged, admin_on_realm

RUNBOOKS_DIR = paths.project_root() / "runbooks"
INDEX = RUNBOOKS_DIR / "README.md"
RUNBOOKS = sorted(path for path in RUNBOOKS_DIR.glob("*.md") if path != INDEX)
REQUIRED_SECTIONS = ("When to use", "Impact", "Prerequisites", "Steps", "Verify", "Rollback", "Escalation")
# Command groups another engineer is building; a runbook that needs one is an expected failure until it lands.
BEING_BUILT = {"keys": "`idpkit keys` (signing-key lifecycle) is being built"}
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")
LOCAL_RUN_SECONDS = 240


def _ids(paths_: list[Path]) -> list[str]:
    return [path.stem for path in paths_]


def _pending(texts: list[str]) -> str | None:
    """Why the runbook cannot pass yet, when what is missing is only a command group being built."""
    problems = [problem for text in texts if (problem := check_command(cli, text)) is not None]
    groups = {problem.missing_group for problem in problems}
    if problems and groups <= BEING_BUILT.keys():
        return "; ".join(BEING_BUILT[group] for group in sorted(g for g in groups if g))
    return None


def test_there_are_runbooks_and_an_index() -> None:
    assert INDEX.is_file(), f"{INDEX}: the index of runbooks is missing"
    assert len(RUNBOOKS) >= 15, f"{RUNBOOKS_DIR}: only {len(RUNBOOKS)} runbooks"


@pytest.mark.parametrize("path", RUNBOOKS, ids=_ids(RUNBOOKS))
def test_runbook_has_every_required_section_in_order(path: Path) -> None:
    runbook = parse_runbook(path)
    present = [section for section in REQUIRED_SECTIONS if section in runbook.sections]
    missing = [section for section in REQUIRED_SECTIONS if section not in runbook.sections]
    assert not missing, f"{path.name}: missing section(s) {', '.join(f'## {s}' for s in missing)}"
    order = [runbook.sections.index(section) for section in present]
    assert order == sorted(order), f"{path.name}: sections out of order, expected {', '.join(REQUIRED_SECTIONS)}"
    assert runbook.title, f"{path.name}: no `# title`"


@pytest.mark.parametrize("path", RUNBOOKS, ids=_ids(RUNBOOKS))
def test_runbook_marks_its_blocks_and_proves_success_locally(path: Path) -> None:
    """Parsing refuses unmarked shell blocks; each runbook has a local verification CI can run."""
    runbook = parse_runbook(path)
    verifications = [block for block in runbook.local_blocks if block.is_verification]
    assert verifications, f"{path.name}: no ```sh local verify``` block: CI could not prove the runbook works"
    in_verify = [block for block in verifications if block.section == "Verify"]
    assert in_verify, f"{path.name}: the `## Verify` section has no ```sh local verify``` block"
    for block in runbook.local_blocks:
        assert not re.search(r"^\s*(exit|set -x)\b", block.code, re.MULTILINE), (
            f"{path.name}, {block.where}: `exit` closes the engineer's terminal and `set -x` prints secrets"
        )


@pytest.mark.parametrize("path", [*RUNBOOKS, INDEX], ids=[*_ids(RUNBOOKS), "index"])
def test_runbook_names_only_real_idpkit_commands_and_options(path: Path) -> None:
    commands = idpkit_commands(parse_runbook(path))
    if reason := _pending(commands):
        pytest.xfail(reason)
    problems = [problem for text in commands if (problem := check_command(cli, text)) is not None]
    assert not problems, f"{path.name}: " + "; ".join(f"{p.text!r}: {p.message}" for p in problems)


def test_index_links_every_runbook() -> None:
    linked = set(re.findall(r"\]\(([\w.-]+\.md)\)", INDEX.read_text()))
    unlinked = sorted({path.name for path in RUNBOOKS} - linked)
    dangling = sorted(name for name in linked if not (RUNBOOKS_DIR / name).is_file())
    assert not unlinked, f"{INDEX.name} does not map any alert or symptom to {', '.join(unlinked)}"
    assert not dangling, f"{INDEX.name} links to missing runbook(s) {', '.join(dangling)}"


def _stack_secrets(outputs: StackOutputs) -> list[str]:
    """Secret values on this machine that no runbook output may contain."""
    kit = json.loads(Path(outputs.admin_credentials).read_text())
    found = [kit[name] for name in ("private_key", "client_secret", "password") if kit.get(name)]
    if outputs.bootstrap_admin_credentials and Path(outputs.bootstrap_admin_credentials).exists():
        found.append(json.loads(Path(outputs.bootstrap_admin_credentials).read_text())["password"])
    return found


@pytest.mark.local_stack
@pytest.mark.timeout(LOCAL_RUN_SECONDS + 60)
@pytest.mark.parametrize("path", RUNBOOKS, ids=_ids(RUNBOOKS))
def test_runbook_local_steps_pass_on_the_local_stack(path: Path, applied_realm: StackOutputs, tmp_path: Path) -> None:
    live_stack = applied_realm
    runbook = parse_runbook(path)
    if reason := _pending([text for block in runbook.local_blocks for text in commands_in_code(block.code)]):
        pytest.xfail(reason)
    drift = _realm_drift()
    assert drift is None, f"realm {live_stack.realm} drifted before {path.name} ran (an earlier test?): {drift}"
    scratch = tmp_path / "runbook-tmp"
    scratch.mkdir(mode=0o700)
    stage = Stage(live_stack, admin_on_realm(live_stack), scratch)
    scenario = SCENARIOS.get(path.name)
    with scenario(stage) if scenario else nullcontext(Staged()) as staged:
        before_secrets = _stack_secrets(live_stack)
        result = run_local_blocks(
            runbook, {"STACK": "local", "RUNBOOK_TMP": str(scratch), **staged.env}, paths.project_root(),
            timeout=LOCAL_RUN_SECONDS,
        )  # fmt: skip
    assert result.failure is None, result.describe()
    leaked = [secret for secret in {*before_secrets, *_stack_secrets(live_stack), *staged.secrets}
              if secret in result.output]  # fmt: skip
    assert not leaked, f"{path.name}: the output contains {len(leaked)} secret value(s); pipe them into files"
    assert not JWT.search(result.output), f"{path.name}: the output contains a token; keep tokens in variables"
    drift = _realm_drift()
    assert drift is None, f"{path.name}: left realm {live_stack.realm} drifted: {drift}"


def _realm_drift() -> str | None:
    """None when `idpkit realm plan --stack local` exits 0, else the pending changes."""
    plan = idpkit("realm", "plan", "--stack", "local", "--json", check=False)
    if plan.returncode == 0:
        return None
    return str(json.loads(plan.stdout)["changes"]) if plan.stdout.startswith("{") else plan.stderr
