"""Fixtures of the smoke suite: everything comes from the stack outputs contract, so the same suite
runs against the local stack and a deployed AWS environment (`idpkit smoke --stack NAME`).

Non-production stacks carry the smoke-test identities of realm-config/fragments/smoke.yaml; their
generated credentials are read from the stack's 0600 smoke-credentials file and registered for
redaction. Production has no test identities: see smoke-tests/README.md for its least-privilege path.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest
import requests
from jwt import PyJWKClient

from idpkit.outputs import StackOutputs, load_outputs
from idpkit.realm import loader
from idpkit.realm.model import RealmSettings
from idpkit.realm.secrets import load_smoke_credentials
from idpkit.smoke.redaction import register_secret

# Stacks are named after their realm-config environment; the local stack uses the `local` overlay.
PRODUCTION = "prod"


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
def realm_settings(stack_name: str) -> RealmSettings:
    """The realm settings codified for this stack's environment: what the live realm must enforce."""
    settings = loader.load(stack_name).document.realm
    assert settings is not None, f"realm-config for {stack_name}: no realm settings"
    return settings


@pytest.fixture(scope="session")
def smoke_credentials(stack_name: str) -> dict[str, Any]:
    if stack_name == PRODUCTION:
        pytest.skip("production carries no smoke-test identities (smoke-tests/README.md)")
    credentials = load_smoke_credentials(stack_name)
    for user in credentials.get("users", {}).values():
        register_secret(user.get("password"))
    return credentials
