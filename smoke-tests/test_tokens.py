"""What every token-obtaining smoke client's tokens look like: lifetime, signature, audience.

One case per smoke client realm-config declares (each with the grant it is registered for), so
a per-client override (a longer `access.token.lifespan`, another signing algorithm, a lost
audience scope) shows on the client that has it. Limits come from realm-config, never the live realm.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from jwt import PyJWKClient

from idpkit.realm import loader
from idpkit.realm.loader import LoadedConfig, item_path
from idpkit.realm.model import RealmSettings
from idpkit.smoke import codified, oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.identities import SmokeClient, or_placeholder, smoke_clients

RESOURCE_SERVER = "phi-api"
LIFESPAN, ACCESS_ALG, ID_ALG = (
    "access.token.lifespan",
    "access.token.signed.response.alg",
    "id.token.signed.response.alg",
)


def _client_ids(stack: str) -> list[str]:
    return [client.client_id for client in smoke_clients(loader.load(stack)) if client.grant is not None]


def _attribute_path(client_id: str, name: str) -> str:
    return f'{item_path("clients", client_id)}.attributes["{name}"]'


# The settings each test observes on one client (its own overrides, and the realm's value they default to).
CLAIMS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "test_access_token_lives_no_longer_than_codified": lambda c: (
        "realm.accessTokenLifespan",
        _attribute_path(c, LIFESPAN),
    ),
    "test_tokens_are_signed_with_the_codified_algorithm": lambda c: (
        "realm.defaultSignatureAlgorithm",
        _attribute_path(c, ACCESS_ALG),
        _attribute_path(c, ID_ALG),
    ),
    "test_access_token_is_restricted_to_the_resource_server": lambda c: (
        f"{item_path('clients', c)}.defaultClientScopes",
    ),
    # Observes what no single setting holds: a mapper added by hand anywhere a token passes through.
    "test_tokens_carry_only_the_claims_of_the_clients_scopes": lambda _c: (),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client_id" not in metafunc.fixturenames:
        return
    claimed_by = CLAIMS[metafunc.function.__name__]
    ids = _client_ids(metafunc.config.getoption("--stack"))
    metafunc.parametrize(
        "client_id", or_placeholder([pytest.param(c, id=c, marks=claims(*claimed_by(c))) for c in ids])
    )


def _tokens(token_response: Callable[[str], requests.Response], client_id: str) -> dict[str, object]:
    response = token_response(client_id)
    assert response.status_code == 200, f"token endpoint: {client_id} got no tokens ({oauth.oauth_error(response)})"
    body: dict[str, object] = response.json()
    return body


@check(
    "SMOKE-LIFETIME-001",
    "Every client's access tokens live no longer than realm-config allows it (exp - iat and expires_in)",
    requirements=("RFC9700-2.3", "SMART-2.2-BACKEND", "HIPAA-164.312(a)(1)"),
    risk="A long-lived access token, from the realm setting or a client's own override, stays usable long after "
    "it leaks.",
    remediation="realm.accessTokenLifespan <= 300 and no longer client access.token.lifespan override.",
    claims=("realm.accessTokenLifespan", 'clients[*].attributes["access.token.lifespan"]'),
)
def test_access_token_lives_no_longer_than_codified(
    client_id: str,
    token_response: Callable[[str], requests.Response],
    smoke_identities: dict[str, SmokeClient],
    realm_settings: RealmSettings,
) -> None:
    tokens = _tokens(token_response, client_id)
    override = smoke_identities[client_id].attribute(LIFESPAN)
    limit = int(override) if override else realm_settings.access_token_lifespan or 0
    claims_ = oauth.unverified_claims(str(tokens["access_token"]))
    lifetime = claims_["exp"] - claims_["iat"]
    assert lifetime <= limit, f"{client_id}: access token lives {lifetime} s, realm-config allows {limit} s"
    assert int(str(tokens["expires_in"])) <= limit, (
        f"{client_id}: token response says expires_in {tokens['expires_in']} s, realm-config allows {limit} s"
    )


@check(
    "SMOKE-SIG-001",
    "Every client's access and ID tokens are signed with the codified algorithm, verified against the JWKS",
    requirements=("FAPI2-SP-5.4", "HIPAA-164.312(c)(1)"),
    risk="A realm or client falling back to RS256/HS256 weakens (or, with a shared secret, voids) token integrity.",
    remediation="realm.defaultSignatureAlgorithm PS256; no client access/ID token signature override.",
    claims=(
        "realm.defaultSignatureAlgorithm",
        'clients[*].attributes["access.token.signed.response.alg"]',
        'clients[*].attributes["id.token.signed.response.alg"]',
    ),
)
def test_tokens_are_signed_with_the_codified_algorithm(
    client_id: str,
    token_response: Callable[[str], requests.Response],
    realm_settings: RealmSettings,
    jwks_client: PyJWKClient,
) -> None:
    tokens = _tokens(token_response, client_id)
    algorithm = realm_settings.default_signature_algorithm
    for kind in ("access_token", "id_token"):
        if kind not in tokens:
            continue  # client credentials issue no ID token
        header = oauth.unverified_header(str(tokens[kind]))
        assert header.get("alg") == algorithm, f"{client_id}: {kind} signed {header.get('alg')}, not {algorithm}"
        key = jwks_client.get_signing_key_from_jwt(str(tokens[kind]))
        assert key.algorithm_name == algorithm, f"{client_id}: {kind}'s key {key.key_id} is a {key.algorithm_name} key"


@check(
    "SMOKE-AUD-001",
    "Every client's access tokens name the PHI API as their audience",
    requirements=("RFC9700-2.3",),
    risk="A token without the resource server's audience is accepted wherever its signature is, by any API.",
    remediation="Keep the phi-api-audience scope among every token-obtaining client's default client scopes.",
    claims=("clients[*].defaultClientScopes",),
)
def test_access_token_is_restricted_to_the_resource_server(
    client_id: str, token_response: Callable[[str], requests.Response]
) -> None:
    access = oauth.unverified_claims(str(_tokens(token_response, client_id)["access_token"]))
    audience = access.get("aud")
    audiences = {audience} if isinstance(audience, str) else set(audience or [])
    assert RESOURCE_SERVER in audiences, (
        f"{client_id}: access token audience {sorted(audiences)} lacks {RESOURCE_SERVER}"
    )


@check(
    "SMOKE-TOKEN-003",
    "Tokens carry only the claims of the protocol and of the scopes realm-config gives their client",
    requirements=("RFC9700-2.3", "HIPAA-164.312(a)(1)"),
    risk="A protocol mapper added by hand to a built-in scope, a declared scope or a client copies user attributes "
    "(a record number, a diagnosis) into every token, where every API, proxy and log that sees it reads them.",
    remediation="Remove the hand-made mapper; claims come only from the client scopes realm-config declares "
    "(built-in scopes as Keycloak ships them).",
)
def test_tokens_carry_only_the_claims_of_the_clients_scopes(
    client_id: str, token_response: Callable[[str], requests.Response], realm_config: LoadedConfig
) -> None:
    tokens = _tokens(token_response, client_id)
    allowed = codified.client_claims(realm_config, client_id)
    for kind in ("access_token", "id_token"):
        if kind not in tokens:
            continue  # client credentials issue no ID token
        unlisted = sorted(set(oauth.unverified_claims(str(tokens[kind]))) - allowed)
        assert not unlisted, (
            f"{client_id}: its {kind} carries claims no scope realm-config gives it: {unlisted} "
            "(a protocol mapper added by hand?)"
        )
