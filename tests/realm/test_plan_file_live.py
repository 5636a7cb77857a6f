"""Against the real local stack: a plan saved to a file is applied exactly, holds no secret, and is refused
(with zero writes) once the live realm has moved since it was made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine
from idpkit.realm.secrets import load_smoke_credentials
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack
STACK = "local"
CLIENT = "smoke-web"
CLINICIAN = "smoke-clinician"


@pytest.fixture
def admin(applied_realm: StackOutputs) -> Iterator[AdminApi]:
    api = engine.Session.open(applied_realm).realm
    yield api
    assert run_realm("apply", "--stack", STACK).returncode == 0, "could not restore the realm"


def _client(admin: AdminApi, client_id: str) -> dict[str, Any]:
    found: dict[str, Any] = admin.get(admin.path(urls.CLIENTS), clientId=client_id)[0]
    return found


def _set_origins(admin: AdminApi, origins: list[str]) -> None:
    client = _client(admin, CLIENT)
    body = {k: v for k, v in client.items() if k not in ("secret", "serviceAccountsEnabled")}
    admin.put(admin.path(urls.CLIENT, id=client["id"]), {**body, "webOrigins": origins})


def _save(path: Path) -> dict[str, Any]:
    completed = run_realm("plan", "--stack", STACK, "--out", str(path), "--json")
    assert completed.returncode == 2, f"plan --out exited {completed.returncode}: {completed.stderr}"
    saved: dict[str, Any] = json.loads(path.read_text())
    return saved


def _secrets_of_the_stack(admin: AdminApi) -> list[str]:
    """Every secret the plan could have copied: client secrets Keycloak returns, generated credentials."""
    found = [c["secret"] for c in admin.get(admin.path(urls.CLIENTS)) if c.get("secret")]
    credentials = load_smoke_credentials(STACK)
    found += [user["password"] for user in credentials["users"].values()]
    found += [client["private_key_pem"].splitlines()[1] for client in credentials["clients"].values()]
    return found


def test_saved_plan_round_trips_and_applies_exactly(admin: AdminApi, tmp_path: Path) -> None:
    _set_origins(admin, ["*"])
    plan_file = tmp_path / "plan.json"
    saved = _save(plan_file)
    changes = [(c["kind"], c["name"], [f["field"] for f in c["fields"]]) for c in saved["changes"]]
    assert changes == [("client", CLIENT, ["webOrigins"])], f"saved plan holds {changes}"
    planned_writes = sum(len(c["writes"]) for c in saved["changes"])
    completed = run_realm("apply", "--stack", STACK, "--plan", str(plan_file), "--json")
    assert completed.returncode == 0, f"apply --plan failed: {completed.stderr}"
    assert json.loads(completed.stdout)["writes"]["total"] == planned_writes, "apply --plan made other writes"
    assert _client(admin, CLIENT)["webOrigins"] == [], "apply --plan did not restore webOrigins"
    assert run_realm("plan", "--stack", STACK).returncode == 0, "realm not in sync after applying the saved plan"


def test_saved_plan_holds_no_secret_and_generates_them_at_apply(admin: AdminApi, tmp_path: Path) -> None:
    user = admin.get(admin.path(urls.USERS), username=CLINICIAN, exact="true")[0]
    _set_origins(admin, ["*"])
    admin.delete(admin.path(urls.USER, id=user["id"]))  # the plan re-creates the test user, with its password
    plan_file = tmp_path / "plan.json"
    _save(plan_file)
    text = plan_file.read_text()
    leaked = [secret[:4] + "…" for secret in _secrets_of_the_stack(admin) if secret in text]
    assert not leaked, f"{plan_file} holds secrets: {leaked}"
    assert '"$generated": "password"' in text, "the new user's password is not left to apply time"
    completed = run_realm("apply", "--stack", STACK, "--plan", str(plan_file))
    assert completed.returncode == 0, f"apply --plan failed: {completed.stderr}"
    assert admin.get(admin.path(urls.USERS), username=CLINICIAN, exact="true"), f"{CLINICIAN} not re-created"


def test_plan_of_a_moved_realm_is_refused_with_zero_writes(admin: AdminApi, tmp_path: Path) -> None:
    _set_origins(admin, ["*"])
    plan_file = tmp_path / "plan.json"
    _save(plan_file)
    _set_origins(admin, ["https://elsewhere.example"])  # someone changes the realm after the review
    completed = run_realm("apply", "--stack", STACK, "--plan", str(plan_file))
    assert completed.returncode == 1, f"apply of a stale plan exited {completed.returncode}: {completed.stdout}"
    assert "changed since" in completed.stderr and "nothing was applied" in completed.stderr, completed.stderr
    assert _client(admin, CLIENT)["webOrigins"] == ["https://elsewhere.example"], "a stale plan was applied"


def test_plan_for_another_stack_is_refused(admin: AdminApi, tmp_path: Path) -> None:
    _set_origins(admin, ["*"])
    plan_file = tmp_path / "plan.json"
    saved = _save(plan_file)
    plan_file.write_text(json.dumps({**saved, "stack": "prod"}))
    completed = run_realm("apply", "--stack", STACK, "--plan", str(plan_file))
    assert completed.returncode == 64, f"apply of another stack's plan exited {completed.returncode}"
    assert _client(admin, CLIENT)["webOrigins"] == ["*"], "another stack's plan was applied"


def test_file_that_is_no_plan_is_refused(admin: AdminApi, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text('{"changes": []}')
    completed = run_realm("apply", "--stack", STACK, "--plan", str(plan_file))
    assert completed.returncode == 64 and "not an idpkit realm plan" in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
