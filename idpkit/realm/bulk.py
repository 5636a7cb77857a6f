"""Create many clients in one admin call: Keycloak's partial import, instead of one POST per client.

A cold apply of 500 clients spent nearly all its time in 500 sequential POSTs. Keycloak's
`POST /admin/realms/{realm}/partialImport` (PartialImportManager) creates them in one transaction,
through the same `RepresentationToModel.createClient` the client endpoint uses, and answers with
one result per object (action ADDED, name, id). With `ifResourceExists: FAIL` a client that appeared
since the plan was made fails the whole call (409) and nothing is created, so an interrupted or
raced apply converges when re-run, as with single POSTs.

Only a plain create qualifies: one POST of a client without a service account. A service account
needs the client endpoint's `ClientManager.enableServiceAccount` (partial import makes no
service-account user), and a create followed by other writes (the service_account scope removed)
stays one write at a time. Partial import does not run the client-registration hooks of client
policies (auto-configure executors): the kit's rules enforce the same fields before any write, and
tests/realm/test_bulk_create.py proves a bulk-created client equals one created by POST, field by field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.changes import Change

BATCH = 20
"""Clients per call (one transaction each). Keycloak's cost per client grows with the transaction: measured
here at 513 clients, batches of 10-20 took 2.7 s in all, 100 took 12.5 s, 500 hit H2's lock timeout."""
_SERVICE_ACCOUNTS = "serviceAccountsEnabled"
_ADDED = "ADDED"


def creatable(change: Change) -> bool:
    """A change partial import can carry: one POST of a client without a service account."""
    if change.operation or len(change.writes) != 1:
        return False
    write = change.writes[0]
    return (
        write.method == "POST"
        and write.template == urls.CLIENTS
        and write.target == "realm"
        and isinstance(write.body, dict)
        and not write.body.get(_SERVICE_ACCOUNTS)
    )


def batches(changes: list[Change]) -> Iterator[list[Change] | Change]:
    """The changes in order: runs of bulk-creatable ones as lists of at most BATCH, the others alone."""
    run: list[Change] = []
    for change in changes:
        if creatable(change):
            run.append(change)
            if len(run) == BATCH:
                yield run
                run = []
            continue
        if run:
            yield run
            run = []
        yield change
    if run:
        yield run


def create_clients(api: AdminApi, bodies: list[dict[str, Any]]) -> dict[str, str]:
    """Create the clients in one call; their ids by clientId. Raises unless Keycloak added every one."""
    body = {"ifResourceExists": "FAIL", "clients": bodies}
    results = api.post(api.path(urls.PARTIAL_IMPORT), body).json()
    added = {
        str(result["resourceName"]): str(result["id"])
        for result in results.get("results") or []
        if result.get("action") == _ADDED and result.get("resourceType") == "CLIENT"
    }
    missing = [str(client["clientId"]) for client in bodies if client["clientId"] not in added]
    if missing:
        raise IdpkitError(
            f"realm {api.realm}: partial import did not add client(s) {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}; re-run apply to converge"
        )
    return added
