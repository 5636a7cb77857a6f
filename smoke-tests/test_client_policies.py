"""Realm-wide client policies bind clients nobody codified: every executor and each of its options.

The cases come from realm-config (every executor of a profile an enabled policy applies, and every
option of it), so a new executor or option is a new case, failing until it has a probe here. Each
probe registers a throwaway client through the admin API, as an administrator would in the admin
console, with exactly the weakness the executor exists to stop, then observes Keycloak: the
registration refused, or the weak setting neutralized and the request it would allow refused.
Options are held to their codified value: a case fails when Keycloak behaves as under the other one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from idpkit.realm import loader
from idpkit.realm.loader import child_path, item_path
from idpkit.realm.rules.clients import DPOP_BOUND, PAR_REQUIRED
from idpkit.smoke import forgery, oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check, claimed, claims
from idpkit.smoke.config_reads import UNOBSERVABLE
from idpkit.smoke.throwaway import Throwaway

# Documentation addresses (RFC 5737): never loopback, never looked up in DNS.
APP = "https://192.0.2.10"
REDIRECT = f"{APP}/callback"
LOOPBACK_V4, LOOPBACK_V6 = "https://127.0.0.1:9999/callback", "https://[::1]:9999/callback"
PKCE_S256 = {"pkce.code.challenge.method": "S256"}
RUNTIME_KID = "runtime"
# Every flag explicit: Keycloak answers 500 to a registration that leaves one of them out under
# reject-implicit-grant without auto-configure.
FLOWS_OFF = {"standardFlowEnabled": False, "implicitFlowEnabled": False, "directAccessGrantsEnabled": False,
             "serviceAccountsEnabled": False}  # fmt: skip
AUTHENTICATORS = ("client-secret", "client-secret-jwt", "client-jwt", "client-x509")
POLICY_FIELDS = ("enabled", "conditions", "profiles")


@dataclass(frozen=True)
class Case:
    profile: str
    executor: str
    option: str | None = None
    value: Any = None
    """The option's codified value."""
    policies: tuple[str, ...] = ()
    """The enabled policies that apply the profile (their settings are what brings the executor to bear)."""

    @property
    def setting(self) -> str:
        path = item_path(item_path("clientProfiles", self.profile) + ".executors", self.executor)
        return child_path(f"{path}.configuration", self.option) if self.option else path

    @property
    def claimed(self) -> tuple[str, ...]:
        if self.option:
            return (self.setting,)
        policies = [item_path("clientPolicies", policy) for policy in self.policies]
        return (self.setting, *(f"{policy}.{field}" for policy in policies for field in POLICY_FIELDS))


def _cases(stack: str) -> list[Case]:
    """Executors of the profiles enabled policies apply, and each option but those no behaviour shows."""
    document = loader.load(stack).document
    applying: dict[str, list[str]] = {}
    for policy in document.client_policies or []:
        for name in policy.profiles if policy.enabled else []:
            applying.setdefault(name, []).append(policy.name)
    found: list[Case] = []
    for profile in document.client_profiles or []:
        if profile.name not in applying:
            continue
        for executor in profile.executors:
            found.append(Case(profile.name, executor.executor, policies=tuple(applying[profile.name])))
            found += [
                Case(profile.name, executor.executor, option, value) for option, value in executor.configuration.items()
            ]
    return [case for case in found if not claimed(list(UNOBSERVABLE), case.setting)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    wanted_option = metafunc.function.__name__ == "test_executor_option_holds_for_a_runtime_client"
    cases = [c for c in _cases(metafunc.config.getoption("--stack")) if (c.option is not None) == wanted_option]
    metafunc.parametrize(
        "case",
        [
            pytest.param(c, id=f"{c.executor}{'/' + c.option if c.option else ''}", marks=claims(*c.claimed))
            for c in cases
        ],
    )


@dataclass(frozen=True)
class Probe:
    """What a probe needs: a place to register clients, and the protocol endpoints to try them on."""

    runtime: Throwaway
    endpoints: oauth.Endpoints
    http: requests.Session
    verify: str | bool
    certificate: Callable[[], ClientCertificate]
    """smoke-mtls's certificate, asked for only by the probes that present one."""


@pytest.fixture
def probe(
    runtime: Throwaway,
    endpoints: oauth.Endpoints,
    http: requests.Session,
    tls_verify: str | bool,
    request: pytest.FixtureRequest,
) -> Probe:
    return Probe(runtime, endpoints, http, tls_verify, lambda: request.getfixturevalue("client_certificate"))


def _public(**extra: Any) -> dict[str, Any]:
    return {**FLOWS_OFF, "publicClient": True, "standardFlowEnabled": True, "redirectUris": [REDIRECT],
            "attributes": dict(PKCE_S256)} | extra  # fmt: skip


@dataclass(frozen=True)
class RuntimeKey:
    """A private_key_jwt key for a client registered at run time (its id is known only once registered)."""

    pem: str

    def of(self, client_id: str) -> oauth.ClientKey:
        return oauth.ClientKey(client_id, self.pem, RUNTIME_KID)


def _runtime_key() -> tuple[RuntimeKey, dict[str, str]]:
    """A fresh signing key, and the client attributes that register its public half (private_key_jwt, PS256)."""
    key = forgery.rogue_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": RUNTIME_KID, "alg": "PS256", "use": "sig"}
    attributes = {"use.jwks.string": "true", "use.jwks.url": "false", "jwks.string": json.dumps({"keys": [jwk]}),
                  "token.endpoint.auth.signing.alg": "PS256"}  # fmt: skip
    return RuntimeKey(forgery.private_pem(key)), attributes


def _authorization_error(probe: Probe, client: oauth.Client, *, pkce: bool = True, **params: str) -> str | None:
    """The error a pushed authorization request gets before any login, when pushed or when opened (None: the login
    page was served)."""
    client_id = client.client_id
    query = oauth.authorization_params(client_id, REDIRECT, "openid", oauth.Pkce.generate() if pkce else None) | params
    push = oauth.push(probe.endpoints, client, query, verify=probe.verify)
    if push.request_uri is None:
        return push.error
    response = probe.http.get(
        probe.endpoints.authorization, params=push.authorization_params, allow_redirects=False, timeout=15
    )
    if response.is_redirect:
        return oauth.AuthorizationResponse(response.status_code, response.headers["Location"], "").error
    assert response.status_code == 200 and "kc-form-login" in response.text, (
        f"{probe.endpoints.authorization}: {client_id} answered {response.status_code}, neither an error "
        "redirect nor the login page"
    )
    return None


def _expect_registration(probe: Probe, case: Case, purpose: str, accepted: bool, **representation: Any) -> None:
    registration = probe.runtime.register(purpose, representation)
    verdict = "accepted" if accepted else "refused"
    assert registration.accepted == accepted, (
        f"{case.setting} = {case.value!r}: a runtime client ({purpose}) should be {verdict}, "
        f"Keycloak {'accepted it' if registration.accepted else f'refused it: {registration.refusal}'}"
    )


# --- executors: the weakness each one stops, on a client registered at run time ---------------------------


def _pkce_enforcer(probe: Probe, case: Case) -> None:
    registration = probe.runtime.register("no-pkce", _public(attributes={}))
    if not registration.accepted:
        return  # refused outright (auto-configure off): nothing weak was registered
    error = _authorization_error(probe, oauth.Client.public(registration.client_id, REDIRECT), pkce=False)
    assert error == "invalid_request", (
        f"{case.setting}: {registration.client_id}, registered without PKCE, reached the login page without a "
        f"code_challenge (error {error!r}); the executor must refuse it"
    )


def _reject_implicit_grant(probe: Probe, case: Case) -> None:
    # Confidential: the public-client DPoP policy would refuse the front-channel token on its own. Its key
    # authenticates the push, so that only the response type is left to refuse.
    key, jwks = _runtime_key()
    registration = probe.runtime.register("implicit", _public(
        implicitFlowEnabled=True, publicClient=False, clientAuthenticatorType="client-jwt",
        attributes={**PKCE_S256, **jwks},
    ))  # fmt: skip
    if not registration.accepted:
        return
    client = oauth.Client(registration.client_id, REDIRECT, key.of(registration.client_id))
    error = _authorization_error(probe, client, response_type="token")
    assert error in oauth.RESPONSE_TYPE_REFUSALS | {oauth.PUSHED_REFUSAL}, (
        f"{case.setting}: {registration.client_id}, registered with the implicit flow, was offered "
        f"response_type=token (error {error!r}); the executor must refuse it"
    )


def _reject_ropc_grant(probe: Probe, case: Case) -> None:
    registration = probe.runtime.register("ropc", _public(directAccessGrantsEnabled=True))
    if not registration.accepted:
        return
    # No second factor: the direct grant flow would let this password alone in; and a DPoP proof, which the
    # public-client policy demands: so only the executor refuses.
    user = probe.runtime.user("ropc", second_factor=False)
    response = oauth.token_request(probe.endpoints, oauth.Client.public(registration.client_id), {
        "grant_type": "password", "username": user.username, "password": user.password, "scope": "openid",
    }, verify=probe.verify)  # fmt: skip
    assert oauth.issued_tokens(response) == set() and response.status_code == 400, (
        f"{case.setting}: {registration.client_id}, registered with direct access grants, obtained tokens with a "
        f"user's password ({response.status_code}); the executor must refuse the password grant"
    )


def _secure_redirect_uris_enforcer(probe: Probe, case: Case) -> None:
    registration = probe.runtime.register("wildcard-redirect", _public(redirectUris=[f"http://{APP[8:]}/*"]))
    assert not registration.accepted, (
        f"{case.setting}: a runtime client registered an http wildcard redirect URI; the executor must refuse it"
    )


def _secure_client_authenticator(probe: Probe, case: Case) -> None:
    registration = probe.runtime.register(
        "client-secret", {**FLOWS_OFF, "publicClient": False, "serviceAccountsEnabled": True,
                          "clientAuthenticatorType": "client-secret"},
    )  # fmt: skip
    assert not registration.accepted, (
        f"{case.setting}: a runtime client registered client_secret authentication; the executor must refuse it"
    )


def _holder_of_key_enforcer(probe: Probe, case: Case) -> None:
    """A client-credentials request without a certificate, from a client registered with unbound tokens."""
    key, jwks = _runtime_key()
    registration = probe.runtime.register("unbound-machine", {
        **FLOWS_OFF, "publicClient": False, "serviceAccountsEnabled": True, "clientAuthenticatorType": "client-jwt",
        "attributes": {**jwks, "tls.client.certificate.bound.access.tokens": "false"},
    })  # fmt: skip
    assert registration.accepted, f"control: the runtime machine client was refused ({registration.refusal})"
    client = oauth.Client(registration.client_id, key=key.of(registration.client_id))

    def request(url: str, cert: tuple[str, str] | None) -> requests.Response:
        data = {"grant_type": "client_credentials"} | client.authentication(probe.endpoints.issuer)
        return oauth.post_form(url, data, verify=probe.verify, cert=cert)

    control = request(probe.endpoints.mtls_token, probe.certificate().requests_cert)
    assert control.status_code == 200, f"control: {registration.client_id} refused with a certificate"
    bare = request(probe.endpoints.token, None)
    assert oauth.issued_tokens(bare) == set() and oauth.oauth_error(bare) == "invalid_request", (
        f"{case.setting}: {registration.client_id}, registered with unbound tokens, obtained a client-credentials "
        f"token without a client certificate ({bare.status_code}); the executor must refuse it"
    )


def _dpop_bind_enforcer(probe: Probe, case: Case) -> None:
    """A public client registered with unbound tokens, playing a client that knows no DPoP: its request binds the
    code to no key and its redemption sends no proof. The executor refuses one or the other (the request while
    enforce-authorization-code-binding-to-dpop holds); tokens must never come."""
    registration = probe.runtime.register("unbound-public", _public(attributes={**PKCE_S256, DPOP_BOUND: "false"}))
    if not registration.accepted:
        return  # refused outright (auto-configure off): nothing unbound was registered
    keyless = oauth.Client(registration.client_id, REDIRECT)
    assert _authorization_error(probe, oauth.Client.public(registration.client_id, REDIRECT)) is None, (
        f"control: {registration.client_id}'s pushed request binding the code to a DPoP key was refused"
    )
    user = probe.runtime.user("dpop")
    agent = oauth.UserAgent(probe.verify, user.username, user.password, user.codes)
    pkce = oauth.Pkce.generate()
    authorization = agent.authorize(
        probe.endpoints, keyless, oauth.authorization_params(keyless.client_id, REDIRECT, "openid", pkce)
    )
    if authorization.code is None:
        return  # refused before any login: the executor demands a code bound to a key
    data = {"grant_type": "authorization_code", "code": authorization.code, "redirect_uri": REDIRECT,
            "code_verifier": pkce.verifier, "client_id": keyless.client_id}  # fmt: skip
    response = oauth.post_form(probe.endpoints.token, data, verify=probe.verify)
    assert oauth.issued_tokens(response) == set() and response.status_code == 400, (
        f"{case.setting}: {registration.client_id}, a public client registered with unbound tokens, redeemed a code "
        f"without a DPoP proof ({response.status_code}); the executor must bind every public client's tokens"
    )


def _secure_par_content(probe: Probe, case: Case) -> None:
    """A client registered at run time without PAR required still gets no login from an unpushed request."""
    registration = probe.runtime.register("unpushed", _public(attributes={**PKCE_S256, PAR_REQUIRED: "false"}))
    assert registration.accepted, f"control: the runtime public client was refused ({registration.refusal})"
    client = oauth.Client.public(registration.client_id, REDIRECT)
    assert _authorization_error(probe, client) is None, f"control: {client.client_id}'s pushed request was refused"
    assert client.dpop is not None  # the request binds the code to the client's key: only the push is missing
    query = oauth.authorization_params(client.client_id, REDIRECT, "openid", oauth.Pkce.generate()) | {
        "dpop_jkt": client.dpop.thumbprint
    }
    unpushed = probe.http.get(probe.endpoints.authorization, params=query, allow_redirects=False, timeout=15)
    assert unpushed.status_code == 400 and "kc-form-login" not in unpushed.text, (
        f"{case.setting}: {client.client_id}, registered without PAR required, was answered {unpushed.status_code} "
        f"{'with the login page' if 'kc-form-login' in unpushed.text else ''} to a request that was never pushed; "
        "the executor must refuse every unpushed authorization request"
    )


EXECUTORS: dict[str, Callable[[Probe, Case], None]] = {
    "pkce-enforcer": _pkce_enforcer,
    "reject-implicit-grant": _reject_implicit_grant,
    "reject-ropc-grant": _reject_ropc_grant,
    "secure-redirect-uris-enforcer": _secure_redirect_uris_enforcer,
    "secure-client-authenticator": _secure_client_authenticator,
    "holder-of-key-enforcer": _holder_of_key_enforcer,
    "dpop-bind-enforcer": _dpop_bind_enforcer,
    "secure-par-content": _secure_par_content,
}


# --- options: a registration whose fate the option decides ------------------------------------------------


def _auto_configure(flag: str, weak: dict[str, Any], corrected: object) -> Callable[[Probe, Case], None]:
    """Auto-configure on: a weak registration is accepted with `flag` corrected; off: refused."""

    def probe_option(probe: Probe, case: Case) -> None:
        registration = probe.runtime.register(f"auto-{flag}", _public(**weak))
        assert registration.accepted == bool(case.value), (
            f"{case.setting} = {case.value!r}: a runtime client registered with {weak} was "
            f"{'accepted' if registration.accepted else f'refused ({registration.refusal})'}"
        )
        if registration.accepted:
            stored = registration.stored or {}
            value = stored.get(flag, registration.attribute(flag))
            assert value == corrected, (
                f"{case.setting}: {registration.client_id} was stored with {flag} = {value!r}, not {corrected!r}"
            )

    return probe_option


def _redirect(uri: str) -> Callable[[Probe, Case], None]:
    def probe_option(probe: Probe, case: Case) -> None:
        _expect_registration(probe, case, "redirect", bool(case.value), **_public(redirectUris=[uri]))

    return probe_option


def _allowed_authenticators(probe: Probe, case: Case) -> None:
    for authenticator in AUTHENTICATORS:
        representation = {**FLOWS_OFF, "publicClient": False, "serviceAccountsEnabled": True,
                          "clientAuthenticatorType": authenticator}  # fmt: skip
        _expect_registration(probe, case, authenticator, authenticator in case.value, **representation)


def _default_authenticator(probe: Probe, case: Case) -> None:
    registration = probe.runtime.register("default-authenticator", {**FLOWS_OFF, "publicClient": False,
                                                                    "serviceAccountsEnabled": True})  # fmt: skip
    assert registration.accepted, (
        f"{case.setting} = {case.value!r}: a confidential runtime client naming no authenticator was refused "
        f"({registration.refusal})"
    )
    stored = (registration.stored or {}).get("clientAuthenticatorType")
    assert stored == case.value, f"{case.setting}: the runtime client was given {stored!r}, not {case.value!r}"


def _code_binding(probe: Probe, case: Case) -> None:
    """A runtime public client's pushed request that binds the code to no DPoP key (no `dpop_jkt`) gets no login
    while the option holds; the same request binding it does (control)."""
    registration = probe.runtime.register("unbound-code", _public())
    assert registration.accepted, f"control: the runtime public client was refused ({registration.refusal})"
    client = oauth.Client.public(registration.client_id, REDIRECT)
    assert _authorization_error(probe, client) is None, (
        f"control: {client.client_id}'s pushed request binding the code to its DPoP key was refused"
    )
    error = _authorization_error(probe, dataclasses.replace(client, dpop=None))
    assert (error is not None) == bool(case.value), (
        f"{case.setting} = {case.value!r}: {client.client_id}'s request without dpop_jkt was "
        f"{f'refused ({error})' if error else 'served the login page'}; a code must be bound to the key that "
        "redeems it"
    )


OPTIONS: dict[tuple[str, str], Callable[[Probe, Case], None]] = {
    ("pkce-enforcer", "auto-configure"): _auto_configure("pkce.code.challenge.method", {"attributes": {}}, "S256"),
    ("reject-implicit-grant", "auto-configure"): _auto_configure(
        "implicitFlowEnabled", {"implicitFlowEnabled": True}, corrected=False
    ),
    ("reject-ropc-grant", "auto-configure"): _auto_configure(
        "directAccessGrantsEnabled", {"directAccessGrantsEnabled": True}, corrected=False
    ),
    ("dpop-bind-enforcer", "auto-configure"): _auto_configure(
        DPOP_BOUND, {"attributes": {**PKCE_S256, DPOP_BOUND: "false"}}, corrected="true"
    ),
    ("dpop-bind-enforcer", "enforce-authorization-code-binding-to-dpop"): _code_binding,
    ("secure-redirect-uris-enforcer", "allow-ipv4-loopback-address"): _redirect(LOOPBACK_V4),
    ("secure-redirect-uris-enforcer", "allow-ipv6-loopback-address"): _redirect(LOOPBACK_V6),
    ("secure-redirect-uris-enforcer", "allow-private-use-uri-scheme"): _redirect("org.example.app:/callback"),
    ("secure-redirect-uris-enforcer", "allow-http-scheme"): _redirect(f"http://{APP[8:]}/callback"),
    ("secure-redirect-uris-enforcer", "allow-wildcard-context-path"): _redirect(f"{APP}/callback/*"),
    ("secure-redirect-uris-enforcer", "allow-open-redirect"): _redirect("*"),
    ("secure-client-authenticator", "allowed-client-authenticators"): _allowed_authenticators,
    ("secure-client-authenticator", "default-client-authenticator"): _default_authenticator,
}


@check(
    "SMOKE-POLICY-001",
    "Every realm-wide client-policy executor stops the weakness it exists for, on a client registered at run time",
    requirements=(
        "RFC9700-2.1.1",
        "RFC9700-2.1.2",
        "RFC9700-2.4",
        "RFC9700-2.1",
        "RFC9700-2.5",
        "RFC8705",
        "RFC9700-2.2.1",
    ),
    risk="A client an administrator adds later (console, API) escapes PKCE, grant and redirect restrictions, "
    "asymmetric authentication, certificate or DPoP binding, because only the codified clients were ever checked.",
    remediation="Keep each executor in a profile of an enabled client policy (realm-config/base/client-policies.yaml).",
    claims=("clientProfiles[*].executors[*]", "clientPolicies[*].*"),
)
def test_executor_refuses_a_weak_runtime_client(case: Case, probe: Probe) -> None:
    run = EXECUTORS.get(case.executor)
    assert run is not None, f"{case.setting}: no probe for executor {case.executor}; add one to {__name__}"
    run(probe, case)


@check(
    "SMOKE-POLICY-002",
    "Each executor option holds its codified value for a client registered at run time",
    requirements=("RFC9700-2.1", "RFC9700-2.1.1", "RFC9700-2.5", "RFC9700-4.2"),
    risk="An option quietly flipped (http or wildcard redirect URIs, client secrets allowed, auto-configure off) "
    "widens what every later client may register.",
    remediation="Restore the option's value in realm-config/base/client-policies.yaml and apply.",
    claims=("clientProfiles[*].executors[*].configuration.*",),
)
def test_executor_option_holds_for_a_runtime_client(case: Case, probe: Probe) -> None:
    run = OPTIONS.get((case.executor, case.option or ""))
    assert run is not None, f"{case.setting}: no probe for option {case.option}; add one to {__name__}"
    run(probe, case)
