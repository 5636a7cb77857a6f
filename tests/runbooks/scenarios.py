"""Incidents staged on the local stack before a runbook runs: a locked-out user, a leaked token, a drifted realm.

Each scenario uses throwaway users and clients in the realm (never the smoke-test identities other
tests rely on), removes them afterwards, and returns the variables the runbook asks the engineer to
set (`USERNAME`, `CLIENT_ID`, …) plus the secret values its output must never contain.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from keycloak import KeycloakAdmin

from idpkit.keycloak_admin import connect
from idpkit.local.layout import LocalLayout
from idpkit.local.pki import issue_client_certificate
from idpkit.outputs import LOCAL_STACK, StackOutputs, load_admin_credentials
from idpkit.realm import loader
from idpkit.realm.kinds.users import totp_credential_data
from idpkit.realm.secrets import new_totp_secret
from idpkit.smoke import oauth
from idpkit.smoke.otp import OneTimeCodes, code_ledger

REDIRECT_URI = "https://127.0.0.1:8765/callback"


@dataclass
class Staged:
    """What a runbook test gets from its scenario."""

    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stage:
    outputs: StackOutputs
    admin: KeycloakAdmin
    """Admin connection switched to the realm of the outputs."""
    scratch: Path
    """The runbook's $RUNBOOK_TMP."""


Scenario = Callable[[Stage], AbstractContextManager[Staged]]


def admin_on_realm(outputs: StackOutputs) -> KeycloakAdmin:
    admin = KeycloakAdmin(connection=connect(outputs, load_admin_credentials(outputs)))
    admin.change_current_realm(outputs.realm)
    return admin


def _name(kind: str) -> str:
    return f"runbook-{kind}-{secrets.token_hex(3)}"


@contextmanager
def _public_client(stage: Stage) -> Iterator[str]:
    client_id = _name("spa")
    uuid = stage.admin.create_client(
        {
            "clientId": client_id,
            "publicClient": True,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False,
            "redirectUris": [REDIRECT_URI],
            "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": REDIRECT_URI},
        }
    )
    try:
        yield client_id
    finally:
        stage.admin.delete_client(uuid)


@contextmanager
def _user(stage: Stage) -> Iterator[tuple[str, str, OneTimeCodes]]:
    """A person with a password and, as the realm demands of everyone, a TOTP second factor."""
    username, password = _name("user"), secrets.token_urlsafe(24)
    settings = loader.load(LOCAL_STACK).document.realm
    totp_secret = new_totp_secret()
    user_id = stage.admin.create_user(
        {
            "username": username,
            "enabled": True,
            "email": f"{username}@example.invalid",
            "emailVerified": True,
            "firstName": "Runbook",
            "lastName": "Drill",
            "credentials": [
                {"type": "password", "value": password, "temporary": False},
                {"type": "otp", "secretData": json.dumps({"value": totp_secret}),
                 "credentialData": totp_credential_data(settings)},
            ],
        }
    )  # fmt: skip
    assert settings is not None, "realm-config: no realm settings"
    try:
        yield username, password, OneTimeCodes.for_realm(totp_secret, code_ledger(LOCAL_STACK), settings)
    finally:
        stage.admin.delete_user(user_id)


def _endpoints(stage: Stage) -> oauth.Endpoints:
    discovery = requests.get(
        f"{stage.outputs.issuer}/.well-known/openid-configuration", verify=stage.outputs.ca_bundle or True, timeout=30
    )
    return oauth.Endpoints.from_discovery(discovery.json())


def _login(stage: Stage, client_id: str, username: str, password: str) -> oauth.AuthorizationResponse:
    """A login through the browser form with `password` (a wrong one ends the login there, one failure counted)."""
    client = oauth.Client.public(client_id, REDIRECT_URI)
    params = oauth.authorization_params(client_id, REDIRECT_URI, "openid", oauth.Pkce.generate())
    agent = oauth.UserAgent(stage.outputs.ca_bundle or True, username, password)
    return agent.authorize(_endpoints(stage), client, params)


def _tokens(stage: Stage, client: oauth.Client, username: str, password: str, codes: OneTimeCodes) -> dict[str, str]:
    """A complete login (password and TOTP) and the code exchanged for tokens (DPoP-bound: the client is public)."""
    agent = oauth.UserAgent(stage.outputs.ca_bundle or True, username, password, codes)
    grant = oauth.sign_in(agent, _endpoints(stage), client, "openid")
    assert grant.response.status_code == 200, f"{client.client_id}: code exchange failed: {grant.response.text}"
    return grant.tokens


@contextmanager
def locked_out_user(stage: Stage) -> Iterator[Staged]:
    with _public_client(stage) as client_id, _user(stage) as (username, password, _codes):
        failures = int(stage.admin.get_realm(stage.outputs.realm)["failureFactor"])
        for _ in range(failures):
            _login(stage, client_id, username, secrets.token_urlsafe(16))
        yield Staged({"USERNAME": username}, [password])


@contextmanager
def leaked_refresh_token(stage: Stage) -> Iterator[Staged]:
    """The worst case of a public client's leak: its DPoP-bound refresh token copied with the key it is bound to."""
    with _public_client(stage) as client_id, _user(stage) as (username, password, codes):
        client = oauth.Client.public(client_id, REDIRECT_URI)
        assert client.dpop is not None
        tokens = _tokens(stage, client, username, password, codes)
        key_pem = client.dpop.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        leaked, leaked_key = stage.scratch / "leaked-token", stage.scratch / "leaked-dpop-key.pem"
        for path, content in ((leaked, tokens["refresh_token"]), (leaked_key, key_pem)):
            path.touch(mode=0o600)
            path.write_text(content)
        yield Staged(
            {"LEAKED_TOKEN_FILE": str(leaked), "LEAKED_DPOP_KEY_FILE": str(leaked_key)},
            [password, tokens["refresh_token"], tokens["access_token"], key_pem],
        )


@contextmanager
def person_who_lost_their_authenticator(stage: Stage) -> Iterator[Staged]:
    """A person with TOTP enrolled and a session open (on the lost phone, as far as anyone knows)."""
    with _public_client(stage) as client_id, _user(stage) as (username, password, codes):
        tokens = _tokens(stage, oauth.Client.public(client_id, REDIRECT_URI), username, password, codes)
        yield Staged({"USERNAME": username}, [password, tokens["refresh_token"], tokens["access_token"]])


@contextmanager
def user_with_failed_login(stage: Stage) -> Iterator[Staged]:
    with _public_client(stage) as client_id, _user(stage) as (username, password, _codes):
        _login(stage, client_id, username, secrets.token_urlsafe(16))
        yield Staged({"USERNAME": username}, [password])


def _public_jwks(key: rsa.RSAPrivateKey, kid: str) -> str:
    public = json.loads(jwt.get_algorithm_by_name("PS256").to_jwk(key.public_key()))
    return json.dumps({"keys": [{**public, "kid": kid, "alg": "PS256", "use": "sig"}]})


@contextmanager
def leaked_client_key(stage: Stage) -> Iterator[Staged]:
    client_id, leaked_kid = _name("backend"), secrets.token_hex(8)
    leaked_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    uuid = stage.admin.create_client(
        {
            "clientId": client_id,
            "publicClient": False,
            "clientAuthenticatorType": "client-jwt",
            "standardFlowEnabled": False,
            "serviceAccountsEnabled": True,
            "attributes": {
                "token.endpoint.auth.signing.alg": "PS256",
                "use.jwks.url": "false",
                "use.jwks.string": "true",
                "jwks.string": _public_jwks(leaked_key, leaked_kid),
            },
        }
    )
    new_jwks = stage.scratch / "new-jwks.json"
    new_jwks.write_text(_public_jwks(rsa.generate_private_key(public_exponent=65537, key_size=2048), "replacement"))
    try:
        yield Staged({"CLIENT_ID": client_id, "LEAKED_KID": leaked_kid, "NEW_JWKS_FILE": str(new_jwks)})
    finally:
        stage.admin.delete_client(uuid)


@contextmanager
def mtls_client(stage: Stage) -> Iterator[Staged]:
    """A client-x509 client pinned to the DN `idpkit certs issue` gives its certificates on the local stack."""
    client_id = _name("m2m")
    pki = LocalLayout.for_stack().pki
    probe, _key = issue_client_certificate(pki, client_id, stage.scratch / "probe")
    subject_dn = x509.load_pem_x509_certificate(probe.read_bytes()).subject.rfc4514_string()
    ca_dn = x509.load_pem_x509_certificate(pki.client_ca.read_bytes()).subject.rfc4514_string()
    uuid = stage.admin.create_client(
        {
            "clientId": client_id,
            "publicClient": False,
            "clientAuthenticatorType": "client-x509",
            "standardFlowEnabled": False,
            "serviceAccountsEnabled": True,
            "attributes": {
                "x509.subjectdn": subject_dn,
                "x509.casubjectdn": ca_dn,
                "x509.allow.regex.pattern.comparison": "false",
                "tls.client.certificate.bound.access.tokens": "true",
            },
        }
    )
    try:
        yield Staged({"CLIENT_ID": client_id})
    finally:
        stage.admin.delete_client(uuid)


@contextmanager
def compromised_certificate(stage: Stage) -> Iterator[Staged]:
    certificate, _key = issue_client_certificate(LocalLayout.for_stack().pki, _name("m2m"), stage.scratch / "partner")
    yield Staged({"CERT": str(certificate)})


@contextmanager
def emergency_ticket(_stage: Stage) -> Iterator[Staged]:
    yield Staged({"REASON": "RUNBOOK-DRILL"})


@contextmanager
def drifted_realm(stage: Stage) -> Iterator[Staged]:
    """Someone lengthened access tokens to an hour in the admin console."""
    stage.admin.update_realm(stage.outputs.realm, {"accessTokenLifespan": 3600})
    try:
        yield Staged()
    finally:  # the runbook reconciles; this only matters when it failed half-way
        subprocess.run([sys.executable, "-m", "idpkit", "realm", "apply", "--stack", "local"], capture_output=True,
                       check=False, timeout=300)  # fmt: skip


SCENARIOS: dict[str, Scenario] = {
    "audit-review.md": user_with_failed_login,
    "break-glass-admin-access.md": emergency_ticket,
    "brute-force-lockout.md": locked_out_user,
    "leaked-client-credentials.md": leaked_client_key,
    "leaked-tokens.md": leaked_refresh_token,
    "lost-authenticator.md": person_who_lost_their_authenticator,
    "mtls-issue-client-certificate.md": mtls_client,
    "mtls-revoke-certificate.md": compromised_certificate,
    "realm-drift.md": drifted_realm,
}
