"""Against the real local stack: clients created in bulk (partial import) equal clients created one POST at a time.

Two throwaway realms get the same files, one applied with bulk creation and one without: first cold (the
realm does not exist), then with more clients added to a realm whose client policies are already in force
(partial import skips their registration hooks, so this is where the two ways could differ). Every client
is compared field by field, not only the declared fields drift looks at.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from idpkit import paths
from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, ApiError, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials
from idpkit.realm import bulk, engine

sys.path.insert(0, str(paths.project_root() / "benchmarks"))  # the benchmarks are scripts, not a package
from realm_apply import generated_client

pytestmark = pytest.mark.local_stack

ENVIRONMENT, STACK = "local", "local"
FIRST, ADDED = 3, bulk.BATCH + 5
"""Generated clients of the cold apply, then added to the live realm: more than one batch."""
# Differ between any two realms or any two creations: ids, generated secrets, timestamps.
_PER_OBJECT = {
    "id",
    "secret",
    "client.secret.creation.time",
    "registrationAccessToken",
    "createdTimestamp",
    "containerId",
}
_NOT_FOUND = 404


def _project(root: Path, realm: str, clients: int) -> Path:
    project = root / realm
    if not project.exists():
        shutil.copytree(paths.project_root() / "realm-config", project / "realm-config")
        base = project / "realm-config" / "base" / "realm.yaml"
        base.write_text(re.sub(r"^  realm: \S+$", f"  realm: {realm}", base.read_text(), count=1, flags=re.M))
    overlay = project / "realm-config" / "overlays" / f"{ENVIRONMENT}.yaml"
    data = yaml.safe_load(overlay.read_text()) or {}
    shipped = [c for c in data.get("clients") or [] if not str(c["clientId"]).startswith("bench-")]
    data["clients"] = [*shipped, *(generated_client(i) for i in range(clients))]
    overlay.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


@dataclasses.dataclass
class ScratchRealm:
    outputs: StackOutputs
    project: Path

    def apply(self, clients: int, *, bulk_create: bool) -> engine.Plan:
        _project(self.project.parent, self.outputs.realm, clients)
        os.environ["IDPKIT_PROJECT_DIR"] = str(self.project)
        try:
            return engine.apply(engine.Session.open(self.outputs), ENVIRONMENT, STACK, bulk_create=bulk_create)
        finally:
            os.environ.pop("IDPKIT_PROJECT_DIR")

    def plan(self) -> engine.Plan:
        os.environ["IDPKIT_PROJECT_DIR"] = str(self.project)
        try:
            return engine.plan(engine.Session.open(self.outputs), ENVIRONMENT, STACK)
        finally:
            os.environ.pop("IDPKIT_PROJECT_DIR")

    @property
    def api(self) -> AdminApi:
        return engine.Session.open(self.outputs).realm

    def clients(self) -> dict[str, Any]:
        """Every client as Keycloak represents it, minus what differs per object (ids, secrets, timestamps) and
        with the realm's name (in built-in clients' URLs) replaced."""
        found = json.loads(
            json.dumps(self.api.get(self.api.path(urls.CLIENTS)) or []).replace(self.api.realm, "{realm}")
        )
        return {c["clientId"]: _comparable(c) for c in found}

    def drop(self) -> None:
        connection = connect(self.outputs, load_admin_credentials(self.outputs))
        master, realm = AdminApi(connection, ADMIN_REALM), AdminApi(connection, self.outputs.realm)
        try:
            master.delete(realm.path(urls.REALM))
        except ApiError as error:
            if error.status != _NOT_FOUND:
                raise


def _differences(single: dict[str, Any], bulky: dict[str, Any]) -> list[str]:
    """`field: by POST -> in bulk` for each top-level field, or attribute, that differs."""
    found = []
    for key in sorted(single.keys() | bulky.keys()):
        one, other = single.get(key), bulky.get(key)
        if key == "attributes" and isinstance(one, dict) and isinstance(other, dict):
            found += _differences({f"attributes.{k}": v for k, v in one.items()},
                                  {f"attributes.{k}": v for k, v in other.items()})  # fmt: skip
        elif one != other:
            found.append(f"{key}: {one!r} -> {other!r}")
    return found


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items() if key not in _PER_OBJECT}
    if isinstance(value, list):
        return sorted((_comparable(item) for item in value), key=repr)  # Keycloak keeps these as sets
    return value


@pytest.fixture
def scratch(live_stack: StackOutputs, tmp_path: Path) -> Iterator[dict[str, ScratchRealm]]:
    realms = {}
    for way in ("bulk", "single"):
        name = f"test-{way}-create"
        outputs = dataclasses.replace(live_stack, realm=name, issuer=f"{live_stack.base_url}/realms/{name}")
        realms[way] = ScratchRealm(outputs, _project(tmp_path, name, FIRST))
        realms[way].drop()
    yield realms
    for realm in realms.values():
        realm.drop()


def _client_posts(result: engine.Plan) -> int:
    return result.writes.post


def test_bulk_created_clients_equal_clients_created_one_by_one(scratch: dict[str, ScratchRealm]) -> None:
    bulk_realm, single_realm = scratch["bulk"], scratch["single"]
    for clients in (FIRST, FIRST + ADDED):
        made_in_bulk = bulk_realm.apply(clients, bulk_create=True)
        made_singly = single_realm.apply(clients, bulk_create=False)
        assert _client_posts(made_in_bulk) < _client_posts(made_singly), (
            f"{clients} clients: bulk apply made {made_in_bulk.writes.post} POSTs, one by one "
            f"{made_singly.writes.post}: partial import was not used"
        )
        for realm in (bulk_realm, single_realm):
            pending = realm.plan().changes
            assert not pending, f"realm {realm.outputs.realm}: drift after apply: {[c.to_dict() for c in pending]}"
        bulk_clients, single_clients = bulk_realm.clients(), single_realm.clients()
        assert bulk_clients.keys() == single_clients.keys(), "the two realms hold different clients"
        for client_id, client in single_clients.items():
            differing = _differences(client, bulk_clients[client_id])
            assert not differing, (
                f"client {client_id}: created in bulk, it differs from one created by POST in {differing}"
            )


def test_a_client_created_meanwhile_fails_its_whole_batch_and_a_rerun_converges(
    scratch: dict[str, ScratchRealm],
) -> None:
    realm = scratch["bulk"]
    realm.apply(FIRST, bulk_create=True)
    _project(realm.project.parent, realm.outputs.realm, FIRST + ADDED)
    pending = realm.plan()
    created = [c.name for c in pending.changes if c.action == "create" and bulk.creatable(c)]
    assert len(created) == ADDED, f"expected {ADDED} bulk-creatable clients, the plan has {created}"
    racing = generated_client(FIRST)  # created by someone else between plan and apply
    assert racing["clientId"] == created[0], f"the plan creates {created[0]} first, not {racing['clientId']}"
    realm.api.post(realm.api.path(urls.CLIENTS), racing)
    session = engine.Session.open(realm.outputs)
    with pytest.raises(IdpkitError, match="409"):
        engine.execute(session, pending.changes, STACK)
    live = set(realm.clients())
    made = sorted(live & set(created[1:]))
    assert not made, f"realm {realm.outputs.realm}: a failed partial import left clients of its batch: {made}"
    realm.apply(FIRST + ADDED, bulk_create=True)
    assert not realm.plan().changes, f"realm {realm.outputs.realm}: did not converge after a failed bulk create"
