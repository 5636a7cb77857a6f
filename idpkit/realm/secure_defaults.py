"""Declare or default: the value every security-relevant field holds when realm-config does not set it.

`realm plan`, `drift` and `apply` own the whole security-relevant surface of every object they
manage, not only the fields the files write down: a field in this catalogue that a managed object's
files leave out is held to `secure_default`, so a hand-made change to it (a per-client token
lifetime, `webOrigins: ["*"]`, token exchange switched on, a client-level protocol mapper…) is drift
that `apply` reverts. The files stay short: they declare what differs from these defaults, and a
declared value always wins (rules then judge it).

This module is the single owner of those facts. The engine reads it to plan; mutation testing reads
`weaker_value` to weaken one field at a time; tests weaken every entry by hand on the real Keycloak.
The defaults were read from Keycloak 26.7.3 (a bare client and realm created through the admin API);
where Keycloak's own default is weak, the secure value differs and `reason` says why.

Not held, on purpose: fields whose hand-made change cannot weaken anything and that Keycloak or the
kit's client policies rewrite on their own (`use.refresh.tokens`, `consentRequired` outside public
browser apps: consent switched on by hand only adds a question), and the passwordless WebAuthn policy (no
kit flow offers passwordless WebAuthn; the two-factor policy is declared in base/authentication.yaml).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from idpkit.realm.limits import MAX_ACCESS_TOKEN_SECONDS

Kind = Literal["realm", "client", "clientScope"]
AppliesTo = Literal["any", "confidential", "service-account"]
"""Which managed objects hold the default: every one, or (clients) only confidential ones, or only
clients with a service account (what Keycloak needs before the field can be switched on at all)."""

ATTRIBUTES_PREFIX = "attributes."
BROWSER_HEADERS_PREFIX = "browserSecurityHeaders."
HOSTILE_ORIGIN = "https://attacker.example"
HOSTILE_HOST = urlsplit(HOSTILE_ORIGIN).hostname


@dataclass(frozen=True)
class SecureDefault:
    """One field of one kind of object, held to `secure_default` unless realm-config declares it."""

    kind: Kind
    field: str
    """Keycloak's representation name; client attributes as `attributes.<name>`, nested realm
    mappings as `browserSecurityHeaders.<name>`."""
    secure_default: Any
    """The value held when the files do not declare the field; None: the attribute is absent."""
    weaker_value: Any
    """A realistic hand-made change, accepted by the admin API (with `guarded_by` lifted first)."""
    requirements: tuple[str, ...]
    """Requirement ids (`idpkit.compliance.REQUIREMENTS`) the secure value serves."""
    reason: str
    """What the weaker value would let happen, in a reviewer's words."""
    applies_to: AppliesTo = "any"
    unset: Any = None
    """What Keycloak assumes while the field is absent from the live object; equal to the default
    when absent, so an object Keycloak never wrote the field on is in sync."""
    weakens: bool = True
    """False where Keycloak refuses any weaker value (a per-client session lifetime above the
    realm's), so `weaker_value` only changes behaviour within the realm's bound: drift owns the
    field, but mutation testing has nothing weaker to observe."""
    guarded_by: tuple[str, ...] = ()
    """The client-policy executors that refuse or rewrite `weaker_value` while the realm's policies
    stand; mutation testing and the drift tests remove them from the kit's profiles first."""

    def applies(self, declared: dict[str, Any]) -> bool:
        """Whether an object declared as `declared` (Keycloak representation) holds this default."""
        if self.applies_to == "confidential":
            return not declared.get("publicClient")
        if self.applies_to == "service-account":
            return bool(declared.get("serviceAccountsEnabled"))
        return True

    @property
    def attribute(self) -> str | None:
        """The client attribute's name, for `attributes.<name>` fields."""
        return self.field.removeprefix(ATTRIBUTES_PREFIX) if self.field.startswith(ATTRIBUTES_PREFIX) else None

    @functools.cached_property
    def path(self) -> tuple[str, ...]:
        """Keys into the object's representation (`attributes.<name>` is one attribute, dots and all)."""
        if self.attribute is not None:
            return ("attributes", self.attribute)
        return tuple(self.field.split("."))


def _realm(field: str, secure: Any, weaker: Any, requirements: tuple[str, ...], reason: str) -> SecureDefault:
    return SecureDefault("realm", field, secure, weaker, requirements, reason)


_LOGOFF = ("HIPAA-164.312(a)(2)(iii)",)
_ACCESS = ("HIPAA-164.312(a)(1)",)
_AUTHN = ("HIPAA-164.312(d)",)
_REFRESH = ("RFC9700-4.14",)
_NO_REDIRECTS: list[str] = []
# Refuses a browser grant on a client without redirect URIs, as the kit's backends are.
_REDIRECTS = "secure-redirect-uris-enforcer"
_ROLE_MAPPER = {
    "name": "hand-made role",
    "protocol": "openid-connect",
    "protocolMapper": "oidc-hardcoded-role-mapper",
    "config": {"role": "phi-conditions"},
}

CATALOGUE: tuple[SecureDefault, ...] = (
    # --- realm ----------------------------------------------------------------------------------
    _realm("resetPasswordAllowed", False, True, _AUTHN,
           "A forgot-password link lets whoever reads the user's mailbox take over a PHI account; accounts "
           "are provisioned and reset by the identity team."),
    _realm("loginWithEmailAllowed", False, True, ("HIPAA-164.312(a)(2)(i)", *_AUTHN),
           "E-mail addresses are public and guessable; the provisioned user name is the one identifier "
           "that logs in (and that brute-force protection counts against)."),
    _realm("ssoSessionIdleTimeoutRememberMe", 0, 2592000, _LOGOFF,
           "A remember-me idle timeout above the SSO one keeps an unattended session open for days "
           "(0: the SSO idle timeout applies)."),
    _realm("ssoSessionMaxLifespanRememberMe", 0, 2592000, _LOGOFF,
           "A remember-me lifespan above the SSO one outlives the clinical shift (0: the SSO lifespan)."),
    _realm("clientOfflineSessionIdleTimeout", 0, 31536000, _REFRESH,
           "A per-client offline idle timeout above the realm's keeps offline tokens usable for a year."),
    _realm("clientOfflineSessionMaxLifespan", 0, 315360000, _REFRESH,
           "A per-client offline lifespan above the realm's outlives the offline session cap."),
    _realm("actionTokenGeneratedByUserLifespan", 300, 86400, _AUTHN,
           "Links users request (e-mail verification, credential reset) stay valid for a day."),
    _realm("actionTokenGeneratedByAdminLifespan", 43200, 2592000, _AUTHN,
           "Action links an administrator sends (set password, configure OTP) stay valid for a month."),
    _realm("accessTokenLifespanForImplicitFlow", MAX_ACCESS_TOKEN_SECONDS, 86400, ("RFC9700-2.3",),
           "Implicit-flow tokens (the grant is rejected by policy) would live longer than any other token."),
    _realm("accessCodeLifespanUserAction", 300, 86400, _AUTHN,
           "A required action (update password, verify e-mail) started on a shared workstation can be "
           "completed by the next person for a day."),
    _realm("maxDeltaTimeSeconds", 43200, 60, ("NIST-800-63B-5.1.1", *_AUTHN),
           "Failed logins are forgotten after a minute, so password guessing never reaches the lockout."),
    _realm("minimumQuickLoginWaitSeconds", 60, 1, ("NIST-800-63B-5.1.1",),
           "Scripted rapid guessing is held off for a second instead of a minute."),
    _realm("userManagedAccessAllowed", False, True, _ACCESS,
           "Users could share their resources with other accounts (UMA), outside the roles the realm grants."),
    _realm("otpPolicyCodeReusable", False, True, _AUTHN,
           "A one-time code observed once could be replayed within its period."),
    _realm("attributes.parRequestUriLifespan", "60", "86400", ("RFC9126", "FAPI2-SP-PAR"),
           "A pushed authorization request would stay usable for a day: a request_uri read from a log, a Referer or "
           "browser history starts the login it describes long after the person left it."),
    _realm("webAuthnPolicyExtraOrigins", [], [HOSTILE_ORIGIN], (*_AUTHN, "NIST-800-63B-4.3.1"),
           "A passkey assertion made for another origin would be accepted: whoever serves that origin (an app or a "
           "site a person is lured to) relays the person's passkey login, and WebAuthn's phishing resistance, which "
           "rests on the origin check, is gone."),
    SecureDefault("realm", "webAuthnPolicyRpId", "", HOSTILE_HOST, (*_AUTHN, "NIST-800-63B-4.3.1"),
                  "Passkeys would be scoped to another domain than the issuer's host (empty: the host the login page "
                  "is served from): a parent domain lets every host under it, any team's or a compromised one's, ask "
                  "for and use the person's passkeys.", unset=""),
    _realm("browserSecurityHeaders.xContentTypeOptions", "nosniff", "", ("RFC9700-4.16",),
           "Login pages could be MIME-sniffed into script by old browsers."),
    _realm("browserSecurityHeaders.referrerPolicy", "no-referrer", "unsafe-url", ("RFC9700-4.2",),
           "Login pages would leak their full URL (codes, state) to every site they link or load."),
    # --- clients: grants and authentication ----------------------------------------------------
    SecureDefault("client", "standardFlowEnabled", False, True, _ACCESS,
                  "Keycloak enables the code flow on every new client; a client obtains tokens only through "
                  "the grants its registration declares.", guarded_by=(_REDIRECTS,)),
    SecureDefault("client", "implicitFlowEnabled", False, True, ("RFC9700-2.1.2",),
                  "Tokens delivered in URL fragments leak through history, referrers and logs.",
                  guarded_by=("reject-implicit-grant", _REDIRECTS)),
    SecureDefault("client", "directAccessGrantsEnabled", False, True, ("RFC9700-2.4",),
                  "The client could collect user passwords and bypass MFA and brute-force protection.",
                  guarded_by=("reject-ropc-grant",)),
    SecureDefault("client", "serviceAccountsEnabled", False, True, ("RFC9700-2.2.1", *_ACCESS),
                  "A browser or device client would also obtain machine tokens (client credentials)."),
    SecureDefault("client", "publicClient", False, True, ("RFC9700-2.5",),
                  "A confidential client turned public obtains tokens without authenticating at all.",
                  applies_to="confidential"),
    SecureDefault("client", "clientAuthenticatorType", "client-jwt", "client-secret", ("RFC9700-2.5", "FAPI2-SP-5.3.2"),
                  "A shared client secret can leak and be replayed; confidential clients use private_key_jwt "
                  "or mTLS.", applies_to="confidential", guarded_by=("secure-client-authenticator",)),
    SecureDefault("client", "authorizationServicesEnabled", False, True, _ACCESS,
                  "Authorization services add the UMA grant and a permission model the files do not review.",
                  applies_to="service-account", unset=False),
    SecureDefault("client", "attributes.oauth2.device.authorization.grant.enabled", "false", "true", _ACCESS,
                  "The device grant lets a user on another device approve a login started elsewhere.",
                  unset="false"),
    SecureDefault("client", "attributes.oidc.ciba.grant.enabled", "false", "true", _ACCESS,
                  "Client-initiated backchannel authentication lets the client start logins for any user hint.",
                  unset="false"),
    SecureDefault("client", "attributes.standard.token.exchange.enabled", "false", "true", ("RFC9700-2.3",),
                  "Token exchange lets the client trade a token for one with another audience or scope.",
                  unset="false"),
    SecureDefault("client", "attributes.oauth2.jwt.authorization.grant.enabled", "false", "true", _ACCESS,
                  "The JWT bearer grant logs users in on the word of an external assertion issuer.",
                  unset="false"),
    SecureDefault("client", "attributes.client_credentials.use_refresh_token", "false", "true", _REFRESH,
                  "Client-credentials tokens would come with refresh tokens that outlive the access token.",
                  unset="false"),
    SecureDefault("client", "attributes.pkce.code.challenge.method", "S256", "plain",
                  ("RFC9700-2.1.1", "SMART-2.2-PKCE"),
                  "Without S256 an intercepted authorization code can be redeemed (plain PKCE proves nothing).",
                  guarded_by=("pkce-enforcer",)),
    SecureDefault("client", "attributes.x509.allow.regex.pattern.comparison", "false", "true", ("RFC8705", *_AUTHN),
                  "A subject-DN regex lets any certificate of the trusted CA that matches authenticate as the "
                  "client.", unset="false"),
    SecureDefault("client", "attributes.tls.client.certificate.bound.access.tokens", "false", "true", ("RFC8705",),
                  "Certificate binding is declared where a client presents a certificate; switched on by hand it "
                  "breaks clients that cannot.", unset="false", weakens=False),
    SecureDefault("client", "attributes.dpop.bound.access.tokens", "false", "true", ("RFC9700-2.2.1",),
                  "Machine clients are certificate-bound where they hold tokens of their own; DPoP switched "
                  "on by hand breaks one that sends no proofs. Clients that obtain a person's tokens declare it "
                  "(REALM-DPOP-001, REALM-DPOP-002) and the dpop-bind-enforcer policy holds it on every public "
                  "client, declared or not.",
                  applies_to="confidential", unset="false", weakens=False),
    SecureDefault("client", "attributes.require.pushed.authorization.requests", "false", "true", ("RFC9700-2.1",),
                  "Every code-flow client declares it (REALM-PAR-001), and the secure-par-content policy refuses "
                  "an unpushed request of any client, declared or not; on a client without the code flow it changes "
                  "nothing.", unset="false", weakens=False),
    SecureDefault("client", "attributes.token.endpoint.auth.signing.max.exp", None, "86400",
                  ("SMART-2.2-BACKEND", "RFC9700-2.5", *_AUTHN),
                  "Keycloak accepts a client assertion for this long after its iat (60 s while unset): an assertion "
                  "copied from a log or a proxy before it was used, or signed ahead of time with a key that has since "
                  "been revoked, authenticates the client for a day.", applies_to="confidential"),
    SecureDefault("client", "attributes.exclude.issuer.from.auth.response", "false", "true", ("RFC9700-4.4",),
                  "Without `iss` in the authorization response (RFC 9207) a client that talks to several "
                  "authorization servers cannot detect a mix-up: a code meant for one is sent to another.",
                  unset="false"),
    SecureDefault("client", "attributes.acr.loa.map", "{}", json.dumps({"phishing-resistant": 1}),
                  (*_AUTHN, "NIST-800-63B-4.3.1", "RFC9470"),
                  "A client's own acr map replaces the realm's (realm.acrLoaMap) for its logins: mapping the "
                  "phishing-resistant acr to the password-and-code level hands that client tokens claiming "
                  "phishing resistance from a phishable login, and unknown names switch its step-ups off.",
                  unset="{}"),
    # --- clients: token and session lifetimes ----------------------------------------------------
    SecureDefault("client", "attributes.access.token.lifespan", None, "3600", ("SMART-2.2-BACKEND", "RFC9700-2.3"),
                  "A per-client override makes this client's access tokens live an hour instead of the realm's "
                  f"{MAX_ACCESS_TOKEN_SECONDS} s."),
    SecureDefault("client", "attributes.client.session.idle.timeout", None, "600", _LOGOFF,
                  "Keycloak refuses per-client values above the realm's SSO idle timeout, so an override can "
                  "only shorten the session; it is still a lifetime the files do not show.", weakens=False),
    SecureDefault("client", "attributes.client.session.max.lifespan", None, "3600", _LOGOFF,
                  "Keycloak refuses per-client values above the realm's SSO lifespan, so an override can only "
                  "shorten the session; it is still a lifetime the files do not show.", weakens=False),
    SecureDefault("client", "attributes.client.offline.session.idle.timeout", None, "31536000", _REFRESH,
                  "Offline tokens of this client stay usable for a year without use."),
    SecureDefault("client", "attributes.client.offline.session.max.lifespan", None, "315360000", _REFRESH,
                  "Offline sessions of this client outlive the realm's offline cap."),
    SecureDefault("client", "attributes.oauth2.device.code.lifespan", None, "3600", _ACCESS,
                  "Device codes stay open for an hour, widening the window for a phished approval."),
    # --- clients: tokens, redirects, origins ---------------------------------------------------
    SecureDefault("client", "attributes.access.token.signed.response.alg", None, "RS256", ("FAPI2-SP-5.4",),
                  "A per-client algorithm override signs this client's tokens with PKCS#1 v1.5 instead of the "
                  "realm's PS256."),
    SecureDefault("client", "attributes.id.token.signed.response.alg", None, "RS256", ("FAPI2-SP-5.4",),
                  "A per-client algorithm override signs this client's ID tokens with PKCS#1 v1.5."),
    SecureDefault("client", "attributes.post.logout.redirect.uris", None, f"{HOSTILE_ORIGIN}/signed-out",
                  ("RFC9700-4.2",), "Logout would redirect to a URI the files never reviewed (an open redirector)."),
    SecureDefault("client", "attributes.backchannel.logout.url", None, f"{HOSTILE_ORIGIN}/logout", _ACCESS,
                  "Logout tokens (subject and session ids) would be posted to a URL the files never reviewed."),
    SecureDefault("client", "redirectUris", _NO_REDIRECTS, [f"{HOSTILE_ORIGIN}/callback"], ("RFC9700-2.1",),
                  "Codes and tokens would be delivered to a URI the files never reviewed."),
    SecureDefault("client", "webOrigins", [], ["*"], ("RFC9700-2.6",),
                  "Any web page could call the token and userinfo endpoints with the user's browser."),
    SecureDefault("client", "frontchannelLogout", False, True, _LOGOFF,
                  "Front-channel logout runs in hidden iframes that browsers block, so application sessions "
                  "outlive the logout."),
    # --- clients: what tokens carry --------------------------------------------------------------
    SecureDefault("client", "fullScopeAllowed", False, True, ("RFC9700-2.3", *_ACCESS),
                  "Keycloak's default puts every role of the user in the client's tokens."),
    SecureDefault("client", "defaultClientScopes", [], ["system/*.rs"], ("RFC9700-2.3", *_ACCESS),
                  "Keycloak gives new clients the realm's default scopes; a client gets only the scopes it lists "
                  "(a hand-added default scope grants its roles on every token)."),
    SecureDefault("client", "optionalClientScopes", [], ["offline_access"], (*_REFRESH, *_ACCESS),
                  "Keycloak gives new clients the realm's optional scopes, offline_access among them."),
    SecureDefault("client", "protocolMappers", [], [_ROLE_MAPPER], ("RFC9700-2.3", *_ACCESS),
                  "A client-level mapper adds claims (here a PHI role) to tokens outside the reviewed scopes; "
                  "the kit puts every mapper on a client scope."),
    # --- client scopes the kit declares ----------------------------------------------------------
    SecureDefault("clientScope", "protocolMappers", [], [_ROLE_MAPPER], ("RFC9700-2.3", *_ACCESS),
                  "A mapper added to a scope by hand puts claims (here a PHI role) in every token granted the "
                  "scope; a declared scope carries exactly its declared mappers."),
    SecureDefault("clientScope", "scopeMappings.realm", [], ["phi-conditions"], ("RFC9700-2.3", *_ACCESS),
                  "A realm role mapped to a scope by hand reaches every token granted the scope; a declared "
                  "scope carries exactly the roles `scopeMappings` lists (none if it lists none)."),
)  # fmt: skip


@functools.cache
def entries(kind: Kind) -> tuple[SecureDefault, ...]:
    """The catalogue's entries for one kind of object (computed once: planners ask for every object)."""
    return tuple(entry for entry in CATALOGUE if entry.kind == kind)


def entry(kind: Kind, field: str) -> SecureDefault:
    """The catalogue entry for `field` of `kind` (KeyError if the catalogue does not hold it)."""
    for candidate in CATALOGUE:
        if candidate.kind == kind and candidate.field == field:
            return candidate
    raise KeyError(f"{kind}.{field}")
