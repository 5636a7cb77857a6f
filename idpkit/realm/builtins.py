"""What every Keycloak 26.7 realm comes with, so validation can resolve names offline.

tests/realm/test_builtins_live.py checks each list against the running server (a fresh realm and
`/admin/serverinfo`), so an upgrade that renames or drops one fails there, not mid-apply.
"""

from __future__ import annotations

CLIENT_SCOPES = frozenset({
    "AuthnContextClassRef", "acr", "address", "basic", "email", "microprofile-jwt", "offline_access",
    "organization", "phone", "profile", "role_list", "roles", "saml_organization", "service_account",
    "web-origins",
})  # fmt: skip
SERVICE_ACCOUNT_SCOPE = "service_account"
"""The scope Keycloak attaches to a client when an update turns its service account on."""
CLIENTS = frozenset({"account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"})
ROLES = frozenset({"offline_access", "uma_authorization"})
"""Built-in realm roles, besides `default-roles-<realm>` (see `default_role`)."""
DEFAULT_ROLE_COMPOSITES = frozenset(
    {"offline_access", "uma_authorization", "account/view-profile", "account/manage-account"}
)
"""What `default-roles-<realm>` holds in a new realm (client roles as `client/role`): every user's roles."""
GLOBAL_CLIENT_PROFILES = frozenset({
    "fapi-1-advanced", "fapi-1-baseline", "fapi-2-dpop-message-signing", "fapi-2-dpop-security-profile",
    "fapi-2-message-signing", "fapi-2-security-profile", "fapi-ciba", "oauth-2-1-for-confidential-client",
    "oauth-2-1-for-public-client", "saml-security-profile",
})  # fmt: skip
EXECUTORS = frozenset({
    "auth-flow-enforcer", "confidential-client", "consent-required", "downscope-assertion-grant-enforcer",
    "dpop-bind-enforcer", "full-scope-disabled", "holder-of-key-enforcer", "intent-client-bind-checker",
    "jwt-claim-enforcer", "pkce-enforcer", "registration-access-token-rotation-disabled", "reject-implicit-grant",
    "reject-request", "reject-ropc-grant", "saml-avoid-redirect", "saml-secure-client-uris",
    "saml-signature-enforcer", "secure-ciba-req-sig-algorithm", "secure-ciba-session", "secure-ciba-signed-authn-req",
    "secure-client-authentication-assertion", "secure-client-authenticator", "secure-client-uris",
    "secure-client-uris-pattern", "secure-logout", "secure-par-content", "secure-redirect-uris-enforcer",
    "secure-request-object", "secure-response-type", "secure-session", "secure-signature-algorithm",
    "secure-signature-algorithm-signed-jwt", "suppress-refresh-token-rotation", "tls-client-auth-ca-subject-dn",
    "use-lightweight-access-token",
})  # fmt: skip
CONDITIONS = frozenset({
    "acr-condition", "any-client", "client-access-type", "client-attributes", "client-roles", "client-scopes",
    "client-type", "client-updater-context", "client-updater-source-groups", "client-updater-source-host",
    "client-updater-source-roles", "grant-type", "identity-provider-alias",
})  # fmt: skip

AUTHENTICATORS = frozenset({
    "auth-conditional-otp-form", "auth-cookie", "auth-otp-form", "auth-password-form", "auth-recovery-authn-code-form",
    "auth-username-form", "auth-username-password-form", "conditional-client-scope", "conditional-credential",
    "conditional-level-of-authentication", "conditional-sub-flow-executed", "conditional-user-attribute",
    "conditional-user-configured", "conditional-user-role", "deny-access-authenticator", "identity-provider-redirector",
    "user-session-limits", "webauthn-authenticator", "webauthn-authenticator-passwordless",
})  # fmt: skip
"""Browser-flow authenticators (and conditions) of Keycloak 26.7 a kit flow may use."""
REQUIRED_ACTIONS = frozenset({
    "CONFIGURE_RECOVERY_AUTHN_CODES", "CONFIGURE_TOTP", "TERMS_AND_CONDITIONS", "UPDATE_EMAIL", "UPDATE_PASSWORD",
    "UPDATE_PROFILE", "VERIFY_EMAIL", "VERIFY_PROFILE", "delete_account", "delete_credential", "idp_link",
    "update_user_locale", "webauthn-register", "webauthn-register-passwordless",
})  # fmt: skip
"""Required actions every Keycloak 26.7 realm registers."""


def default_role(realm: str) -> str:
    """The composite role Keycloak grants every user of `realm`."""
    return f"default-roles-{realm}"


FIXED_CLAIM_MAPPERS = {
    "oidc-sub-mapper": "sub", "oidc-full-name-mapper": "name", "oidc-address-mapper": "address",
    "oidc-acr-mapper": "acr", "oidc-allowed-origins-mapper": "allowed-origins", "oidc-audience-mapper": "aud",
    "oidc-audience-resolve-mapper": "aud",
    "idpkit-smart-patient-context": "patient",
}  # fmt: skip
"""OIDC protocol mappers whose claim is fixed by their kind (the last is the kit's own, `PatientContextMapper` in
keycloak-kms/); every other mapper names it in `claim.name`."""
BUILTIN_SCOPE_CLAIMS = {
    "acr": frozenset({"acr"}),
    "address": frozenset({"address"}),
    "basic": frozenset({"sub", "auth_time"}),
    "email": frozenset({"email", "email_verified"}),
    "microprofile-jwt": frozenset({"groups", "upn"}),
    "offline_access": frozenset(),
    "organization": frozenset({"organization"}),
    "phone": frozenset({"phone_number", "phone_number_verified"}),
    "profile": frozenset({
        "name", "birthdate", "family_name", "gender", "given_name", "locale", "middle_name", "nickname", "picture",
        "preferred_username", "profile", "updated_at", "website", "zoneinfo",
    }),
    "roles": frozenset({"aud", "realm_access", "resource_access"}),
    "service_account": frozenset({"clientAddress", "clientHost", "client_id"}),
    "web-origins": frozenset({"allowed-origins"}),
}  # fmt: skip
"""The top-level claims each built-in OIDC client scope's mappers put in tokens (`mapper_claim` of each)."""


def mapper_claim(mapper_type: str, config: dict[str, str]) -> str | None:
    """The top-level token claim an OIDC protocol mapper writes (`realm_access` for `realm_access.roles`)."""
    claim = FIXED_CLAIM_MAPPERS.get(mapper_type) or config.get("claim.name")
    return claim.split(".", 1)[0] if claim else None
