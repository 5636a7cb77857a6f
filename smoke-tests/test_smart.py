"""SMART App Launch v2 discovery (`{issuer}/.well-known/smart-configuration`): served, consistent with the
realm's OpenID Connect discovery, and advertising nothing the realm does not do.

The document comes from the kit's Keycloak extension (keycloak-kms/, package org.idpkit.keycloak.smart)
and `realm.smartConfiguration`. Every capability, grant type and client authentication method it
advertises needs a proof in `PROOFS` that exercises it through the protocol: an advertised item with no
proof fails (SMOKE-SMART-003), and each proof is its own case (skipped, not passed, when the stack does
not advertise it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from jwt import PyJWKClient

from idpkit.compliance import Severity
from idpkit.outputs import StackOutputs
from idpkit.realm.model import User
from idpkit.realm.rules.smart import REFUSED_GRANTS
from idpkit.smoke import oauth
from idpkit.smoke.checks import check, claims

WELL_KNOWN = ".well-known/smart-configuration"
REQUIRED_FIELDS = ("authorization_endpoint", "token_endpoint", "grant_types_supported", "capabilities",
                   "code_challenge_methods_supported")  # fmt: skip
"""SMART App Launch v2.2 section 'Metadata': required in every document."""
OIDC_REQUIRED_FIELDS = ("issuer", "jwks_uri")
"""Required when `sso-openid-connect` is advertised."""
SAME_AS_OIDC = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint",
                "introspection_endpoint")  # fmt: skip
LISTS_WITHIN_OIDC = ("grant_types_supported", "token_endpoint_auth_methods_supported", "scopes_supported")
V2_SCOPE = re.compile(r"(patient|user|system)/[A-Za-z*]+\.c?r?u?d?s?")
OFFLINE = "offline_access"
LAUNCH_PATIENT, PATIENT, PATIENT_ATTRIBUTE = "launch/patient", "patient", "smart_patient_id"
SETTING = "realm.smartConfiguration"
Proof = Callable[[pytest.FixtureRequest], None]


@pytest.fixture(scope="module")
def smart_configuration(outputs: StackOutputs, http: requests.Session) -> dict[str, Any]:
    url = f"{outputs.issuer}/{WELL_KNOWN}"
    response = http.get(url, timeout=15)
    assert response.status_code == 200, f"{url}: answered {response.status_code}; SMART apps cannot discover the realm"
    document: dict[str, Any] = response.json()
    return document


def _granted(request: pytest.FixtureRequest, grant: str, client_id: str) -> oauth.CodeGrant:
    code_grant: oauth.CodeGrant = request.getfixturevalue(grant)
    assert code_grant.response.status_code == 200, (
        f"token endpoint: {client_id}'s code flow refused ({code_grant.response.status_code})"
    )
    return code_grant


def _access_scopes(request: pytest.FixtureRequest) -> set[str]:
    return oauth.scopes_of(oauth.unverified_claims(_granted(request, "spa_grant", "smoke-spa").tokens["access_token"]))


def _standalone_launch(request: pytest.FixtureRequest) -> None:
    # sign_in sends no `launch` parameter: the app started the flow on its own.
    assert "access_token" in _granted(request, "spa_grant", "smoke-spa").tokens, "smoke-spa: no access token"


def _public_client(request: pytest.FixtureRequest) -> None:
    client: oauth.Client = request.getfixturevalue("clients")["smoke-spa"]
    assert client.key is None, "smoke-spa: the public-client proof must authenticate with no key"
    assert "access_token" in _granted(request, "spa_grant", "smoke-spa").tokens, "smoke-spa: no access token"


def _asymmetric_client(request: pytest.FixtureRequest) -> None:
    client: oauth.Client = request.getfixturevalue("clients")["smoke-web"]
    assert client.key is not None, "smoke-web: the asymmetric proof must authenticate with private_key_jwt"
    assert "access_token" in _granted(request, "web_grant", "smoke-web").tokens, "smoke-web: no access token"


def _openid_connect(request: pytest.FixtureRequest) -> None:
    code_grant = _granted(request, "spa_grant", "smoke-spa")
    assert "id_token" in code_grant.tokens, "smoke-spa asked for openid and got no ID token"
    jwks_client: PyJWKClient = request.getfixturevalue("jwks_client")
    expect: Callable[..., oauth.TokenExpectations] = request.getfixturevalue("expect")
    oauth.validate_token(
        code_grant.tokens["id_token"], jwks_client, expect("smoke-spa", typ="ID", nonce=code_grant.nonce)
    )


def _v2_scopes(request: pytest.FixtureRequest) -> None:
    scopes = _access_scopes(request)
    assert any(V2_SCOPE.fullmatch(scope) for scope in scopes), f"smoke-spa's token has no SMART v2 scope: {scopes}"


def _patient_scopes(request: pytest.FixtureRequest) -> None:
    scopes = _access_scopes(request)
    assert any(scope.startswith("patient/") for scope in scopes), f"smoke-spa's token has no patient/ scope: {scopes}"


def _offline(request: pytest.FixtureRequest) -> None:
    typ = oauth.unverified_claims(_launch(request, f"openid {OFFLINE}").tokens["refresh_token"]).get("typ")
    assert typ == "Offline", f"smoke-spa asked {OFFLINE} and got a refresh token of type {typ!r}"


def _patient_context(request: pytest.FixtureRequest) -> None:
    clinician: User = request.getfixturevalue("clinician_user")
    wanted = _attribute(clinician, PATIENT_ATTRIBUTE)
    code_grant = _launch(request, f"openid {LAUNCH_PATIENT}")
    assert code_grant.tokens.get(PATIENT) == wanted, (
        f"smoke-spa granted {LAUNCH_PATIENT}: token response {PATIENT} is {code_grant.tokens.get(PATIENT)!r}, "
        f"not {clinician.username}'s {PATIENT_ATTRIBUTE} {wanted!r}"
    )


def _launch(request: pytest.FixtureRequest, scope: str) -> oauth.CodeGrant:
    """smoke-spa's tokens for `scope`, from the clinician's shared session."""
    agent: oauth.UserAgent = request.getfixturevalue("clinician_browser")
    endpoints: oauth.Endpoints = request.getfixturevalue("endpoints")
    client: oauth.Client = request.getfixturevalue("clients")["smoke-spa"]
    code_grant = oauth.sign_in(agent, endpoints, client, scope)
    assert code_grant.response.status_code == 200, (
        f"smoke-spa asking {scope!r}: code flow refused ({code_grant.response.status_code})"
    )
    return code_grant


def _attribute(user: User, name: str) -> str:
    value = next(iter((user.attributes or {}).get(name, [])), None)
    assert value, f"realm-config: {user.username} has no {name} attribute to observe"
    return value


def _refresh(request: pytest.FixtureRequest) -> None:
    code_grant = _granted(request, "web_grant", "smoke-web")
    endpoints: oauth.Endpoints = request.getfixturevalue("endpoints")
    client: oauth.Client = request.getfixturevalue("clients")["smoke-web"]
    refresh_token, verify = code_grant.tokens["refresh_token"], request.getfixturevalue("tls_verify")
    response = oauth.refresh(endpoints, client, refresh_token, verify=verify)
    assert response.status_code == 200, f"{endpoints.token}: smoke-web's refresh refused ({response.status_code})"


def _token_response(fixture: str, client_id: str) -> Proof:
    def proof(request: pytest.FixtureRequest) -> None:
        value = request.getfixturevalue(fixture)
        if isinstance(value, oauth.CodeGrant):
            value = value.response
        response: requests.Response = value(client_id) if callable(value) else value
        assert response.status_code == 200, f"token endpoint: {client_id} refused ({response.status_code})"

    return proof


PROOFS: dict[tuple[str, str], Proof] = {
    ("capabilities", "launch-standalone"): _standalone_launch,
    ("capabilities", "client-public"): _public_client,
    ("capabilities", "client-confidential-asymmetric"): _asymmetric_client,
    ("capabilities", "sso-openid-connect"): _openid_connect,
    ("capabilities", "permission-v2"): _v2_scopes,
    ("capabilities", "permission-patient"): _patient_scopes,
    ("capabilities", "permission-offline"): _offline,
    ("capabilities", "context-standalone-patient"): _patient_context,
    ("grant_types_supported", "authorization_code"): _token_response("spa_grant", "smoke-spa"),
    ("grant_types_supported", "refresh_token"): _refresh,
    ("grant_types_supported", "client_credentials"): _token_response("backend_response", "smoke-backend"),
    ("grant_types_supported", oauth.DEVICE_CODE_GRANT): _token_response("token_response", "smoke-device"),
    ("grant_types_supported", oauth.JWT_BEARER_GRANT): _token_response("token_response", "smoke-jwt-bearer"),
    ("token_endpoint_auth_methods_supported", "private_key_jwt"): _token_response("web_grant", "smoke-web"),
    ("token_endpoint_auth_methods_supported", "tls_client_auth"): _token_response("mtls_response", "smoke-mtls"),
}
"""How each advertisable item is exercised through the protocol."""
FIELDS = {
    "capabilities": f"{SETTING}.capabilities",
    "grant_types_supported": f"{SETTING}.grantTypesSupported",
    "token_endpoint_auth_methods_supported": f"{SETTING}.tokenEndpointAuthMethodsSupported",
}
"""The proven lists, with the realm-config setting each comes from."""


@check("SMOKE-SMART-001", "The realm serves its SMART App Launch v2 configuration with every required field",
       requirements=("SMART-2.2-DISCOVERY",), severity=Severity.MEDIUM,
       risk="SMART apps cannot discover the authorization server: they are configured by hand, or not at all.",
       remediation="Keep the kit's Keycloak extension installed (idpkit local up / host up install it) and "
       "realm.smartConfiguration declared (realm-config/base/smart.yaml).",
       claims=(f"{SETTING}.*",))  # fmt: skip
def test_smart_configuration_is_served_with_its_required_fields(smart_configuration: dict[str, Any]) -> None:
    required = [*REQUIRED_FIELDS, *(OIDC_REQUIRED_FIELDS if "sso-openid-connect" in smart_configuration.get(
        "capabilities", []) else ())]  # fmt: skip
    missing = [field for field in required if not smart_configuration.get(field)]
    assert not missing, f"{WELL_KNOWN}: required fields missing or empty: {missing}"


@check("SMOKE-SMART-002", "The SMART configuration agrees with OpenID Connect discovery: same endpoints, PKCE "
       "S256 only, response type code only, no implicit or password grant, nothing the server does not list",
       requirements=("SMART-2.2-DISCOVERY", "SMART-2.2-PKCE", "RFC9700-2.1.2", "RFC9700-2.4"),
       risk="An app following the SMART document talks to another endpoint than OIDC clients do, downgrades "
       "PKCE, or is steered to a grant the realm should refuse.",
       remediation="Let the extension copy the endpoints from the OIDC discovery (never write them); list only "
       "grants, methods and scopes the realm supports in realm.smartConfiguration.",
       claims=(f"{SETTING}.grantTypesSupported", f"{SETTING}.scopesSupported",
               f"{SETTING}.tokenEndpointAuthMethodsSupported"))  # fmt: skip
def test_smart_configuration_agrees_with_oidc_discovery(
    smart_configuration: dict[str, Any], discovery: dict[str, Any]
) -> None:
    for field in SAME_AS_OIDC:
        assert smart_configuration.get(field) == discovery.get(field), (
            f"{WELL_KNOWN}: {field} {smart_configuration.get(field)!r} is not discovery's {discovery.get(field)!r}"
        )
    assert smart_configuration.get("code_challenge_methods_supported") == ["S256"], (
        f"{WELL_KNOWN}: code_challenge_methods_supported must be exactly ['S256']"
    )
    assert smart_configuration.get("response_types_supported") == ["code"], (
        f"{WELL_KNOWN}: response_types_supported must be exactly ['code']"
    )
    refused = REFUSED_GRANTS.intersection(smart_configuration.get("grant_types_supported", []))
    assert not refused, f"{WELL_KNOWN}: advertises grants the realm refuses: {sorted(refused)}"
    for field in LISTS_WITHIN_OIDC:
        unknown = set(smart_configuration.get(field, [])) - set(discovery.get(field, []))
        assert not unknown, f"{WELL_KNOWN}: {field} lists what OIDC discovery does not: {sorted(unknown)}"


@check("SMOKE-SMART-003", "Every capability, grant type and client authentication method the SMART configuration "
       "advertises has a proof that exercises it",
       requirements=("SMART-2.2-CAPABILITIES",), severity=Severity.MEDIUM,
       risk="An advertised capability the realm does not honour sends apps down a path that fails, or that "
       "the realm should refuse (client secrets).",
       remediation="Advertise only what smoke-tests/test_smart.py proves; add a proof with a new capability.",
       claims=tuple(FIELDS.values()))  # fmt: skip
@pytest.mark.parametrize("field", [pytest.param(f, marks=claims(s)) for f, s in FIELDS.items()])
def test_every_advertised_item_has_a_proof(field: str, smart_configuration: dict[str, Any]) -> None:
    unproven = [item for item in smart_configuration.get(field, []) if (field, item) not in PROOFS]
    assert not unproven, f"{WELL_KNOWN}: {field} advertises what no check proves: {unproven}"


@check("SMOKE-SMART-004", "Each advertised capability, grant type and authentication method works as advertised",
       requirements=("SMART-2.2-CAPABILITIES", "SMART-2.2-SCOPES"), severity=Severity.MEDIUM,
       risk="An app relying on an advertised capability fails at run time, in front of a clinician or patient.",
       remediation="Fix the realm so the capability works, or stop advertising it in realm.smartConfiguration.",
       claims=tuple(FIELDS.values()))  # fmt: skip
@pytest.mark.parametrize(
    ("field", "item"), [pytest.param(f, i, id=f"{f}-{i}", marks=claims(FIELDS[f])) for f, i in PROOFS]
)
def test_advertised_item_works(
    field: str, item: str, smart_configuration: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    if item not in smart_configuration.get(field, []):
        pytest.skip(f"{WELL_KNOWN}: {field} does not advertise {item}")
    PROOFS[field, item](request)


FHIR_USER = "fhirUser"


@check("SMOKE-SMART-005", "The ID token carries `fhirUser` (the person's FHIR resource, from the user attribute) "
       "exactly when the app is granted the `fhirUser` scope",
       requirements=("SMART-2.2-SCOPES", "HIPAA-164.312(d)"), severity=Severity.MEDIUM,
       risk="Without `fhirUser` a SMART app cannot tell which Practitioner or Patient record the signed-in person "
       "is; handed out unasked, it discloses that identity to apps that did not ask for it.",
       remediation="Keep the fhirUser client scope's oidc-usermodel-attribute-mapper (realm-config/base/smart.yaml), "
       "the user-profile attribute `fhirUser` (administrators only) and each person's `fhirUser` attribute.",
       claims=(f"clientScopes[{FHIR_USER}].protocolMappers", "clients[*].defaultClientScopes"))  # fmt: skip
@pytest.mark.parametrize("asked", [
    pytest.param(True, id="asking", marks=claims(f"clientScopes[{FHIR_USER}].protocolMappers")),
    pytest.param(False, id="not-asking", marks=claims("clients[*].defaultClientScopes")),
])  # fmt: skip
def test_fhir_user_claim_only_with_its_scope(
    asked: bool,
    request: pytest.FixtureRequest,
    clinician_user: User,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    wanted = _attribute(clinician_user, FHIR_USER)
    code_grant = _launch(request, f"openid {FHIR_USER}") if asked else _granted(request, "spa_grant", "smoke-spa")
    claims_seen = oauth.validate_token(
        code_grant.tokens["id_token"], jwks_client, expect("smoke-spa", typ="ID", nonce=code_grant.nonce)
    )
    if asked:
        assert claims_seen.get(FHIR_USER) == wanted, (
            f"smoke-spa granted {FHIR_USER}: ID token {FHIR_USER} is {claims_seen.get(FHIR_USER)!r}, not {wanted!r}"
        )
    else:
        assert FHIR_USER not in claims_seen, f"smoke-spa not asking {FHIR_USER}: the ID token carries it anyway"


@check("SMOKE-SMART-006", "Without `launch/patient` the token response and ID token carry no patient context",
       requirements=("SMART-2.2-SCOPES", "HIPAA-164.312(a)(1)"), severity=Severity.MEDIUM,
       risk="A patient id handed to an app that did not ask for a patient context discloses whose record the "
       "person is, and apps may act on a patient they were never launched for.",
       remediation="Keep the patient-context mapper on the launch/patient client scope only, and launch/patient an "
       "optional scope (never a default one).",
       claims=("clients[*].defaultClientScopes",))  # fmt: skip
def test_no_patient_context_without_its_scope(spa_grant: oauth.CodeGrant) -> None:
    assert spa_grant.response.status_code == 200, f"smoke-spa: code flow refused ({spa_grant.response.status_code})"
    assert PATIENT not in spa_grant.tokens, f"smoke-spa not asking {LAUNCH_PATIENT}: the token response has {PATIENT}"
    id_claims = oauth.unverified_claims(spa_grant.tokens["id_token"])
    assert PATIENT not in id_claims, f"smoke-spa not asking {LAUNCH_PATIENT}: the ID token has {PATIENT}"
