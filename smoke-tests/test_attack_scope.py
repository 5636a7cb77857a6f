"""Scope escalation (RFC 9700 §2.3, SMART scopes): a scope the client may not have is never granted."""

from __future__ import annotations

import pytest

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")
# Scopes each client is not registered for (realm-config/fragments/smoke.yaml).
NOT_ALLOWED = {
    "smoke-spa": ["patient/MedicationRequest.rs", "patient/Condition.rs", "system/*.rs"],
    "smoke-web": ["patient/Condition.rs", "system/*.rs", "offline_access"],
}
CASES = [(client_id, scope) for client_id, scopes in NOT_ALLOWED.items() for scope in scopes]


@check(
    "SMOKE-SCOPE-001",
    "A scope the client is not registered for is refused, never granted",
    requirements=("RFC9700-2.3", "SMART-2.2-SCOPES", "HIPAA-164.312(a)(1)"),
    risk="Granting unregistered scopes lets any client reach PHI categories it was never approved for.",
    remediation="fullScopeAllowed false; list only approved default/optional client scopes per client.",
    claims=("clients[*].optionalClientScopes", "clients[*].defaultClientScopes"),
)
@pytest.mark.parametrize(("client_id", "scope"), CASES)
def test_unregistered_scope_is_not_granted(
    client_id: str,
    scope: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    params = oauth.authorization_params(
        client_id, clients[client_id].redirect_uri or "", f"openid {scope}", oauth.Pkce.generate()
    )
    result = clinician_browser.authorize(endpoints, clients[client_id], params)
    assert oauth.refused_with(result, oauth.SCOPE_REFUSALS), (
        f"{endpoints.authorization}: {client_id} asked for unregistered {scope!r} and got error {result.error!r}, "
        f"expected {sorted(oauth.SCOPE_REFUSALS)} (or {oauth.PUSHED_REFUSAL} when pushed)"
    )
    assert result.code is None, f"{endpoints.authorization}: {client_id} got a code for unregistered {scope!r}"
