"""Which changes may run side by side: clients each writing their own object, never a change that needs another."""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm import executor
from idpkit.realm.changes import CLIENT, CLIENT_SCOPE, Change, Write, ref


def _client(name: str, *writes: Write) -> Change:
    return Change(CLIENT, name, "create", [], list(writes) or [Write("POST", urls.CLIENTS, {}, {"clientId": name})])


def _names(batches: list[list[Change]]) -> list[list[str]]:
    return [[change.name for change in batch] for batch in batches]


def test_clients_form_one_batch_and_other_kinds_run_alone() -> None:
    scope = Change(CLIENT_SCOPE, "phi", "create", [], [Write("POST", urls.CLIENT_SCOPES, {}, {"name": "phi"})])
    changes = [scope, _client("a"), _client("b"), _client("c"), Change("user", "u", "create", [], [])]
    assert _names(list(executor._batches(changes))) == [["phi"], ["a", "b", "c"], ["u"]]


def test_a_client_referring_to_another_client_of_the_batch_waits_for_it() -> None:
    mapping = Write("PUT", urls.CLIENT, {"id": ref(CLIENT, "b")}, {"audience": ref(CLIENT, "a")})
    changes = [_client("a"), _client("b", mapping), _client("c")]
    assert _names(list(executor._batches(changes))) == [["a"], ["b", "c"]]


def test_a_client_referring_to_itself_or_to_other_kinds_stays_in_the_batch() -> None:
    own = Write("PUT", urls.CLIENT_DEFAULT_SCOPE, {"id": ref(CLIENT, "b"), "scope": ref(CLIENT_SCOPE, "phi")})
    changes = [_client("a"), _client("b", own)]
    assert _names(list(executor._batches(changes))) == [["a", "b"]]


def test_operations_run_alone() -> None:
    bootstrap = Change("admin", "kit", "create", [], [], operation="bootstrap-admin")
    changes = [_client("a"), bootstrap, _client("b")]
    assert _names(list(executor._batches(changes))) == [["a"], ["kit"], ["b"]]
