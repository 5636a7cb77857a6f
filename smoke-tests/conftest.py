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
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, connect
from idpkit.outputs import StackOutputs, load_admin_credentials, load_break_glass_credentials, load_outputs
from idpkit.realm import loader
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmSettings, User
from idpkit.realm.secrets import load_smoke_credentials
from idpkit.smoke import credentials, oauth, throwaway
from idpkit.smoke.certificates import ClientCertificate, MissingClientCertificateError, Role, certificate_for
from idpkit.smoke.identities import AssertionProvider, Grant, SmokeClient, assertion_provider, smoke_clients
from idpkit.smoke.otp import OneTimeCodes, code_ledger
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

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
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
    """The master realm's admin API as the break-glass account: the kit's own service account may not read
    master's users, clients or events (SMOKE-MASTER-008)."""
    try:
        return AdminApi(connect(outputs, load_break_glass_credentials(outputs)), ADMIN_REALM)
    except IdpkitError as error:
        credentials.missing(stack_name, "break-glass", f"no master administrator login ({error})")


@pytest.fixture(scope="session")
def _swept(realm_admin: AdminApi) -> None:
    """What an interrupted run created at run time is gone before this run creates more."""
    throwaway.sweep(realm_admin)


@pytest.fixture(scope="session")
def second_factor(stack_name: str, realm_settings: RealmSettings) -> throwaway.SecondFactor:
    """How run-time users get their TOTP second factor: the codified OTP policy, the stack's code ledger."""
    return throwaway.SecondFactor(realm_settings, code_ledger(stack_name))


@pytest.fixture
def runtime(
    realm_admin: AdminApi, _swept: None, second_factor: throwaway.SecondFactor
) -> Iterator[throwaway.Throwaway]:
    """Clients and users created through the admin API for one test, deleted when it ends."""
    created = throwaway.Throwaway(realm_admin, second_factor)
    yield created
    created.cleanup()


# --- OAuth flows and attacks (test_flow_*.py, test_attack_*.py) ---------------------------------------

ACCESS_TOKEN_LIFESPAN = "access.token.lifespan"


def access_token_lifespan(settings: RealmSettings, client: SmokeClient | None) -> int:
    """The codified lifetime of a client's access tokens: its own override, else the realm's."""
    override = client.attribute(ACCESS_TOKEN_LIFESPAN) if client else None
    return int(override) if override else settings.access_token_lifespan or 0


RESOURCE_SERVER = "phi-api"
CLINICIAN = "smoke-clinician"


@pytest.fixture(scope="session")
def endpoints(discovery: dict[str, Any]) -> oauth.Endpoints:
    return oauth.Endpoints.from_discovery(discovery)


@pytest.fixture(scope="session")
def smoke_identities(realm_config: LoadedConfig) -> dict[str, SmokeClient]:
    """The smoke clients realm-config declares for this stack (realm-config/fragments/smoke.yaml)."""
    return {client.client_id: client for client in smoke_clients(realm_config)}


@pytest.fixture(scope="session")
def clients(smoke_credentials: dict[str, Any], smoke_identities: dict[str, SmokeClient]) -> dict[str, oauth.Client]:
    """The smoke clients as the suite plays them: confidential ones with their generated private keys, and a DPoP
    key of their own for this run wherever the realm binds the client's tokens to one."""
    return {client_id: client.played(smoke_credentials) for client_id, client in smoke_identities.items()}


@pytest.fixture(scope="module")
def approved_grant(
    smoke_identities: dict[str, SmokeClient],
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
    request: pytest.FixtureRequest,
) -> oauth.Approval:
    """A fresh grant of a client, approved by the test user: the token request that redeems it."""

    def approve(client: oauth.Client) -> dict[str, str]:
        grant = smoke_identities[client.client_id].grant
        if grant is Grant.CODE:
            return oauth.code_redemption(new_user_agent(), endpoints, client, "openid")[0]
        if grant is Grant.DEVICE:
            return oauth.device_approval(new_user_agent(), endpoints, client, "openid", verify=tls_verify)
        assert grant is Grant.JWT_BEARER and client.key is not None, (
            f"{client.client_id}: no grant the smoke suite can obtain DPoP-bound tokens with"
        )
        provider: AssertionProvider = request.getfixturevalue("assertion_provider_of_clinician")
        assertion = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
        return {"grant_type": oauth.JWT_BEARER_GRANT, "assertion": assertion, "scope": "openid"}

    return approve


@pytest.fixture(scope="session")
def jwt_bearer_client(smoke_identities: dict[str, SmokeClient]) -> SmokeClient:
    """The smoke client that exchanges assertions for tokens (RFC 7523 §2.1)."""
    found = [client for client in smoke_identities.values() if client.grant is Grant.JWT_BEARER]
    assert len(found) == 1, f"realm-config: expected one smoke client with the JWT bearer grant, found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def assertion_provider_of_clinician(realm_config: LoadedConfig, jwt_bearer_client: SmokeClient) -> AssertionProvider:
    """The provider the JWT bearer client trusts, and the subject it asserts for the test user."""
    return assertion_provider(realm_config, jwt_bearer_client, CLINICIAN)


@pytest.fixture(scope="session")
def clinician_user(realm_config: LoadedConfig, stack_name: str) -> User:
    """The test user as realm-config declares it (its attributes are what tokens must carry)."""
    found = [user for user in realm_config.document.users or [] if user.username == CLINICIAN]
    if not found:
        credentials.missing(stack_name, "smoke-identities", f"realm-config for {stack_name} declares no {CLINICIAN}")
    return found[0]


@pytest.fixture(scope="session")
def clinician_codes(smoke_credentials: dict[str, Any], stack_name: str, realm_settings: RealmSettings) -> OneTimeCodes:
    """The test user's TOTP codes (realm-config's OTP policy; the secret from the smoke credentials)."""
    secret = smoke_credentials["users"][CLINICIAN].get("totp_secret")
    if not secret:
        credentials.missing(stack_name, "smoke-identities", f"no TOTP secret for {CLINICIAN}: run `idpkit realm apply`")
    register_secret(secret)
    return OneTimeCodes.for_realm(secret, code_ledger(stack_name), realm_settings)


@pytest.fixture(scope="session")
def people(realm_admin: AdminApi, _swept: None, second_factor: throwaway.SecondFactor) -> Iterator[throwaway.Throwaway]:
    """Persons created for the checks that need a login of their own, deleted when the run ends."""
    created = throwaway.Throwaway(realm_admin, second_factor)
    yield created
    created.cleanup()


@pytest.fixture(scope="session")
def new_user_agent(
    smoke_credentials: dict[str, Any], people: throwaway.Throwaway, realm_config: LoadedConfig, tls_verify: str | bool
) -> Callable[[], oauth.UserAgent]:
    """A fresh browser of a person of its own, holding the test user's realm roles, who logs in with password and
    TOTP: for checks that end, revoke or replay a session. Each person has a TOTP secret of its own, so a fresh
    login never waits for a time step the realm has not yet seen a code of (codes are single-use). It stands in
    for the test user, so it needs the smoke identities first: not applicable where they are declared so
    (production), even when the admin API is at hand."""
    declared = next((user for user in realm_config.document.users or [] if user.username == CLINICIAN), None)
    assert declared is not None and CLINICIAN in smoke_credentials["users"], (
        f"realm-config or the smoke credentials: no {CLINICIAN} to take the realm roles of"
    )

    def fresh_login() -> oauth.UserAgent:
        person = people.user("session", realm_roles=declared.realm_roles or ())
        return oauth.UserAgent(tls_verify, person.username, person.password, person.codes)

    return fresh_login


@pytest.fixture(scope="session")
def clinician_browser(
    smoke_credentials: dict[str, Any], tls_verify: str | bool, clinician_codes: OneTimeCodes
) -> oauth.UserAgent:
    """The shared browser of the test user (password and TOTP): one login, then its SSO session (cookies) for every
    check that needs only an authorization code and leaves the session alive, as a browser would."""
    password: str = smoke_credentials["users"][CLINICIAN]["password"]
    return oauth.UserAgent(tls_verify, CLINICIAN, password, clinician_codes)


@pytest.fixture(scope="module")  # fresh per file: a whole suite outlasts a token
def spa_grant(
    clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> oauth.CodeGrant:
    """smoke-spa's tokens from the shared session (public client, consent granted)."""
    return oauth.sign_in(clinician_browser, endpoints, clients["smoke-spa"], "openid patient/Observation.rs")


@pytest.fixture(scope="module")  # fresh per file: a whole suite outlasts a token
def web_grant(
    clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> oauth.CodeGrant:
    """smoke-web's tokens from the shared session (confidential client, private_key_jwt)."""
    return oauth.sign_in(clinician_browser, endpoints, clients["smoke-web"], "openid patient/Patient.rs")


@pytest.fixture(scope="session")
def expect(
    outputs: StackOutputs, realm_settings: RealmSettings, smoke_identities: dict[str, SmokeClient]
) -> Callable[..., oauth.TokenExpectations]:
    """What a token of this realm must look like: `expect("smoke-spa", scopes={...})`."""
    assert realm_settings.access_token_lifespan, "realm-config: no accessTokenLifespan codified to compare tokens with"
    assert realm_settings.default_signature_algorithm, "realm-config: no defaultSignatureAlgorithm codified"
    algorithm = realm_settings.default_signature_algorithm

    def expectations(
        client_id: str, *, scopes: frozenset[str] = frozenset(), typ: str | None = None, nonce: str | None = None
    ) -> oauth.TokenExpectations:
        """`typ` defaults to the access token's: DPoP where the realm binds the client's tokens to a key, else
        Bearer."""
        client = smoke_identities.get(client_id)
        access_typ = oauth.DPOP if client is not None and client.binds_tokens_with_dpop else oauth.BEARER
        typ = typ or access_typ
        audience = RESOURCE_SERVER if typ == access_typ else client_id
        return oauth.TokenExpectations(
            issuer=outputs.issuer, audience=audience, authorized_party=client_id,
            max_lifetime=access_token_lifespan(realm_settings, smoke_identities.get(client_id)),
            algorithms=(algorithm,), required_scopes=scopes, typ=typ, nonce=nonce,
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


@pytest.fixture(scope="module")  # fresh per file: a whole suite outlasts a token
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


@pytest.fixture(scope="module")  # fresh per file: a whole suite outlasts a token
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


@pytest.fixture(scope="module")  # fresh per file: a whole suite outlasts a token
def code_flow_controls(spa_grant: oauth.CodeGrant, web_grant: oauth.CodeGrant, endpoints: oauth.Endpoints) -> None:
    """Positive control of the code-flow attacks: the legitimate requests of both clients succeed,
    so a refusal proves the rule, not a broken stack."""
    for client_id, grant in (("smoke-spa", spa_grant), ("smoke-web", web_grant)):
        assert grant.response.status_code == 200, (
            f"control: {endpoints.token} refused {client_id}'s legitimate code flow ({grant.response.status_code})"
        )


@pytest.fixture(scope="session")
def token_response(
    smoke_identities: dict[str, SmokeClient],
    clients: dict[str, oauth.Client],
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
    request: pytest.FixtureRequest,
) -> Callable[[str], requests.Response]:
    """A token response for any smoke client, obtained once with the grant it is registered for."""
    obtained: dict[str, requests.Response] = {}

    def obtain(client_id: str) -> requests.Response:
        client, grant = clients[client_id], smoke_identities[client_id].grant
        if grant is Grant.CODE:
            return oauth.sign_in(clinician_browser, endpoints, client, "openid").response
        if grant is Grant.CLIENT_CREDENTIALS:
            certificate: ClientCertificate = request.getfixturevalue("client_certificate")
            return oauth.client_credentials(endpoints, client, cert=certificate.requests_cert, verify=tls_verify)
        if grant is Grant.DEVICE:
            return oauth.device_grant(clinician_browser, endpoints, client, "openid", verify=tls_verify)
        assert grant is Grant.JWT_BEARER and client.key, f"{client_id}: no grant the smoke suite can obtain tokens with"
        provider = request.getfixturevalue("assertion_provider_of_clinician")
        assertion = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
        return oauth.jwt_bearer_grant(endpoints, client, assertion, "openid", verify=tls_verify)

    def response(client_id: str) -> requests.Response:
        if client_id not in obtained:
            obtained[client_id] = obtain(client_id)
        return obtained[client_id]

    return response
