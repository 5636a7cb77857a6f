"""Fixtures of the smoke suite: everything comes from the stack outputs contract, so the same suite
runs against the local stack and a deployed AWS environment (`idpkit smoke --stack NAME`).

Non-production stacks carry the smoke-test identities of realm-config/fragments/smoke.yaml; their
generated credentials are read from the stack's 0600 smoke-credentials file and registered for
redaction. Production has no test identities: see smoke-tests/README.md for its least-privilege path.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from jwt import PyJWKClient

from idpkit.errors import IdpkitError
from idpkit.outputs import StackOutputs, load_admin_credentials, load_outputs
from idpkit.realm import loader
from idpkit.realm.api import ADMIN_REALM, AdminApi, connect
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmSettings
from idpkit.realm.secrets import load_smoke_credentials
from idpkit.smoke import credentials, oauth, throwaway
from idpkit.smoke.certificates import ClientCertificate, MissingClientCertificateError, Role, certificate_for
from idpkit.smoke.redaction import register_secret

# Stacks are named after their realm-config environment; the local stack uses the `local` overlay.


@pytest.fixture(scope="session")
def stack_name(pytestconfig: pytest.Config) -> str:
    name: str = pytestconfig.getoption("--stack")
    return name


@pytest.fixture(scope="session")
def outputs(stack_name: str) -> StackOutputs:
    return load_outputs(stack_name)


@pytest.fixture(scope="session")
def tls_verify(outputs: StackOutputs) -> str | bool:
    return outputs.tls_verify


@pytest.fixture(scope="session")
def http(tls_verify: str | bool) -> requests.Session:
    """An HTTPS client that verifies the stack's certificates with its CA bundle."""
    return VerifyingSession(tls_verify)


class VerifyingSession(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE override `Session.verify`; passing it per request cannot be overridden."""

    def __init__(self, verify: str | bool) -> None:
        super().__init__()
        self.verify = verify

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="session")
def discovery(outputs: StackOutputs, http: requests.Session) -> dict[str, Any]:
    url = f"{outputs.issuer}/.well-known/openid-configuration"
    response = http.get(url, timeout=15)
    assert response.status_code == 200, f"{url}: discovery answered {response.status_code}"
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="session")
def jwks_client(discovery: dict[str, Any], tls_verify: str | bool) -> PyJWKClient:
    """Fetches signing keys from the realm's published JWKS, as a resource server would."""
    context = ssl.create_default_context(cafile=tls_verify if isinstance(tls_verify, str) else None)
    return PyJWKClient(discovery["jwks_uri"], cache_keys=False, ssl_context=context)


@pytest.fixture(scope="session")
def realm_config(stack_name: str) -> LoadedConfig:
    """realm-config as codified for this stack's environment: what the live realm must do."""
    return loader.load(stack_name)


@pytest.fixture(scope="session")
def realm_settings(realm_config: LoadedConfig) -> RealmSettings:
    """The realm settings codified for this stack's environment."""
    settings = realm_config.document.realm
    assert settings is not None, f"realm-config for {realm_config.environment}: no realm settings"
    return settings


@pytest.fixture(scope="session")
def smoke_credentials(stack_name: str) -> dict[str, Any]:
    """The smoke identities' generated credentials; production declares them not applicable."""
    try:
        loaded = load_smoke_credentials(stack_name)
    except (OSError, ValueError) as error:
        credentials.missing(stack_name, "smoke-identities", f"no smoke-test credentials ({error})")
    for user in loaded.get("users", {}).values():
        register_secret(user.get("password"))
    return loaded


def _admin(outputs: StackOutputs, stack_name: str, realm: str) -> AdminApi:
    try:
        return AdminApi(connect(outputs, load_admin_credentials(outputs)), realm)
    except IdpkitError as error:
        credentials.missing(stack_name, "admin-api", f"no admin API access ({error})")


@pytest.fixture(scope="session")
def realm_admin(outputs: StackOutputs, stack_name: str) -> AdminApi:
    """The realm's admin API, with the kit's admin credentials from the outputs."""
    return _admin(outputs, stack_name, outputs.realm)


@pytest.fixture(scope="session")
def master_admin(outputs: StackOutputs, stack_name: str) -> AdminApi:
    """The master realm's admin API (the kit's own administration client lives there)."""
    return _admin(outputs, stack_name, ADMIN_REALM)


@pytest.fixture(scope="session")
def _swept(realm_admin: AdminApi) -> None:
    """What an interrupted run created at run time is gone before this run creates more."""
    throwaway.sweep(realm_admin)


@pytest.fixture
def runtime(realm_admin: AdminApi, _swept: None) -> Iterator[throwaway.Throwaway]:
    """Clients and users created through the admin API for one test, deleted when it ends."""
    created = throwaway.Throwaway(realm_admin)
    yield created
    created.cleanup()


# --- OAuth flows and attacks (test_flow_*.py, test_attack_*.py) ---------------------------------------

REDIRECT_URI = "https://127.0.0.1:8765/callback"
"""The smoke clients' registered redirect URI: never served, the flow stops at its Location header."""
RESOURCE_SERVER = "phi-api"
CLINICIAN = "smoke-clinician"


@pytest.fixture(scope="session")
def endpoints(discovery: dict[str, Any]) -> oauth.Endpoints:
    return oauth.Endpoints.from_discovery(discovery)


@pytest.fixture(scope="session")
def clients(smoke_credentials: dict[str, Any]) -> dict[str, oauth.Client]:
    """The smoke clients of realm-config/fragments/smoke.yaml, with their private keys."""

    def key(client_id: str) -> oauth.ClientKey:
        return oauth.ClientKey.from_credentials(smoke_credentials, client_id)

    return {
        "smoke-spa": oauth.Client("smoke-spa", REDIRECT_URI),
        "smoke-web": oauth.Client("smoke-web", REDIRECT_URI, key("smoke-web")),
        "smoke-backend": oauth.Client("smoke-backend", key=key("smoke-backend")),
        "smoke-mtls": oauth.Client("smoke-mtls"),
        "smoke-device": oauth.Client("smoke-device"),
        "smoke-jwt-bearer": oauth.Client("smoke-jwt-bearer", key=key("smoke-jwt-bearer")),
    }


@pytest.fixture(scope="session")
def new_user_agent(smoke_credentials: dict[str, Any], tls_verify: str | bool) -> Callable[[], oauth.UserAgent]:
    """A fresh browser for the test user: tests that end or revoke a session log in on their own."""
    password: str = smoke_credentials["users"][CLINICIAN]["password"]
    return lambda: oauth.UserAgent(tls_verify, CLINICIAN, password)


@pytest.fixture(scope="session")
def clinician_browser(new_user_agent: Callable[[], oauth.UserAgent]) -> oauth.UserAgent:
    """The shared browser: one login for every test that leaves the session alive."""
    return new_user_agent()


@pytest.fixture(scope="session")
def spa_grant(
    clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> oauth.CodeGrant:
    """smoke-spa's tokens from the shared session (public client, consent granted)."""
    return oauth.sign_in(clinician_browser, endpoints, clients["smoke-spa"], "openid patient/Observation.rs")


@pytest.fixture(scope="session")
def web_grant(
    clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> oauth.CodeGrant:
    """smoke-web's tokens from the shared session (confidential client, private_key_jwt)."""
    return oauth.sign_in(clinician_browser, endpoints, clients["smoke-web"], "openid patient/Patient.rs")


@pytest.fixture(scope="session")
def expect(outputs: StackOutputs, realm_settings: RealmSettings) -> Callable[..., oauth.TokenExpectations]:
    """What a token of this realm must look like: `expect("smoke-spa", scopes={...})`."""
    lifespan = realm_settings.access_token_lifespan
    assert lifespan, "realm-config: no accessTokenLifespan codified to compare tokens with"

    def expectations(
        client_id: str, *, scopes: frozenset[str] = frozenset(), typ: str = "Bearer", nonce: str | None = None
    ) -> oauth.TokenExpectations:
        audience = RESOURCE_SERVER if typ == "Bearer" else client_id
        return oauth.TokenExpectations(
            issuer=outputs.issuer, audience=audience, authorized_party=client_id, max_lifetime=lifespan,
            required_scopes=scopes, typ=typ, nonce=nonce,
        )  # fmt: skip

    return expectations


@pytest.fixture(scope="session")
def certificates(stack_name: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Role], ClientCertificate]:
    """Client certificates from the trusted CA by role (idpkit.smoke.certificates), each made once."""
    made: dict[Role, ClientCertificate] = {}

    def certificate(role: Role) -> ClientCertificate:
        if role not in made:
            try:
                made[role] = certificate_for(stack_name, role, tmp_path_factory.mktemp(role))
            except MissingClientCertificateError as error:
                credentials.missing(stack_name, "client-certificates", str(error))
        return made[role]

    return certificate


@pytest.fixture(scope="session")
def client_certificate(certificates: Callable[[Role], ClientCertificate]) -> ClientCertificate:
    """smoke-mtls's own certificate for the M2M listener."""
    return certificates(Role.CLIENT)


@pytest.fixture(scope="session")
def backend_response(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    client_certificate: ClientCertificate,
    tls_verify: str | bool,
) -> requests.Response:
    """smoke-backend's client-credentials response: private_key_jwt, bound to the client certificate."""
    return oauth.client_credentials(
        endpoints, clients["smoke-backend"], cert=client_certificate.requests_cert, verify=tls_verify
    )


@pytest.fixture(scope="session")
def mtls_response(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    client_certificate: ClientCertificate,
    tls_verify: str | bool,
) -> requests.Response:
    """smoke-mtls's client-credentials response: authenticated by its certificate alone (client-x509)."""
    return oauth.client_credentials(
        endpoints, clients["smoke-mtls"], cert=client_certificate.requests_cert, verify=tls_verify
    )


@pytest.fixture(scope="session")
def code_flow_controls(spa_grant: oauth.CodeGrant, web_grant: oauth.CodeGrant, endpoints: oauth.Endpoints) -> None:
    """Positive control of the code-flow attacks: the legitimate requests of both clients succeed,
    so a refusal proves the rule, not a broken stack."""
    for client_id, grant in (("smoke-spa", spa_grant), ("smoke-web", web_grant)):
        assert grant.response.status_code == 200, (
            f"control: {endpoints.token} refused {client_id}'s legitimate code flow ({grant.response.status_code})"
        )
