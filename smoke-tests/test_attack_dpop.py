"""DPoP (RFC 9449): tokens of every client the realm binds with DPoP are bound to a key it proves, and useless
without it.

The cases come from realm-config: every smoke client whose tokens the realm binds with DPoP (public clients, by
policy, and the code-flow clients that declare `dpop.bound.access.tokens`), with the grant it is registered for.
Each refusal has its control, the same request with a fresh proof of the right key accepted, so a refusal proves
the binding rather than a broken stack. Refresh tokens are bound to the key only for public clients: a
confidential client's refresh token is bound to its own authentication instead (RFC 9449 §5), so the refresh
checks run on public clients. Only the proof-less token request shows `dpop.bound.access.tokens`: Keycloak binds
tokens to any proof it is sent, so the other checks prove the binding and its verification, which no realm
setting switches off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import Grant, or_placeholder, smoke_clients

BOUND_ATTRIBUTE = 'clients[*].attributes["dpop.bound.access.tokens"]'
REQUIREMENTS = ("RFC9700-2.2.1", "RFC9449", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)")


KEY_BOUND_REFRESH = ("test_refresh_token_is_bound_to_the_clients_key",)
"""Checks of a refresh token bound to the key: public clients only (a confidential client's refresh token is bound
to its authentication)."""


CODE_BOUND = ("test_code_is_bound_to_the_clients_key",)
"""Checks of an authorization code bound to the key (`dpop_jkt`): code-flow clients only."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bound_client" not in metafunc.fixturenames:
        return
    declared = smoke_clients(loader.load(metafunc.config.getoption("--stack")))
    bound = [client for client in declared if client.binds_tokens_with_dpop and client.grant is not None]
    public = [client.client_id for client in bound if not client.confidential]
    if "token" in metafunc.fixturenames:
        cases = [(client.client_id, "access_token") for client in bound] + [(c, "refresh_token") for c in public]
        metafunc.parametrize(("bound_client", "token"), or_placeholder(cases, 2), scope="module")
    elif metafunc.function.__name__ in CODE_BOUND:
        wanted = [client.client_id for client in bound if client.grant is Grant.CODE]
        metafunc.parametrize("bound_client", or_placeholder(wanted), scope="module")
    else:
        wanted = public if metafunc.function.__name__ in KEY_BOUND_REFRESH else [c.client_id for c in bound]
        metafunc.parametrize("bound_client", or_placeholder(wanted), scope="module")


@dataclass(frozen=True)
class Bound:
    """A DPoP-bound client and the tokens one of its grants yielded when redeemed with a proof of its key (control)."""

    client: oauth.Client
    tokens: dict[str, Any]


@pytest.fixture(scope="module")
def bound(
    bound_client: str,
    clients: dict[str, oauth.Client],
    approved_grant: oauth.Approval,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> Bound:
    client = clients[bound_client]
    assert client.dpop is not None, f"{bound_client}: a DPoP-bound smoke client without a DPoP key"
    response = oauth.token_request(endpoints, client, approved_grant(client), verify=tls_verify)
    assert response.status_code == 200, (
        f"control: {endpoints.token} refused {bound_client}'s grant with a valid DPoP proof "
        f"({response.status_code} {oauth.oauth_error(response)})"
    )
    return Bound(client, response.json())


@check(
    "SMOKE-DPOP-001",
    "A token request without a DPoP proof is refused for every DPoP-bound client (public and code-flow clients)",
    requirements=REQUIREMENTS,
    risk="Without a proof a grant yields bearer tokens: whoever steals one (browser storage, logs, a proxy) reads "
    "PHI with it from anywhere.",
    remediation="dpop.bound.access.tokens: 'true' on every public and code-flow client; the dpop-bind-enforcer "
    "policy holds it on public clients (realm-config/base/client-policies.yaml), REALM-DPOP-002 on code-flow ones.",
    claims=(BOUND_ATTRIBUTE,),
)
def test_token_request_without_proof_is_refused(
    bound: Bound, approved_grant: oauth.Approval, endpoints: oauth.Endpoints, tls_verify: str | bool
) -> None:
    client = bound.client  # the control: a grant of the same client redeemed with a proof was accepted
    # A confidential client's code is asked for unbound (no dpop_jkt), as nothing obliges it to bind it: then only
    # dpop.bound.access.tokens demands the proof. A public client's request must bind its code (the DPoP policy).
    data = approved_grant(client if client.key is None else replace(client, dpop=None))
    response = oauth.post_form(endpoints.token, data | client.authentication(endpoints.issuer), verify=tls_verify)
    assert response.status_code == 400 and oauth.issued_tokens(response) == set(), (
        f"{endpoints.token}: {client.client_id} obtained tokens without a DPoP proof ({response.status_code}); "
        "its tokens must be DPoP-bound"
    )


@check(
    "SMOKE-DPOP-002",
    "A DPoP-bound client's tokens are DPoP tokens bound to its key (token_type DPoP, cnf.jkt its key's thumbprint)",
    requirements=REQUIREMENTS,
    risk="A token issued as a bearer token, or bound to no key, is replayable by whoever obtains it.",
    remediation="dpop.bound.access.tokens: 'true' on every public and code-flow client.",
)
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
    remediation="Keep public and code-flow clients DPoP-bound (dpop.bound.access.tokens); resource "
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


@check(
    "SMOKE-DPOP-005",
    "A DPoP-bound client's authorization code is bound to its key (dpop_jkt, RFC 9449 §10): redeemed with another "
    "key's proof it yields nothing",
    requirements=REQUIREMENTS,
    risk="An intercepted code (another app on the device, a log, a Referer) is redeemed with the thief's own key, "
    "and the tokens it yields are bound to the thief.",
    remediation="Keep enforce-authorization-code-binding-to-dpop on in the public-client DPoP profile "
    "(realm-config/base/client-policies.yaml), so no request leaves its code unbound; clients send dpop_jkt with "
    "every push.",
)
def test_code_is_bound_to_the_clients_key(
    bound: Bound, approved_grant: oauth.Approval, endpoints: oauth.Endpoints, tls_verify: str | bool
) -> None:
    client = bound.client  # the control: a code of the same client redeemed with a proof of its key was accepted
    thief = oauth.DPoPKey.generate()
    response = oauth.token_request(endpoints, client, approved_grant(client), verify=tls_verify, dpop=thief)
    assert response.status_code == 400 and oauth.issued_tokens(response) == set(), (
        f"{endpoints.token}: {client.client_id}'s code, bound to its DPoP key, was redeemed with another key's proof "
        f"({response.status_code} {oauth.oauth_error(response)}); a code must redeem only with the key it is bound to"
    )
