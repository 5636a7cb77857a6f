"""Each client obtains tokens only through the grants it is registered for (least privilege, RFC 9700 §2.3).

For every smoke client realm-config declares, every other grant Keycloak offers is tried with the
client's own authentication and refused: client credentials, the device grant, the JWT bearer
grant, token exchange, client-initiated backchannel authentication (CIBA) and the UMA grant of
authorization services. Each refusal must name the grant as not enabled for the client, so a client
switched on for it (a hand-made change to an undeclared field) is caught even where the request would
then fail for another reason. The password grant is test_attack_password_grant.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from idpkit.outputs import StackOutputs
from idpkit.realm import loader
from idpkit.realm.loader import item_path
from idpkit.realm.rules.common import DEVICE_GRANT, JWT_GRANT
from idpkit.smoke import oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.identities import Grant, SmokeClient, or_placeholder, smoke_clients

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
UMA_TICKET = "urn:ietf:params:oauth:grant-type:uma-ticket"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@dataclass(frozen=True)
class Attempt:
    """A grant a client is tried with: the setting that would allow it, to which clients it applies, and how
    Keycloak (26.7) says the client is not allowed it."""

    setting: str
    """The client field (path suffix) that switches the grant on."""
    applies: Callable[[SmokeClient], bool]
    """Which clients could be switched on for it at all (Keycloak needs a confidential client for some)."""
    not_allowed: str
    """Keycloak's error description when the grant is off for the client; any other refusal means it is on."""


ATTEMPTS: dict[str, Attempt] = {
    "client-credentials": Attempt(
        "serviceAccountsEnabled", lambda c: c.confidential, "Client not enabled to retrieve service account"
    ),
    "device": Attempt(
        f'attributes["{DEVICE_GRANT}"]', lambda _c: True, "Client is not allowed to initiate OAuth 2.0 Device"
    ),
    "jwt-bearer": Attempt(
        f'attributes["{JWT_GRANT}"]', lambda c: c.confidential, "JWT Authorization Grant is not supported"
    ),
    "token-exchange": Attempt(
        'attributes["standard.token.exchange.enabled"]', lambda c: c.confidential, "token exchange is not enabled"
    ),
    "ciba": Attempt('attributes["oidc.ciba.grant.enabled"]', lambda c: c.confidential, "not allowed OIDC CIBA Grant"),
    "uma": Attempt(
        "authorizationServicesEnabled",
        lambda c: c.grant is Grant.CLIENT_CREDENTIALS,
        "Client does not support permissions",
    ),
}
# The grant each client is registered for, by the name ATTEMPTS uses.
OWN = {Grant.CLIENT_CREDENTIALS: "client-credentials", Grant.DEVICE: "device", Grant.JWT_BEARER: "jwt-bearer"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "attempt" not in metafunc.fixturenames:
        return
    cases = [
        pytest.param(client.client_id, name, id=f"{client.client_id}-{name}",
                     marks=claims(f"{item_path('clients', client.client_id)}.{attempt.setting}"))
        for client in smoke_clients(loader.load(metafunc.config.getoption("--stack")))
        for name, attempt in ATTEMPTS.items()
        if attempt.applies(client) and (OWN.get(client.grant) if client.grant else None) != name
    ]  # fmt: skip
    metafunc.parametrize(("client_id", "attempt"), or_placeholder(cases, width=2))


@pytest.fixture
def try_grant(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    smoke_identities: dict[str, SmokeClient],
    outputs: StackOutputs,
    discovery: dict[str, object],
    tls_verify: str | bool,
    request: pytest.FixtureRequest,
) -> Callable[[str, str], requests.Response]:
    """Send `attempt` for `client_id`, authenticated as the client itself."""

    def send(client_id: str, attempt: str) -> requests.Response:
        client = clients[client_id]
        auth = client.authentication(endpoints.issuer)
        # Machine clients are certificate-bound (or authenticate with one): they call the M2M listener with it.
        machine = smoke_identities[client_id].grant is Grant.CLIENT_CREDENTIALS
        cert = request.getfixturevalue("client_certificate").requests_cert if machine else None

        def post(endpoint: str, data: dict[str, str]) -> requests.Response:
            url = str(discovery[endpoint])
            if machine:  # discovery names M2M aliases for some endpoints; the M2M listener serves them all
                url = endpoints.mtls.get(endpoint, url.replace(outputs.base_url, outputs.m2m_url, 1))
            # A public client proves its DPoP key: a refusal must be the grant's, not a missing proof's.
            proof = {oauth.DPOP: client.dpop.proof("POST", url)} if client.dpop else None
            return oauth.post_form(url, data | auth, verify=tls_verify, cert=cert, headers=proof)

        if attempt == "client-credentials":
            return post("token_endpoint", {"grant_type": "client_credentials"})
        if attempt == "device":
            return post("device_authorization_endpoint", {"scope": "openid"})
        if attempt == "ciba":
            return post("backchannel_authentication_endpoint", {"scope": "openid", "login_hint": "smoke-clinician"})
        if attempt == "uma":
            return post("token_endpoint", {"grant_type": UMA_TICKET, "audience": client_id})
        # jwt-bearer and token-exchange present a genuine token or assertion, so only the grant can refuse them.
        if attempt == "jwt-bearer":
            issuer = request.getfixturevalue("assertion_provider_of_clinician")
            jwt_client = request.getfixturevalue("jwt_bearer_client")
            key = clients[jwt_client.client_id].key
            assert key is not None
            assertion = oauth.bearer_assertion(key, issuer.issuer, issuer.subject, endpoints.issuer)
            return post(
                "token_endpoint", {"grant_type": oauth.JWT_BEARER_GRANT, "assertion": assertion, "scope": "openid"}
            )
        subject = request.getfixturevalue("web_grant").tokens["access_token"]
        return post("token_endpoint", {"grant_type": TOKEN_EXCHANGE, "subject_token": subject,
                                       "subject_token_type": ACCESS_TOKEN_TYPE})  # fmt: skip

    return send


@check(
    "SMOKE-GRANTS-001",
    "A client obtains tokens through no grant it is not registered for",
    requirements=("RFC9700-2.3", "HIPAA-164.312(a)(1)"),
    risk="A grant switched on by hand (client credentials on a browser app, token exchange, CIBA, the device or "
    "assertion grant) gives the client tokens through a path nobody reviewed.",
    remediation="Declare each client's grants in realm-config; everything else stays at its secure default "
    "(idpkit/realm/secure_defaults.py), which `realm apply` restores.",
    claims=(
        "clients[*].serviceAccountsEnabled",
        "clients[*].authorizationServicesEnabled",
        'clients[*].attributes["oauth2.device.authorization.grant.enabled"]',
        'clients[*].attributes["oauth2.jwt.authorization.grant.enabled"]',
        'clients[*].attributes["standard.token.exchange.enabled"]',
        'clients[*].attributes["oidc.ciba.grant.enabled"]',
    ),
)
def test_unregistered_grant_is_refused(
    client_id: str, attempt: str, try_grant: Callable[[str, str], requests.Response]
) -> None:
    response = try_grant(client_id, attempt)
    refusal = f"{oauth.oauth_error(response)}: {_description(response)}"
    assert response.status_code in {400, 401, 403} and not oauth.issued_tokens(response), (
        f"{client_id}: the {attempt} grant answered {response.status_code} ({refusal}); the client is not registered "
        "for it"
    )
    assert ATTEMPTS[attempt].not_allowed.lower() in _description(response).lower(), (
        f"{client_id}: the {attempt} grant was refused for another reason ({refusal}), so it is switched on for "
        f"the client; Keycloak must refuse it as not allowed ({ATTEMPTS[attempt].not_allowed!r})"
    )


def _description(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error_description", "")) if isinstance(body, dict) else ""
