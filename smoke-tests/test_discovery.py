"""Discovery and JWKS: what every client and resource server trusts first."""

from __future__ import annotations

from typing import Any

import requests

from idpkit.compliance import Severity
from idpkit.outputs import StackOutputs
from idpkit.smoke.checks import check

WEAK_ALGORITHMS = {"none", "HS256", "HS384", "HS512"}


@check("SMOKE-DISCOVERY-001", "Discovery names the stack's issuer and serves over verified HTTPS",
       requirements=("RFC9700-2.6", "HIPAA-164.312(e)(1)"), severity=Severity.HIGH,
       risk="Clients configured from a wrong or unverified issuer accept tokens from elsewhere (mix-up).",
       remediation="Set Keycloak's hostname to the public URL; serve discovery only over TLS.")  # fmt: skip
def test_discovery_names_the_stack_issuer(discovery: dict[str, Any], outputs: StackOutputs) -> None:
    assert discovery["issuer"] == outputs.issuer, (
        f"discovery: issuer {discovery['issuer']!r} is not the stack's {outputs.issuer!r}"
    )


@check("SMOKE-DISCOVERY-003", "Tokens and ID tokens are signed with an asymmetric algorithm",
       requirements=("FAPI2-SP-5.4", "HIPAA-164.312(c)(1)"),
       risk="HS*/none signatures let anyone who knows (or guesses) the secret forge tokens.",
       remediation="Set defaultSignatureAlgorithm to PS256 or ES256; keep only asymmetric active keys.")  # fmt: skip
def test_jwks_publishes_only_asymmetric_signing_keys(discovery: dict[str, Any], http: requests.Session) -> None:
    keys = http.get(discovery["jwks_uri"], timeout=15).json()["keys"]
    signing = [key for key in keys if key.get("use") == "sig"]
    assert signing, f"{discovery['jwks_uri']}: no signing key published"
    weak = [key.get("kid") for key in signing if key.get("alg") in WEAK_ALGORITHMS or key.get("kty") == "oct"]
    assert not weak, f"{discovery['jwks_uri']}: symmetric or unsigned keys published: {weak}"
