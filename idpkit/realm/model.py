"""The schema of `realm-config/` files: Keycloak representation field names, kit additions marked.

Every field is optional at file level (overlays and fragments are partial); the security rules in
`idpkit.realm.rules` decide what the merged document must contain.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

SignatureAlgorithm = Literal[
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "RS256",
    "RS384",
    "RS512",
    "HS256",
    "HS384",
    "HS512",
    "none",
]


def _component_setting(value: object) -> object:
    if isinstance(value, str | bool | int) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("must be a string, a boolean, a whole number or a list of strings (Keycloak reads no other shape)")


ComponentSetting = Annotated[str | bool | int | list[str], BeforeValidator(_component_setting)]
"""One value of an executor's or condition's configuration."""


SmartCapability = Literal[
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-passthrough-banner",
    "context-passthrough-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-standalone-encounter",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
]
"""The capabilities SMART App Launch v2.2 defines (section 'Capabilities')."""


class KeycloakModel(BaseModel):
    """Camel-case aliases so files use Keycloak's field names; unknown fields are typos, so refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", use_attribute_docstrings=True
    )


class SmartConfiguration(KeycloakModel):
    """The SMART-specific part of the realm's SMART discovery document. The extension narrows the grant types
    and authentication methods to those the OpenID Connect discovery lists, and always advertises PKCE
    `S256` only and response type `code` only."""

    capabilities: list[SmartCapability] = Field(min_length=1)
    """Capabilities advertised; each one a smoke check proves (smoke-tests/test_smart.py)."""
    scopes_supported: list[str] = Field(min_length=1)
    """Scopes advertised: `openid` and client scopes the realm declares."""
    grant_types_supported: list[str] = Field(min_length=1)
    """Grants advertised at the token endpoint (never `implicit` or `password`)."""
    token_endpoint_auth_methods_supported: list[str] = Field(min_length=1)
    """Client authentication methods advertised (never a client secret when the realm refuses them)."""


class RealmSettings(KeycloakModel):
    """Realm-level settings (RealmRepresentation); only the fields set in a file are managed."""

    realm: str | None = None
    """Realm name; the stack outputs' `realm` must match it."""
    display_name: str | None = None
    """Name shown on the login page."""
    enabled: bool | None = None
    """Whether the realm accepts logins."""
    ssl_required: Literal["all", "external", "none"] | None = None
    """Which requests must use TLS; `all` is required for PHI (HIPAA 164.312(e))."""
    brute_force_protected: bool | None = None
    """Lock accounts after repeated failed logins."""
    permanent_lockout: bool | None = None
    """Lock permanently instead of temporarily (needs an admin to unlock)."""
    max_temporary_lockouts: int | None = Field(default=None, ge=0)
    """Temporary lockouts before a permanent one (0: never permanent)."""
    brute_force_strategy: Literal["MULTIPLE", "LINEAR"] | None = None
    """How the wait grows with each lockout."""
    failure_factor: int | None = Field(default=None, ge=1)
    """Failed logins before a lockout."""
    wait_increment_seconds: int | None = Field(default=None, ge=0)
    """Lockout duration added per failure-factor failures."""
    max_failure_wait_seconds: int | None = Field(default=None, ge=0)
    """Longest temporary lockout."""
    minimum_quick_login_wait_seconds: int | None = Field(default=None, ge=0)
    """Lockout after logins that follow each other too quickly."""
    quick_login_check_milli_seconds: int | None = Field(default=None, ge=0)
    """What counts as too quick."""
    max_delta_time_seconds: int | None = Field(default=None, ge=0)
    """When the failure count resets."""
    password_policy: str | None = None
    """Keycloak password policy string, e.g. `length(12) and hashAlgorithm(argon2)`."""
    access_token_lifespan: int | None = Field(default=None, ge=1)
    """Access token lifetime in seconds."""
    access_token_lifespan_for_implicit_flow: int | None = Field(default=None, ge=1)
    """Implicit-flow token lifetime (the flow itself is rejected by client policy)."""
    access_code_lifespan: int | None = Field(default=None, ge=1)
    """Authorization code lifetime in seconds."""
    access_code_lifespan_user_action: int | None = Field(default=None, ge=1)
    """Time to complete a required action (e.g. update password)."""
    access_code_lifespan_login: int | None = Field(default=None, ge=1)
    """Time to complete the login page."""
    sso_session_idle_timeout: int | None = Field(default=None, ge=1)
    """SSO session idle timeout in seconds: the automatic logoff."""
    sso_session_max_lifespan: int | None = Field(default=None, ge=1)
    """Absolute SSO session lifetime in seconds."""
    remember_me: bool | None = None
    """Offer "remember me" (extends sessions past the automatic logoff)."""
    sso_session_idle_timeout_remember_me: int | None = Field(default=None, ge=0)
    """Idle timeout of remember-me sessions (0: the SSO idle timeout)."""
    sso_session_max_lifespan_remember_me: int | None = Field(default=None, ge=0)
    """Lifespan of remember-me sessions (0: the SSO max lifespan)."""
    client_session_idle_timeout: int | None = Field(default=None, ge=0)
    """Client session idle timeout (0: the SSO idle timeout)."""
    client_session_max_lifespan: int | None = Field(default=None, ge=0)
    """Client session lifetime (0: the SSO max lifespan)."""
    client_offline_session_idle_timeout: int | None = Field(default=None, ge=0)
    """Offline idle timeout of clients' sessions (0: the offline session idle timeout)."""
    client_offline_session_max_lifespan: int | None = Field(default=None, ge=0)
    """Offline lifespan of clients' sessions (0: the offline session max lifespan)."""
    offline_session_idle_timeout: int | None = Field(default=None, ge=1)
    """Offline session idle timeout for clients granted `offline_access`."""
    offline_session_max_lifespan_enabled: bool | None = None
    """Cap offline sessions at `offlineSessionMaxLifespan`."""
    offline_session_max_lifespan: int | None = Field(default=None, ge=1)
    """Absolute offline session lifetime."""
    revoke_refresh_token: bool | None = None
    """Rotate refresh tokens; a reused one revokes the session."""
    refresh_token_max_reuse: int | None = Field(default=None, ge=0)
    """How often one refresh token may be reused before revocation (0: never)."""
    default_signature_algorithm: SignatureAlgorithm | None = None
    """Token signature algorithm; PS256 or ES256."""
    oauth2_device_code_lifespan: int | None = Field(default=None, ge=1)
    """Device code lifetime in seconds."""
    oauth2_device_polling_interval: int | None = Field(default=None, ge=1)
    """Minimum device-flow polling interval in seconds."""
    action_token_generated_by_user_lifespan: int | None = Field(default=None, ge=1)
    """Lifetime of links users request (e-mail verification, credential reset)."""
    action_token_generated_by_admin_lifespan: int | None = Field(default=None, ge=1)
    """Lifetime of action links administrators send."""
    user_managed_access_allowed: bool | None = None
    """Let users share their resources with other accounts (UMA)."""
    otp_policy_code_reusable: bool | None = None
    """Accept a one-time code more than once within its period."""
    otp_policy_type: Literal["totp", "hotp"] | None = None
    """One-time password kind; `totp` (time-based, RFC 6238)."""
    otp_policy_algorithm: Literal["HmacSHA1", "HmacSHA256", "HmacSHA512"] | None = None
    """TOTP hash (authenticator apps support HmacSHA1 widely)."""
    otp_policy_digits: int | None = Field(default=None, ge=6, le=8)
    """Digits of a one-time code."""
    otp_policy_period: int | None = Field(default=None, ge=15, le=120)
    """Seconds a time-based code is valid."""
    otp_policy_look_ahead_window: int | None = Field(default=None, ge=0)
    """Periods before and after the current one whose codes are accepted (clock skew)."""
    web_authn_policy_rp_entity_name: str | None = None
    """WebAuthn relying party name shown by authenticators."""
    web_authn_policy_signature_algorithms: list[str] | None = None
    """WebAuthn credential algorithms accepted (COSE names, e.g. `ES256`)."""
    web_authn_policy_attestation_conveyance_preference: (
        Literal["not specified", "none", "indirect", "direct", "enterprise"] | None
    ) = None
    """Attestation asked of authenticators at registration."""
    web_authn_policy_authenticator_attachment: Literal["not specified", "platform", "cross-platform"] | None = None
    """Which authenticators may register."""
    web_authn_policy_require_resident_key: Literal["not specified", "Yes", "No"] | None = None
    """Discoverable credentials (passkeys)."""
    web_authn_policy_user_verification_requirement: (
        Literal["not specified", "required", "preferred", "discouraged"] | None
    ) = None
    """Whether the authenticator must verify the user (PIN or biometrics): `required` for a second factor
    that is phishing-resistant and bound to the person."""
    web_authn_policy_avoid_same_authenticator_register: bool | None = None
    """Refuse registering an authenticator the user already has."""
    web_authn_policy_extra_origins: list[str] | None = None
    """Origins besides the realm's own whose WebAuthn assertions Keycloak accepts (a native app's); held empty."""
    browser_flow: str | None = None
    """Alias of the authentication flow that browser logins run (one of `authenticationFlows`)."""
    acr_loa_map: dict[str, int] | None = None
    """Kit form of the realm attribute `acr.loa.map`: each `acr` value a client may request, with the level
    of authentication (a `conditional-level-of-authentication` level of the browser flow) it stands for."""
    smart_configuration: SmartConfiguration | None = None
    """Kit form of the realm attribute `smart.configuration`: what the realm's SMART App Launch discovery
    document (`/.well-known/smart-configuration`, served by the kit's Keycloak extension) advertises beyond
    the endpoints, which come from the realm's OpenID Connect discovery."""
    registration_allowed: bool | None = None
    """Self-registration (off for clinical realms: accounts are provisioned)."""
    reset_password_allowed: bool | None = None
    """Forgot-password link (needs SMTP)."""
    login_with_email_allowed: bool | None = None
    """Allow the e-mail address as login name."""
    duplicate_emails_allowed: bool | None = None
    """Allow several users with one e-mail address (breaks unique identification)."""
    edit_username_allowed: bool | None = None
    """Let users change their user name (breaks audit trails)."""
    verify_email: bool | None = None
    """Require e-mail verification."""
    browser_security_headers: dict[str, str] | None = None
    """Response headers of login pages (frame-ancestors against clickjacking, HSTS)."""
    events_enabled: bool | None = None
    """Record user events."""
    events_expiration: int | None = Field(default=None, ge=1)
    """Seconds user events are kept in the database (long-term retention is the log pipeline's)."""
    events_listeners: list[str] | None = None
    """Event listeners; `jboss-logging` feeds the audit log pipeline."""
    enabled_event_types: list[str] | None = None
    """User event types recorded."""
    admin_events_enabled: bool | None = None
    """Record admin events."""
    admin_events_details_enabled: bool | None = None
    """Include representations in admin events."""
    default_default_client_scopes: list[str] | None = None
    """Default scopes of clients created later (e.g. in the admin console)."""
    default_optional_client_scopes: list[str] | None = None
    """Optional scopes of clients created later; never `offline_access`."""


class ProtocolMapper(KeycloakModel):
    """A protocol mapper of a client scope (ProtocolMapperRepresentation)."""

    name: str
    """Mapper name, unique within its scope."""
    protocol: Literal["openid-connect"] = "openid-connect"
    """Protocol."""
    protocol_mapper: str
    """Mapper type, e.g. `oidc-audience-mapper`."""
    config: dict[str, str] = Field(default_factory=dict)
    """Mapper configuration (string values, as Keycloak stores them)."""


class ClientScope(KeycloakModel):
    """A client scope (ClientScopeRepresentation), e.g. a SMART v2 scope."""

    name: str
    """Scope name as requested in `scope`, e.g. `patient/Observation.rs`."""
    description: str | None = None
    """What the scope grants, in words."""
    protocol: Literal["openid-connect"] | None = None
    """Protocol."""
    attributes: dict[str, str] | None = None
    """e.g. `include.in.token.scope`, `display.on.consent.screen`, `consent.screen.text`."""
    protocol_mappers: list[ProtocolMapper] | None = None
    """Mappers (e.g. the audience restriction)."""


class ScopeMapping(KeycloakModel):
    """Realm roles a client scope carries into tokens (realm export's `scopeMappings`)."""

    client_scope: str
    """The client scope's name."""
    roles: list[str]
    """Realm role names."""


class Role(KeycloakModel):
    """A realm role (RoleRepresentation), one per PHI category."""

    name: str
    """Role name."""
    description: str | None = None
    """What the role grants, in words."""


class ClientKit(KeycloakModel):
    """Kit additions to a client (not Keycloak fields)."""

    generated_jwk: Literal["PS256", "ES256"] | None = None
    """Generate a signing key for this (test) client at apply time, register its public JWKS in
    `jwks.string` and keep the private key in the stack's 0600 smoke-credentials file."""


class Client(KeycloakModel):
    """An OIDC client (ClientRepresentation)."""

    client_id: str
    """Client identifier."""
    name: str | None = None
    """Display name."""
    description: str | None = None
    """What the client is for."""
    enabled: bool | None = None
    """Whether the client can log in."""
    public_client: bool | None = None
    """Public (no credentials: SPA/native) or confidential."""
    bearer_only: bool | None = None
    """Legacy resource-server flag."""
    standard_flow_enabled: bool | None = None
    """Authorization code flow."""
    implicit_flow_enabled: bool | None = None
    """Implicit flow (forbidden)."""
    direct_access_grants_enabled: bool | None = None
    """Resource owner password credentials (forbidden)."""
    service_accounts_enabled: bool | None = None
    """Client credentials grant."""
    consent_required: bool | None = None
    """Ask the user to consent (third-party apps)."""
    authorization_services_enabled: bool | None = None
    """Keycloak authorization services (UMA grant, resource permissions)."""
    full_scope_allowed: bool | None = None
    """Put every role of the user in tokens (forbidden: tokens carry only scoped roles)."""
    frontchannel_logout: bool | None = None
    """Front-channel logout."""
    client_authenticator_type: Literal["client-secret", "client-jwt", "client-secret-jwt", "client-x509"] | None = None
    """Confidential client authentication; `client-jwt` (private_key_jwt) or `client-x509` (mTLS)."""
    redirect_uris: list[str] | None = None
    """Exact redirect URIs (no wildcards; https except loopback)."""
    web_origins: list[str] | None = None
    """CORS origins of browser clients."""
    root_url: str | None = None
    """Root URL."""
    base_url: str | None = None
    """Home URL."""
    attributes: dict[str, str] | None = None
    """Client attributes (OIDCConfigAttributes names), e.g. `pkce.code.challenge.method`."""
    default_client_scopes: list[str] | None = None
    """Scopes always granted; the client gets only what it lists."""
    optional_client_scopes: list[str] | None = None
    """Scopes granted when requested; `offline_access` only for clients allowed offline tokens."""
    kit: ClientKit | None = None
    """Kit additions (generated test keys)."""


class Executor(KeycloakModel):
    """A client-policy executor."""

    executor: str
    """Executor provider id, e.g. `pkce-enforcer`."""
    configuration: dict[str, ComponentSetting] = Field(default_factory=dict)
    """Executor configuration."""


class ClientProfile(KeycloakModel):
    """A client profile: executors applied by the policies that name it."""

    name: str
    """Profile name."""
    description: str | None = None
    """What the profile enforces."""
    executors: list[Executor] = Field(default_factory=list)
    """Executors."""


class Condition(KeycloakModel):
    """A client-policy condition."""

    condition: str
    """Condition provider id, e.g. `any-client`, `grant-type`."""
    configuration: dict[str, ComponentSetting] = Field(default_factory=dict)
    """Condition configuration."""


class ClientPolicy(KeycloakModel):
    """A realm client policy: when its conditions hold, its profiles' executors run."""

    name: str
    """Policy name."""
    description: str | None = None
    """What the policy enforces."""
    enabled: bool = True
    """Whether the policy is active."""
    conditions: list[Condition] = Field(default_factory=list)
    """Conditions (all must hold)."""
    profiles: list[str] = Field(default_factory=list)
    """Profile names."""


class IdentityProvider(KeycloakModel):
    """An identity provider (IdentityProviderRepresentation), e.g. the trust for the JWT bearer grant."""

    alias: str
    """Alias, referenced by clients' `oauth2.jwt.authorization.grant.idp`."""
    provider_id: str
    """Provider type, e.g. `jwt-authorization-grant`."""
    display_name: str | None = None
    """Display name."""
    enabled: bool | None = None
    """Whether the provider is active."""
    hide_on_login: bool | None = None
    """Keep it off the login page (grant-only providers)."""
    config: dict[str, str] = Field(default_factory=dict)
    """Provider configuration (issuer, keys, limits)."""


SERVICE_ACCOUNT_PREFIX = "service-account-"
"""Keycloak names a client's service-account user `service-account-<clientId>`."""


def service_account_username(client_id: str) -> str:
    """The user name Keycloak gives `client_id`'s service account (how files and reports name it)."""
    return f"{SERVICE_ACCOUNT_PREFIX}{client_id}".lower()


class FederatedIdentity(KeycloakModel):
    """A link between a user and an identity provider (FederatedIdentityRepresentation).

    The JWT bearer grant (and brokered login) resolves the provider's subject through it: an
    assertion whose `sub` is `userId`, issued by the provider `identityProvider`, logs in this user.
    """

    identity_provider: str = Field(min_length=1)
    """Alias of an identity provider declared in `identityProviders`."""
    user_id: str = Field(min_length=1)
    """The subject (`sub`) the provider asserts for this user; unique per provider in the realm."""
    user_name: str | None = None
    """The user's name at the provider (informational)."""


class UserKit(KeycloakModel):
    """Kit additions to a test user (not Keycloak fields)."""

    generated_totp: bool | None = None
    """Give the user a TOTP second factor at apply time (realm OTP policy), its secret kept in the stack's
    0600 smoke-credentials file, never printed: the smoke suite logs in with password and code."""


class User(KeycloakModel):
    """A user (UserRepresentation): a smoke-test user, or the service account of a declared client.

    Test users (`username`) belong only in non-prod files, never real people. A service-account entry
    (`serviceAccountClientId`, Keycloak's and keycloak-config-cli's shape) only grants the service
    account of that client its realm roles: Keycloak creates the user with the client, so the kit
    never creates it, sets no password and manages nothing else on it. The kit reconciles the realm
    roles it owns (the realm roles declared in `roles`): missing ones are granted on apply; ones not
    listed are reported as drift and revoked only with `--prune`; any other role (e.g.
    `default-roles-<realm>`) is left alone.
    """

    username: str | None = None
    """Login name of a test user (not with `serviceAccountClientId`)."""
    service_account_client_id: str | None = None
    """The client (with `serviceAccountsEnabled: true`) whose service account this entry grants roles to;
    the entry is then named `service-account-<clientId>` in paths and plans."""
    enabled: bool | None = None
    """Whether the user can log in."""
    email: str | None = None
    """E-mail address (required by the default user profile)."""
    email_verified: bool | None = None
    """Whether the address is verified."""
    first_name: str | None = None
    """Given name."""
    last_name: str | None = None
    """Family name."""
    realm_roles: list[str] | None = None
    """Realm roles granted (service accounts: only roles their client's scopes map, REALM-SVCROLE-001)."""
    attributes: dict[str, list[str]] | None = None
    """User attributes (test users only), each declared in `userProfileAttributes`, e.g. `fhirUser`."""
    kit: UserKit | None = None
    """Kit additions (a generated TOTP second factor, test users only)."""
    federated_identities: list[FederatedIdentity] | None = None
    """Links to identity providers (test users only), e.g. the subject a JWT bearer assertion names.
    Links to the listed providers are kept as listed; a link to another declared provider is reported
    as drift and removed only with `--prune`; links to providers the files do not declare are left alone."""

    @model_validator(mode="after")
    def _user_or_service_account(self) -> User:
        if self.service_account_client_id is None:
            if not self.username:
                raise ValueError("needs `username` (a test user) or `serviceAccountClientId` (a service account)")
            if self.username.lower().startswith(SERVICE_ACCOUNT_PREFIX):
                raise ValueError(
                    f"user names starting with {SERVICE_ACCOUNT_PREFIX!r} are Keycloak's service accounts; "
                    "use `serviceAccountClientId`"
                )
            return self
        extra = sorted(
            name
            for name in self.model_fields_set
            if name not in {"service_account_client_id", "realm_roles"} and getattr(self, name) is not None
        )
        if extra:
            fields = ", ".join(type(self).model_fields[name].alias or name for name in extra)
            raise ValueError(
                f"a service-account entry takes only `serviceAccountClientId` and `realmRoles` (got {fields}): "
                "Keycloak creates and owns the user"
            )
        return self

    @property
    def key(self) -> str:
        """How files, paths and plans name this user."""
        if self.service_account_client_id is not None:
            return service_account_username(self.service_account_client_id)
        return self.username or ""


Requirement = Literal["REQUIRED", "ALTERNATIVE", "CONDITIONAL", "DISABLED"]


class AuthenticationExecution(KeycloakModel):
    """One step of an authentication flow: an authenticator, or a sub-flow declared in the same file set."""

    authenticator: str | None = None
    """Authenticator provider id, e.g. `auth-username-password-form`, `auth-otp-form`."""
    flow: str | None = None
    """Alias of a sub-flow (an `authenticationFlows` entry with `topLevel: false`)."""
    requirement: Requirement
    """How the step counts: REQUIRED, ALTERNATIVE (one of its siblings), CONDITIONAL (sub-flows), DISABLED."""
    config: dict[str, str] | None = None
    """Authenticator configuration (e.g. a level of authentication and its maximum age)."""

    @model_validator(mode="after")
    def _authenticator_or_flow(self) -> AuthenticationExecution:
        if (self.authenticator is None) == (self.flow is None):
            raise ValueError("an execution names exactly one of `authenticator` or `flow`")
        if self.flow is not None and self.config is not None:
            raise ValueError("a sub-flow takes no `config`")
        return self


class AuthenticationFlow(KeycloakModel):
    """An authentication flow the kit owns (AuthenticationFlowRepresentation), with its executions in order."""

    alias: str
    """Flow name; the realm's `browserFlow` and other flows' executions refer to it."""
    description: str | None = None
    """What the flow does, in words."""
    top_level: bool = True
    """A flow a realm binding can name; `false` for a sub-flow of another declared flow."""
    executions: list[AuthenticationExecution] = Field(min_length=1)
    """Executions in the order Keycloak runs them."""


class RequiredAction(KeycloakModel):
    """A required action (RequiredActionProviderRepresentation), e.g. enrolment of a second factor."""

    alias: str
    """Provider alias, e.g. `CONFIGURE_TOTP`, `webauthn-register`."""
    enabled: bool
    """Whether users can be asked to perform it."""
    default_action: bool | None = None
    """Ask it of every new user."""


class AttributePermissions(KeycloakModel):
    """Who may see and change a user-profile attribute (`admin`, `user`)."""

    view: list[Literal["admin", "user"]] = Field(default_factory=list)
    edit: list[Literal["admin", "user"]] = Field(default_factory=list)


class UserProfileAttribute(KeycloakModel):
    """An attribute of the realm's user profile (UPAttribute) the kit declares; Keycloak drops user attributes
    its profile does not declare. Attributes the files do not name are left as they are."""

    name: str = Field(min_length=1)
    """Attribute name, e.g. `fhirUser`."""
    display_name: str | None = None
    """Label in the admin console."""
    permissions: AttributePermissions
    """Who may see and change it: `admin` only for identity facts a person must not set themselves."""
    multivalued: bool = False
    """Whether it holds several values."""


class RuleException(KeycloakModel):
    """A named, expiring permission for an overlay to break one security rule."""

    rule: str
    """The rule's id, e.g. `REALM-LOGOFF-001`."""
    path: str = "*"
    """Which findings it covers (glob on the finding's path, e.g. `realm.ssoSessionIdleTimeout`)."""
    owner: str = Field(min_length=1)
    """Who answers for it."""
    reason: str = Field(min_length=1)
    """Why it is needed."""
    expires: dt.date
    """Last day it applies; validation fails afterwards."""


SmokeCredential = Literal["smoke-identities", "client-certificates", "admin-api", "break-glass", "hosts"]
"""What the smoke suite needs beyond the stack outputs (idpkit/smoke/credentials.py says where each comes from)."""


class NotApplicable(KeycloakModel):
    """A smoke-suite credential an environment deliberately does without (overlays only).

    On that environment's stack, checks needing it are reported not applicable instead of failing,
    and reviews show the declaration with its owner and reason; an undeclared missing credential
    fails the checks that need it.
    """

    credential: SmokeCredential
    """Which credential the environment does without."""
    owner: str = Field(min_length=1)
    """Who answers for it."""
    reason: str = Field(min_length=1)
    """Why the checks needing it cannot apply there, and where the behaviour is proven instead."""


class RealmDocument(KeycloakModel):
    """One file of `realm-config/`, or the merged result of base, fragments and an overlay."""

    includes: list[str] | None = None
    """Overlays only: fragment files (relative to `realm-config/fragments/`) merged before the overlay."""
    realm: RealmSettings | None = None
    """Realm settings."""
    roles: list[Role] | None = None
    """Realm roles."""
    client_scopes: list[ClientScope] | None = None
    """Client scopes."""
    scope_mappings: list[ScopeMapping] | None = None
    """Realm roles per client scope."""
    identity_providers: list[IdentityProvider] | None = None
    """Identity providers."""
    clients: list[Client] | None = None
    """Clients."""
    authentication_flows: list[AuthenticationFlow] | None = None
    """Authentication flows the kit owns (top-level flows and their sub-flows)."""
    required_actions: list[RequiredAction] | None = None
    """Required actions the kit holds enabled or disabled."""
    user_profile_attributes: list[UserProfileAttribute] | None = None
    """Attributes the realm's user profile must declare (e.g. SMART's `fhirUser`)."""
    client_profiles: list[ClientProfile] | None = None
    """Client-policy profiles."""
    client_policies: list[ClientPolicy] | None = None
    """Client policies."""
    users: list[User] | None = None
    """Smoke-test users (non-prod overlays only) and service accounts' realm roles (any environment)."""
    exceptions: list[RuleException] | None = None
    """Named exceptions to security rules."""
    smoke_not_applicable: list[NotApplicable] | None = None
    """Smoke-suite credentials this environment does without, each with an owner and a reason."""
