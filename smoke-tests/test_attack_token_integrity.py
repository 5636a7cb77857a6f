"""Tokens a resource server must refuse: revoked, tampered with, or from another environment (mix-up).

Each is refused twice: by the validation a resource server runs (idpkit.smoke.oauth.validate_token
against this realm's JWKS) and by the realm's own UserInfo endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from jwt import PyJWKClient

from idpkit.smoke import forgery, oauth
from idpkit.smoke.checks import check

# Another stack's issuer: what a token minted by staging (or a copied prod config) would carry.
FOREIGN_ISSUER = "https://idp.staging.idpkit.invalid/realms/phi"


def _refused_by_userinfo(http: requests.Session, endpoints: oauth.Endpoints, token: str, what: str) -> None:
    response = http.get(endpoints.userinfo, headers=oauth.bearer(token), timeout=15)
    assert response.status_code == 401, f"{endpoints.userinfo}: {what} answered {response.status_code}, expected 401"


def _refused_by_validation(
    token: str, jwks_client: PyJWKClient, expectations: oauth.TokenExpectations, what: str
) -> None:
    with pytest.raises(oauth.TokenValidationError):
        oauth.validate_token(token, jwks_client, expectations)
        pytest.fail(f"resource-server validation accepted {what}")


@check(
    "SMOKE-TOKEN-001",
    "An access token is refused after its revocation (RFC 7009)",
    requirements=("RFC7009", "HIPAA-164.312(a)(1)"),
    risk="A revoked token that still works keeps PHI access open after logout, device loss or offboarding.",
    remediation="Keep access-token revocation enabled; resource servers introspect or keep tokens short-lived.",
)
def test_revoked_access_token_is_refused(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
) -> None:
    web = clients["smoke-web"]
    token = oauth.sign_in(new_user_agent(), endpoints, web, "openid").tokens["access_token"]

    def userinfo() -> requests.Response:
        return oauth.resource_request("GET", endpoints.userinfo, token, web.dpop, verify=http.verify)

    before = userinfo()
    assert before.status_code == 200, f"control: {endpoints.userinfo} refused smoke-web's fresh access token"
    revoked = http.post(
        endpoints.revocation,
        data={"token": token, "token_type_hint": "access_token"} | web.authentication(endpoints.issuer),
        timeout=15,
    )
    assert revoked.status_code == 200, f"{endpoints.revocation}: smoke-web's revocation refused ({revoked.status_code})"
    after = userinfo()
    assert after.status_code == 401, (
        f"{endpoints.userinfo}: smoke-web's revoked access token answered {after.status_code}, expected 401"
    )


@check(
    "SMOKE-TOKEN-002",
    "A token whose payload was altered is refused",
    requirements=("HIPAA-164.312(c)(1)", "RFC9700-2.3", "FAPI2-SP-5.4"),
    risk="If signatures are not checked, anyone can extend a token's lifetime or add PHI scopes.",
    remediation="Resource servers verify signatures with the realm JWKS and pin the algorithm (PS256).",
)
@pytest.mark.parametrize(
    "change",
    [{"scope": "openid patient/Patient.rs system/*.rs"}, {"exp": 4102444800}, {"azp": "phi-partner-exchange"}],
    ids=["scope-escalated", "lifetime-extended", "azp-swapped"],
)
def test_altered_token_is_refused(
    change: dict[str, object],
    web_grant: oauth.CodeGrant,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
    endpoints: oauth.Endpoints,
    http: requests.Session,
) -> None:
    original = web_grant.tokens["access_token"]
    oauth.validate_token(original, jwks_client, expect("smoke-web"))  # control: the untouched token passes
    altered = forgery.with_altered_payload(original, change)
    _refused_by_validation(
        altered, jwks_client, expect("smoke-web"), f"smoke-web's token with {sorted(change)} altered"
    )
    _refused_by_userinfo(http, endpoints, altered, f"smoke-web's token with {sorted(change)} altered")


@check(
    "SMOKE-MIXUP-001",
    "A token from another environment's issuer or key is refused (environment mix-up)",
    requirements=("RFC9700-2.6", "HIPAA-164.312(d)", "HIPAA-164.312(c)(1)"),
    risk="A staging or test token accepted in production gives test identities access to real PHI.",
    remediation="Resource servers pin each environment's issuer and JWKS; never share signing keys between stacks.",
)
@pytest.mark.parametrize("variant", ["foreign-issuer-and-key", "this-issuer-foreign-key"])
def test_token_from_another_environment_is_refused(
    variant: str,
    web_grant: oauth.CodeGrant,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
    endpoints: oauth.Endpoints,
    http: requests.Session,
) -> None:
    genuine = web_grant.tokens["access_token"]
    claims = oauth.unverified_claims(genuine)
    # Same claims, same kid as this realm's key: only the issuer and/or the signing key differ.
    kid = oauth.unverified_header(genuine)["kid"]
    if variant == "foreign-issuer-and-key":
        claims["iss"] = FOREIGN_ISSUER
    forged = forgery.signed_with(claims, forgery.rogue_key(), kid=kid)
    _refused_by_validation(forged, jwks_client, expect("smoke-web"), f"a {variant} token")
    _refused_by_userinfo(http, endpoints, forged, f"a {variant} token")
