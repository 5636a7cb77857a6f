"""DPoP (RFC 9449) for public clients: their tokens are bound to a key they prove, and useless without it.

The cases come from realm-config: every public smoke client, with the grant it is registered for. Each
refusal has its control, the same request with a fresh proof of the right key accepted, so a refusal proves
the binding rather than a broken stack. Only the proof-less token request shows `dpop.bound.access.tokens`:
Keycloak binds a public client's tokens to any proof it is sent, so the other checks prove the binding and
its verification, which no realm setting switches off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import Grant, SmokeClient, or_placeholder, smoke_clients

BOUND_ATTRIBUTE = 'clients[*].attributes["dpop.bound.access.tokens"]'
REQUIREMENTS = ("RFC9700-2.2.1", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "public_client" in metafunc.fixturenames:
        declared = smoke_clients(loader.load(metafunc.config.getoption("--stack")))
        public = [client.client_id for client in declared if not client.confidential and client.grant is not None]
        metafunc.parametrize("public_client", or_placeholder(public), scope="module")


@dataclass(frozen=True)
class Bound:
    """A public client and the tokens one of its grants yielded when redeemed with a proof of its key (control)."""

    client: oauth.Client
    tokens: dict[str, Any]


def _approved_grant(
    client: oauth.Client, grant: Grant | None, agent: oauth.UserAgent, endpoints: oauth.Endpoints, verify: str | bool
) -> dict[str, str]:
    """A grant of `client` approved by `agent`'s user: the token request that redeems it."""
    if grant is Grant.CODE:
        return oauth.code_redemption(agent, endpoints, client, "openid")[0]
    assert grant is Grant.DEVICE, f"{client.client_id}: no grant the smoke suite can obtain public tokens with"
    return oauth.device_approval(agent, endpoints, client, "openid", verify=verify)


@pytest.fixture(scope="module")
def bound(
    public_client: str,
    smoke_identities: dict[str, SmokeClient],
    clients: dict[str, oauth.Client],
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> Bound:
    client = clients[public_client]
    assert client.dpop is not None, f"{public_client}: a public smoke client without a DPoP key"
    data = _approved_grant(client, smoke_identities[public_client].grant, new_user_agent(), endpoints, tls_verify)
    response = oauth.token_request(endpoints, client, data, verify=tls_verify)
    assert response.status_code == 200, (
        f"control: {endpoints.token} refused {public_client}'s grant with a valid DPoP proof "
        f"({response.status_code} {oauth.oauth_error(response)})"
    )
    return Bound(client, response.json())


@check(
    "SMOKE-DPOP-001",
    "A public client's token request without a DPoP proof is refused",
    requirements=REQUIREMENTS,
    risk="A public client holds no secret: without a proof its grant yields bearer tokens anyone who steals them "
    "can use.",
    remediation="dpop.bound.access.tokens: 'true' on every public client, held by the dpop-bind-enforcer policy "
    "(realm-config/base/client-policies.yaml).",
    claims=(BOUND_ATTRIBUTE,),
)
def test_token_request_without_proof_is_refused(
    bound: Bound,
    smoke_identities: dict[str, SmokeClient],
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    client = bound.client  # the control: a grant of the same client redeemed with a proof was accepted
    data = _approved_grant(client, smoke_identities[client.client_id].grant, new_user_agent(), endpoints, tls_verify)
    response = oauth.post_form(endpoints.token, data | client.authentication(endpoints.issuer), verify=tls_verify)
    assert response.status_code == 400 and oauth.issued_tokens(response) == set(), (
        f"{endpoints.token}: {client.client_id} obtained tokens without a DPoP proof ({response.status_code}); "
        "public clients' tokens must be DPoP-bound"
    )


@check(
    "SMOKE-DPOP-002",
    "A public client's tokens are DPoP tokens bound to its key (token_type DPoP, cnf.jkt its key's thumbprint)",
    requirements=REQUIREMENTS,
    risk="A token issued as a bearer token, or bound to no key, is replayable by whoever obtains it.",
    remediation="dpop.bound.access.tokens: 'true' on every public client.",
)
@pytest.mark.parametrize("token", ["access_token", "refresh_token"])
def test_tokens_are_bound_to_the_clients_key(bound: Bound, token: str, endpoints: oauth.Endpoints) -> None:
    client, tokens = bound.client, bound.tokens
    assert tokens.get("token_type") == oauth.DPOP, (
        f"{endpoints.token}: {client.client_id} was issued token_type {tokens.get('token_type')!r}, not DPoP"
    )
    assert client.dpop is not None
    jkt = oauth.unverified_claims(tokens[token]).get("cnf", {}).get("jkt")
    assert jkt == client.dpop.thumbprint, (
        f"{endpoints.token}: {client.client_id}'s {token} is bound to {jkt!r}, not to the thumbprint of the key "
        "that proved the request"
    )


def _dpop(token: str, proof: str | None) -> dict[str, str]:
    return {"Authorization": f"{oauth.DPOP} {token}"} | ({oauth.DPOP: proof} if proof else {})


Presentation = Callable[[str, oauth.DPoPKey, str, str], dict[str, str]]
MISUSES: dict[str, Presentation] = {
    # (access token, the client's key, UserInfo URL, the proof the control just used) -> request headers
    "bearer-without-proof": lambda token, _key, _url, _used: oauth.bearer(token),
    "dpop-without-proof": lambda token, _key, _url, _used: _dpop(token, None),
    "another-keys-proof": lambda token, _key, url, _used: _dpop(
        token, oauth.DPoPKey.generate().proof("GET", url, access_token=token)
    ),
    "proof-for-another-token": lambda token, key, url, _used: _dpop(token, key.proof("GET", url, access_token="x")),
    "replayed-proof": lambda token, _key, _url, used: _dpop(token, used),
}


@check(
    "SMOKE-DPOP-003",
    "A DPoP-bound access token is refused without a fresh proof of its key (none, another key's, replayed)",
    requirements=REQUIREMENTS,
    risk="A bound token accepted without a proof, with an attacker's proof or with a replayed one is a bearer "
    "token again: a leaked token reads PHI.",
    remediation="Keep public clients DPoP-bound (dpop.bound.access.tokens, dpop-bind-enforcer); resource "
    "servers verify the proof as Keycloak's UserInfo endpoint does.",
)
@pytest.mark.parametrize("misuse", sorted(MISUSES))
def test_bound_access_token_needs_a_fresh_proof_of_its_key(
    bound: Bound, misuse: str, endpoints: oauth.Endpoints, tls_verify: str | bool
) -> None:
    client, token, url = bound.client, bound.tokens["access_token"], endpoints.userinfo
    assert client.dpop is not None
    used = client.dpop.proof("GET", url, access_token=token)
    control = requests.get(url, headers=_dpop(token, used), verify=tls_verify, timeout=oauth.TIMEOUT)
    assert control.status_code == 200, (
        f"control: {url} refused {client.client_id}'s bound token with a fresh proof of its key ({control.status_code})"
    )
    headers = MISUSES[misuse](token, client.dpop, url, used)
    response = requests.get(url, headers=headers, verify=tls_verify, timeout=oauth.TIMEOUT)
    assert response.status_code == 401, (
        f"{url}: {client.client_id}'s DPoP-bound access token was accepted ({response.status_code}) with "
        f"{misuse}; it must need a fresh proof of the client's key"
    )


@check(
    "SMOKE-DPOP-004",
    "A public client's refresh token is bound to its key: refused without a proof or with another key's",
    requirements=(*REQUIREMENTS, "RFC9700-4.14"),
    risk="A leaked refresh token of a public client, unbound, mints fresh access tokens for as long as the session "
    "lives.",
    remediation="dpop.bound.access.tokens: 'true' on every public client (Keycloak then binds its refresh tokens).",
)
def test_refresh_token_is_bound_to_the_clients_key(
    bound: Bound, endpoints: oauth.Endpoints, tls_verify: str | bool
) -> None:
    client, refresh_token = bound.client, bound.tokens["refresh_token"]
    stolen = oauth.refresh(endpoints, client, refresh_token, verify=tls_verify, dpop=oauth.DPoPKey.generate())
    bare = oauth.post_form(
        endpoints.token,
        {"grant_type": "refresh_token", "refresh_token": refresh_token} | client.authentication(endpoints.issuer),
        verify=tls_verify,
    )
    control = oauth.refresh(endpoints, client, refresh_token, verify=tls_verify)
    assert control.status_code == 200, (
        f"control: {endpoints.token} refused {client.client_id}'s refresh with a proof of its own key "
        f"({control.status_code} {oauth.oauth_error(control)})"
    )
    for attempt, response in (("another key's proof", stolen), ("no proof", bare)):
        assert response.status_code == 400 and oauth.issued_tokens(response) == set(), (
            f"{endpoints.token}: {client.client_id}'s refresh token was accepted with {attempt} "
            f"({response.status_code}); it must be bound to the client's DPoP key"
        )
