"""Implicit and hybrid response types (RFC 9700 §2.1.2, FAPI 2.0): only `code` is served."""

from __future__ import annotations

import pytest

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")
CLIENTS = ["smoke-spa", "smoke-web"]


def _assert_refused(
    agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client, response_type: str
) -> None:
    """The authorization request with `response_type` is refused and nothing token-like comes back."""
    params = oauth.authorization_params(
        client.client_id, client.redirect_uri or "", "openid", oauth.Pkce.generate(), response_type=response_type
    )
    result = agent.authorize(endpoints, client, params)
    endpoint, client_id = endpoints.authorization, client.client_id
    assert oauth.refused_with(result, oauth.RESPONSE_TYPE_REFUSALS), (
        f"{endpoint}: {client_id} response_type={response_type!r}: expected a refusal "
        f"({sorted(oauth.RESPONSE_TYPE_REFUSALS)}, or {oauth.PUSHED_REFUSAL} when pushed), "
        f"got {result.error!r} ({result.status})"
    )
    leaked = oauth.TOKEN_PARAMETERS & set(result.params)
    assert not leaked, f"{endpoint}: {client_id} response_type={response_type!r} returned {sorted(leaked)}"


@check(
    "SMOKE-IMPLICIT-001",
    "Implicit response types (token, id_token) are refused",
    requirements=("RFC9700-2.1.2", "FAPI2-SP-5.2.2"),
    risk="Tokens in the front channel leak through history, Referer and injected scripts; no sender constraint.",
    remediation="implicitFlowEnabled false on every client; reject-implicit-grant client policy.",
    claims=("clients[*].implicitFlowEnabled",),
)
@pytest.mark.parametrize("client_id", CLIENTS)
@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token"])
def test_implicit_response_type_is_refused(
    response_type: str,
    client_id: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    _assert_refused(clinician_browser, endpoints, clients[client_id], response_type)


@check(
    "SMOKE-HYBRID-001",
    "Hybrid response types (code id_token, code token) are refused",
    requirements=("FAPI2-SP-5.2.2", "RFC9700-2.1.2"),
    risk="Hybrid responses put ID or access tokens in the front channel next to the code.",
    remediation="implicitFlowEnabled false (Keycloak gates hybrid with it); reject-implicit-grant client policy.",
    claims=("clients[*].implicitFlowEnabled",),
)
@pytest.mark.parametrize("client_id", CLIENTS)
@pytest.mark.parametrize("response_type", ["code id_token", "code token", "code id_token token"])
def test_hybrid_response_type_is_refused(
    response_type: str,
    client_id: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    _assert_refused(clinician_browser, endpoints, clients[client_id], response_type)
