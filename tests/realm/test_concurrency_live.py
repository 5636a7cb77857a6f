"""Reads in pages and writes side by side give the same plan as one read and one write at a time (real Keycloak).

The shipped realm has fewer clients than a page, so the page size is made small here: every path of the
paged read (first page full, pages read together, a short last page) runs against the live realm.
"""

from __future__ import annotations

import pytest

from idpkit.keycloak_admin import urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine, executor
from idpkit.realm.kinds import base
from idpkit.realm.secrets import SecretStore

from .test_live import applied  # noqa: F401 - module fixture: the shipped configuration applied

pytestmark = pytest.mark.usefixtures("applied")
HAND_MADE_ATTRIBUTE = "client.session.idle.timeout"


@pytest.mark.parametrize("page", [1, 3, 7], ids=lambda page: f"page-of-{page}")
def test_paged_read_returns_each_client_once(applied: StackOutputs, page: int, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    session = engine.Session.open(applied)
    whole = session.realm.get(session.realm.path(urls.CLIENTS))
    monkeypatch.setattr(base, "CLIENT_PAGE", page)
    context = base.Context(
        engine.validate("local")[0].document, session.realm, SecretStore.open("local", generate=False), False
    )
    paged = context.clients()
    assert [c["id"] for c in paged] == [c["id"] for c in whole], (
        f"realm {applied.realm}: clients read in pages of {page} differ from one read of all clients"
    )


def test_no_op_plan_is_the_same_read_in_pages_and_planned_side_by_side(
    applied: StackOutputs,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(base, "CLIENT_PAGE", 2)
    plan = engine.plan(engine.Session.open(applied), "local", "local")
    assert not plan.changes, f"realm {applied.realm}: a no-op plan read in pages lists {plan.changes}"
    reads = [(read.path, read.params) for read in plan.reads]
    assert reads == sorted(reads), "a plan's reads are saved in a stable order, whatever order the planners ran in"


def test_clients_written_side_by_side_converge(applied: StackOutputs) -> None:  # noqa: F811
    """Client changes run WRITE_CONCURRENCY at a time: after one apply of many client changes nothing is pending."""
    session = engine.Session.open(applied)
    api = session.realm
    clients = [c for c in api.get(api.path(urls.CLIENTS)) if c.get("attributes", {}).get(base.OWNER_ATTRIBUTE)]
    assert len(clients) > executor.WRITE_CONCURRENCY, "the shipped realm has enough kit clients to write side by side"
    for client in clients:  # a session idle time nobody declared: every client drifts, and apply must restore it
        attributes = {**client["attributes"], HAND_MADE_ATTRIBUTE: "601"}
        api.put(api.path(urls.CLIENT, id=client["id"]), {**client, "attributes": attributes})
    pending = engine.plan(session, "local", "local")
    assert {c.name for c in pending.changes if c.kind == "client"} >= {c["clientId"] for c in clients}
    engine.apply(session, "local", "local")
    left = engine.plan(engine.Session.open(applied), "local", "local").changes
    assert not left, f"realm {applied.realm}: client changes applied side by side left {left}"


def test_apply_verifies_a_realm_field_without_reading_every_client_again(applied: StackOutputs) -> None:  # noqa: F811
    """After writing, apply plans again only what the planners that wrote plan: one realm field restored reads
    the clients once (the first, full plan), not twice."""
    session = engine.Session.open(applied)
    api = session.realm
    lifespan = api.get(api.path(urls.REALM))["accessTokenLifespan"]
    api.put(api.path(urls.REALM), {"accessTokenLifespan": lifespan + 60})
    client_reads: list[str] = []
    read = session.realm.connection.raw_get

    def counting(path: str, **params: object) -> object:
        if path.endswith("/clients"):
            client_reads.append(path)
        return read(path, **params)

    session.realm.connection.raw_get = counting  # type: ignore[method-assign]
    result = engine.apply(session, "local", "local")
    assert [c.kind for c in result.changes] == ["realm"], f"apply wrote {result.changes}"
    assert api.get(api.path(urls.REALM))["accessTokenLifespan"] == lifespan, "apply did not restore the lifespan"
    assert len(client_reads) == 1, f"apply read the clients {len(client_reads)} times to restore one realm field"
