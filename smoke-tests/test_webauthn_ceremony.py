"""The WebAuthn ceremonies the realm asks of a person's authenticator (W3C WebAuthn Level 2, §5.4 and §5.5),
observed in real Chromium as the login pages hand them to the authenticator: the relying party the passkey is
scoped to, and the algorithms, attestation, attachment, discoverable credential and user verification the realm's
WebAuthn policy codifies.

One throwaway person registers a passkey at the step-up a PHI-writing scope demands and logs in with it once;
every field of `CEREMONY_FIELDS` is one case over those two ceremonies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from idpkit.keycloak_admin import AdminApi
from idpkit.realm.loader import LoadedConfig
from idpkit.smoke import browser, codified, oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.throwaway import SecondFactor, Throwaway

COSE_ALGORITHMS = {"ES256": -7, "ES384": -35, "ES512": -36, "RS256": -257, "RS384": -258, "RS512": -259,
                   "Ed25519": -8}  # fmt: skip
"""The COSE identifiers (IANA registry) of the algorithm names Keycloak's WebAuthn policy takes."""
NOT_SPECIFIED = "not specified"
"""Keycloak's policy value for "leave it to the browser": the page sends no such option."""
ABSENT = "(not sent)"


@dataclass(frozen=True)
class CeremonyField:
    """One option of a ceremony and the policy setting that decides it."""

    path: str
    ceremony: str
    """`create` (registration) or `get` (login)."""
    option: tuple[str, ...]
    """Keys into the options the page passes to the authenticator."""
    sent: Callable[[Any, str], Any]
    """What the page must send, from the codified value and the issuer's host (`ABSENT`: nothing)."""

    @property
    def case_id(self) -> str:
        return f"{self.path} -> {self.ceremony}.{'.'.join(self.option)}"


def _unless_unspecified(value: Any, _host: str) -> Any:
    return ABSENT if value == NOT_SPECIFIED else value


def _relying_party(value: Any, host: str) -> Any:
    return value or host  # unset: Keycloak names the host the page is served from


CEREMONY_FIELDS = (
    CeremonyField("realm.webAuthnPolicyRpId", "create", ("rp", "id"), _relying_party),
    CeremonyField("realm.webAuthnPolicyRpId", "get", ("rpId",), _relying_party),
    CeremonyField("realm.webAuthnPolicyRpEntityName", "create", ("rp", "name"), lambda value, _host: value),
    CeremonyField(
        "realm.webAuthnPolicySignatureAlgorithms",
        "create",
        ("pubKeyCredParams",),
        lambda value, _host: [{"type": "public-key", "alg": COSE_ALGORITHMS[name]} for name in value],
    ),
    CeremonyField(
        "realm.webAuthnPolicyAttestationConveyancePreference", "create", ("attestation",), _unless_unspecified
    ),
    CeremonyField(
        "realm.webAuthnPolicyAuthenticatorAttachment",
        "create",
        ("authenticatorSelection", "authenticatorAttachment"),
        _unless_unspecified,
    ),
    CeremonyField(
        "realm.webAuthnPolicyRequireResidentKey",
        "create",
        ("authenticatorSelection", "residentKey"),
        lambda value, _host: {"Yes": "required", "No": "discouraged"}.get(value, ABSENT),
    ),
    CeremonyField(
        "realm.webAuthnPolicyUserVerificationRequirement",
        "create",
        ("authenticatorSelection", "userVerification"),
        _unless_unspecified,
    ),
    CeremonyField("realm.webAuthnPolicyUserVerificationRequirement", "get", ("userVerification",), _unless_unspecified),
)


def _option(public_key: dict[str, Any], keys: tuple[str, ...]) -> Any:
    found: Any = public_key
    for key in keys:
        if not isinstance(found, dict) or key not in found:
            return ABSENT
        found = found[key]
    return found


@pytest.fixture(scope="module")
def ceremonies(
    realm_admin: AdminApi, _swept: None, second_factor: SecondFactor, endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client], realm_config: LoadedConfig, tls_verify: str | bool,
) -> Iterator[dict[str, dict[str, Any]]]:  # fmt: skip
    """The first `create` and the first `get` the pages asked the authenticator for: a passkey registered at the
    step-up, then a login with it. A ceremony the browser refused is recorded all the same."""
    scope, roles, client_id = codified.step_up_target(realm_config, clients)
    client = clients[client_id]
    assert client.redirect_uri is not None, f"realm-config: {client_id} has no redirect URI"
    created = Throwaway(realm_admin, second_factor)
    try:
        user = created.user("ceremony", realm_roles=roles)
        assert user.codes is not None
        with browser.Browser.launched(endpoints.issuer, client.redirect_uri) as chromium:
            for _login in ("registration", "login"):
                chromium.send("Network.clearBrowserCookies")
                params = oauth.authorization_params(client_id, client.redirect_uri, f"openid {scope}",
                                                    oauth.Pkce.generate())  # fmt: skip
                url = oauth.pushed_authorization_url(endpoints, client, params, verify=tls_verify)
                browser.log_in(chromium, url, user.username, user.password, user.codes)
            found: dict[str, dict[str, Any]] = {}
            for ceremony in chromium.ceremonies:
                found.setdefault(ceremony.kind, ceremony.public_key)
        yield found
    finally:
        created.cleanup()


@check(
    "SMOKE-MFA-011",
    "The realm's WebAuthn ceremonies ask the authenticator for exactly what the WebAuthn policy codifies: passkeys "
    "scoped to the issuer's host, the codified algorithms, no attestation, user verification",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "NIST-800-63B-5.1.8.1"),
    risk="A relying party id naming a parent domain lets every host under it use the person's passkeys; other "
    "options changed by hand alter which authenticators register and what they prove, unseen by any login.",
    remediation="Re-apply realm-config (`idpkit realm apply`): the realm's webAuthnPolicy* settings are codified in "
    "realm-config/base/authentication.yaml, webAuthnPolicyRpId is held empty (idpkit/realm/secure_defaults.py).",
    claims=tuple(sorted({field.path for field in CEREMONY_FIELDS})),
)
@pytest.mark.parametrize("field", [pytest.param(f, id=f.case_id, marks=claims(f.path)) for f in CEREMONY_FIELDS])
def test_webauthn_ceremony_asks_for_the_codified_option(
    field: CeremonyField, ceremonies: dict[str, dict[str, Any]], realm_config: LoadedConfig,
    endpoints: oauth.Endpoints,
) -> None:  # fmt: skip
    host = urlsplit(endpoints.issuer).hostname or ""
    assert field.ceremony in ceremonies, (
        f"{endpoints.authorization}: a person stepping up to the phishing-resistant level was never asked for a "
        f"WebAuthn {field.ceremony} ceremony (asked: {sorted(ceremonies)})"
    )
    sent = _option(ceremonies[field.ceremony], field.option)
    codified_value = codified.expected(realm_config, field.path)
    assert sent == field.sent(codified_value, host), (
        f"{endpoints.issuer}: the WebAuthn {field.ceremony} ceremony sends {'.'.join(field.option)} = {sent!r}; "
        f"{field.path} is codified as {codified_value!r}, which sends {field.sent(codified_value, host)!r}"
    )
