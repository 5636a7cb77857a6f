"""Pushed authorization requests (RFC 9126, FAPI 2.0): the realm takes no authorization request that was not pushed.

Every code-flow client pushes its request back channel (authenticated, for a confidential client) and sends the
browser only `client_id` and the one-time `request_uri`. The cases come from realm-config: every code-flow smoke
client. The shared browser already holds an SSO session, so a request the realm accepted would come back with a
code at once: every refusal here has that control, the same request pushed and answered with a code.
"""

from __future__ import annotations

import pytest

from idpkit.realm import loader, secure_defaults
from idpkit.smoke import forgery, oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import Grant, or_placeholder, smoke_clients

PAR_REQUIRED = 'clients[*].attributes["require.pushed.authorization.requests"]'
REQUEST_URI_LIFESPAN = secure_defaults.entry("realm", "attributes.parRequestUriLifespan")
REQUIREMENTS = ("RFC9126", "FAPI2-SP-PAR", "RFC9700-2.1", "HIPAA-164.312(e)(1)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "code_client" in metafunc.fixturenames:
        declared = smoke_clients(loader.load(metafunc.config.getoption("--stack")))
        metafunc.parametrize("code_client", or_placeholder([c.client_id for c in declared if c.grant is Grant.CODE]))


def _request(client: oauth.Client) -> dict[str, str]:
    return oauth.authorization_params(client.client_id, client.redirect_uri or "", "openid", oauth.Pkce.generate())


def _pushed(
    agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client
) -> tuple[oauth.PushedRequest, oauth.AuthorizationResponse]:
    """The control: a pushed request of `client`, opened in the signed-in browser, answered with a code."""
    pushed = oauth.push(endpoints, client, _request(client), verify=agent.verify)
    opened = agent.authorize_unpushed(endpoints.authorization, pushed.authorization_params)
    assert opened.code is not None, (
        f"control: {endpoints.authorization}: {client.client_id}'s pushed request got no code "
        f"({opened.status}, {opened.error!r})"
    )
    return pushed, opened


@check(
    "SMOKE-PAR-001",
    "An authorization request that was never pushed is refused, for every code-flow client",
    requirements=REQUIREMENTS,
    risk="A request built in the browser can be altered there (scopes, redirect URI, PKCE challenge) and comes from "
    "a client that never authenticated: the back-channel guarantees of PAR are lost.",
    remediation="The secure-par-content executor on every client (realm-config/base/client-policies.yaml), and "
    "require.pushed.authorization.requests: 'true' on every code-flow client (REALM-PAR-001).",
    claims=(PAR_REQUIRED,),
)
def test_unpushed_request_is_refused(
    code_client: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    client = clients[code_client]
    _pushed(clinician_browser, endpoints, client)
    unpushed = clinician_browser.authorize_unpushed(endpoints.authorization, _request(client))
    assert unpushed.code is None and not unpushed.redirected, (
        f"{endpoints.authorization}: {code_client}'s request that was never pushed was answered "
        f"{'with a code' if unpushed.code else f'by a redirect ({unpushed.status})'}; the realm must take only "
        "pushed requests"
    )


@check(
    "SMOKE-PAR-002",
    "A request_uri is used once: opened again after the login it served, it gets no code",
    requirements=(*REQUIREMENTS, "RFC9700-4.5"),
    risk="A reusable request_uri lets whoever sees it (browser history, a Referer, a proxy log) start the same "
    "authorization again in a victim's session and collect a code for the original request.",
    remediation="Keycloak removes a pushed request once it has been used; keep its lifespan short "
    "(par.request.uri.lifespan, 60 s by default).",
)
def test_request_uri_is_single_use(
    code_client: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    pushed, _first = _pushed(clinician_browser, endpoints, clients[code_client])
    again = clinician_browser.authorize_unpushed(endpoints.authorization, pushed.authorization_params)
    assert again.code is None, (
        f"{endpoints.authorization}: {code_client}'s request_uri, already used for a code, gave a second code"
    )


@check(
    "SMOKE-PAR-003",
    "A request_uri is bound to the client that pushed it: opened as another client, it gets no code",
    requirements=REQUIREMENTS,
    risk="A request pushed by one client and redeemed under another's identity mixes their scopes, redirect URIs "
    "and consent.",
    remediation="Keycloak checks the client_id of a pushed request when it is opened; keep every client on PAR.",
)
def test_request_uri_is_bound_to_its_client(
    code_client: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    client = clients[code_client]
    other = next(c for c in clients.values() if c.redirect_uri and c.client_id != code_client)
    _pushed(clinician_browser, endpoints, client)
    pushed = oauth.push(endpoints, client, _request(client), verify=clinician_browser.verify)
    swapped = pushed.authorization_params | {"client_id": other.client_id}
    answer = clinician_browser.authorize_unpushed(endpoints.authorization, swapped)
    assert answer.code is None, (
        f"{endpoints.authorization}: {code_client}'s request_uri opened as {other.client_id} gave a code"
    )


@check(
    "SMOKE-PAR-004",
    "A confidential client's push is refused without its own authentication (none, or another key's assertion)",
    requirements=(*REQUIREMENTS, "RFC9700-2.5", "FAPI2-SP-5.3.2"),
    risk="An unauthenticated push lets anyone prepare an authorization request in a confidential client's name.",
    remediation="Keep confidential clients on private_key_jwt or mTLS (REALM-CLIENTAUTH-001); PAR authenticates "
    "them as the token endpoint does.",
)
@pytest.mark.parametrize("authentication", ["none", "another-key"])
def test_confidential_push_needs_the_clients_authentication(
    authentication: str, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    confidential = [c for c in clients.values() if c.redirect_uri and c.key is not None]
    assert confidential, "realm-config: no confidential code-flow smoke client to push as"
    client = confidential[0]
    assert client.key is not None
    control = oauth.push(endpoints, client, _request(client), verify=tls_verify)
    assert control.request_uri, f"control: {endpoints.pushed_authorization} refused {client.client_id}'s push"
    forged = {"client_id": client.client_id}
    if authentication == "another-key":  # the client's kid, a key that is not the client's
        rogue = oauth.ClientKey(client.client_id, forgery.private_pem(forgery.rogue_key()), client.key.kid)
        forged = oauth.private_key_jwt(rogue, endpoints.issuer)
    response = oauth.post_form(endpoints.pushed_authorization, _request(client) | forged, verify=tls_verify)
    assert response.status_code in (400, 401) and "request_uri" not in response.text, (
        f"{endpoints.pushed_authorization}: {client.client_id}'s push with {authentication} authentication was "
        f"accepted ({response.status_code})"
    )


@check(
    "SMOKE-PAR-005",
    "A pushed request lives no longer than the realm's PAR lifespan (60 s): the request_uri's expires_in says so",
    requirements=REQUIREMENTS,
    risk="A request_uri that lives for hours starts the login it describes long after the person left it, for "
    "whoever read it from a log, a Referer or browser history.",
    remediation=f"Leave the realm attribute {REQUEST_URI_LIFESPAN.attribute} at {REQUEST_URI_LIFESPAN.secure_default} "
    "(idpkit/realm/secure_defaults.py holds it).",
    claims=(f"realm.{REQUEST_URI_LIFESPAN.field}",),
)
def test_pushed_request_is_short_lived(
    code_client: str, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    pushed = oauth.push(endpoints, clients[code_client], _request(clients[code_client]), verify=tls_verify)
    assert pushed.request_uri, f"control: {endpoints.pushed_authorization} refused {code_client}'s push"
    lifespan = pushed.response.json().get("expires_in")
    limit = int(REQUEST_URI_LIFESPAN.secure_default)
    assert isinstance(lifespan, int) and 0 < lifespan <= limit, (
        f"{endpoints.pushed_authorization}: {code_client}'s request_uri expires in {lifespan!r} s; at most {limit} s"
    )
