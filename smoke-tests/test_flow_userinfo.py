"""UserInfo: a valid access token reaches the user's claims, for the same subject as the ID token."""

from __future__ import annotations

from idpkit.smoke import oauth
from idpkit.smoke.checks import check


@check(
    "SMOKE-USERINFO-001",
    "UserInfo answers a valid access token with the authenticated user's subject",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
    risk="A UserInfo that answers for another subject mixes up patients' or clinicians' identities.",
    remediation="Check the openid scope and the subject mappers (basic scope) of the client.",
)
def test_userinfo_returns_the_token_subject(
    web_grant: oauth.CodeGrant, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    token, key = web_grant.tokens["access_token"], clients["smoke-web"].dpop
    response = oauth.resource_request("GET", endpoints.userinfo, token, key, verify=tls_verify)
    assert response.status_code == 200, (
        f"{endpoints.userinfo}: smoke-web's valid token refused ({response.status_code})"
    )
    id_token_subject = oauth.unverified_claims(web_grant.tokens["id_token"])["sub"]
    assert response.json().get("sub") == id_token_subject, (
        f"{endpoints.userinfo}: subject differs from smoke-web's ID token subject"
    )
