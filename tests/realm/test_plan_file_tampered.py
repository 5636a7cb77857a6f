"""A saved plan is data a person reviews; one edited after review (or not written by the kit) is refused before
anything is applied when it asks for a write the kit never makes: a method, an admin API path, a realm
or an action outside the kit's own, or parameters that are not names or references."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_admin import urls
from idpkit.realm import planfile
from idpkit.realm.changes import CLIENT, Change, Write, ref
from idpkit.realm.diff import FieldChange

PLAN = planfile.SavedPlan(
    stack="local", realm="phi", environment="local", created=planfile.created_now(),
    changes=[Change("client", "smoke-web", "update", [FieldChange("webOrigins", ["*"], [])],
                    [Write("PUT", urls.CLIENT, {"id": ref(CLIENT, "smoke-web")}, {"webOrigins": []})])],
    reads=[], notes=[],
)  # fmt: skip


def _write(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["changes"][0]["writes"][0]
    return found


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "method-get": lambda d: _write(d).__setitem__("method", "GET"),
    "method-patch": lambda d: _write(d).__setitem__("method", "PATCH"),
    "path-outside-the-kit": lambda d: _write(d).__setitem__("path", "admin/realms/{realm}/users/{id}/impersonation"),
    "path-absolute-url": lambda d: _write(d).__setitem__("path", "https://attacker.example/collect"),
    "target-other-realm": lambda d: _write(d).__setitem__("target", "customer-realm"),
    "action-unknown": lambda d: d["changes"][0].__setitem__("action", "purge"),
    "parameter-number": lambda d: _write(d).__setitem__("params", {"id": 7}),
    "parameter-mapping": lambda d: _write(d).__setitem__("params", {"id": {"name": "smoke-web"}}),
    "writes-not-a-list": lambda d: d["changes"][0].__setitem__("writes", "PUT everything"),
}


def test_the_untampered_plan_loads_as_saved(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    planfile.save(PLAN, path)
    assert planfile.load(path).changes[0].writes == PLAN.changes[0].writes, "a saved plan did not load as written"


@pytest.mark.parametrize("tamper", list(TAMPERINGS.values()), ids=list(TAMPERINGS))
def test_tampered_plan_is_refused_before_anything_is_applied(
    tamper: Callable[[dict[str, Any]], None], tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    data = copy.deepcopy(PLAN.to_dict())
    tamper(data)
    path.write_text(json.dumps(data))
    with pytest.raises(IdpkitError) as refused:
        planfile.load(path)
    assert refused.value.exit_code == ExitCode.USAGE and str(path) in refused.value.message, (
        f"{path}: refused without naming it or with exit {refused.value.exit_code}: {refused.value}"
    )
