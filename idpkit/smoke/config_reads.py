"""Hardened settings no protocol behaviour shows, each with the reason: the smoke suite reads them back.

Everything else the kit hardens is proven by observing Keycloak (a refused request, a token's
lifetime, an event). For these few the effect is masked by another layer, or shows only after
days; `smoke-tests/test_config_reads.py` compares the live value with realm-config instead, and
reviews and mutation reports mark them as config reads. Keys are setting paths as reviews name them
(`*` matches anything).
"""

from __future__ import annotations

UNOBSERVABLE: dict[str, str] = {
    "realm.ssoSessionIdleTimeout": "client sessions idle out at clientSessionIdleTimeout (codified no longer) "
    "first, so every refresh token shows the smaller of the two (test_sessions.py); the SSO session's own idle "
    "timeout shows only in a browser left idle for 15 minutes",
    "realm.sslRequired": "every listener speaks only HTTPS and Keycloak takes the scheme from its fixed hostname, "
    "so no request can reach the realm in clear to be refused",
    "realm.accessCodeLifespanLogin": "only a login page left open for its whole lifetime (15 minutes) would show it",
    "realm.offlineSessionMaxLifespan": "an offline session ends at its idle timeout (7 days), long before the cap "
    "(30 days) could show",
    "realm.eventsExpiration": "stored events are purged only once the retention period (days) has passed",
    "realm.eventsListeners": "the jboss-logging listener writes to the hosts' log pipeline, outside the protocol",
    'clients[*].attributes["x509.casubjectdn"]': "the front door trusts one client CA, so a certificate of another "
    "CA never reaches Keycloak's issuer check",
    "clients[*].frontchannelLogout": "no client registers a front-channel logout URL, so the flag changes no logout",
    "clientProfiles[*].executors[holder-of-key-enforcer].configuration.auto-configure": "the policy's grant-type "
    "condition never matches a client registration, so auto-configure never runs; the executor refuses token "
    "requests without a certificate instead (test_client_policies.py)",
    "master.clients[*].standardFlowEnabled": "the kit's admin client registers no redirect URI, so no browser flow "
    "can complete whatever the flag",
    "master.clients[*].implicitFlowEnabled": "the kit's admin client registers no redirect URI, so no browser flow "
    "can complete whatever the flag",
    "master.realm.sslRequired": "master is reached only on the admin URL, an HTTPS listener (AWS: over an SSM port "
    "forward to the host's loopback), so no request reaches it in clear from a public address to be refused",
    "master.realm.eventsExpiration": "stored events are purged only once the retention period (days) has passed",
    "master.realm.eventsListeners": "the jboss-logging listener writes to the hosts' log pipeline, outside the "
    "protocol",
    "master.realm.maxFailureWaitSeconds": "only lockouts grown past the cap (a quarter of an hour of guessing) would "
    "show it; the PHI realm's SMOKE-BRUTE-002 shows the same codified value",
    "master.realm.maxTemporaryLockouts": "only the codified number of lockouts, minutes each, would show it; the PHI "
    "realm's SMOKE-BRUTE-002 shows the same codified value",
    "master.realm.permanentLockout": "only the lockout after the codified number of lockouts, minutes each, would "
    "show it; the PHI realm's SMOKE-BRUTE-002 shows the same codified value",
    "master.realm.ssoSessionMaxLifespan": "an administrator's session idles out (15 minutes) long before the cap "
    "(1 hour) could show, unless kept busy for the whole hour",
    "realm.ssoSessionIdleTimeoutRememberMe": "remember-me is off (rememberMe: false), so no remember-me session "
    "ever exists",
    "realm.ssoSessionMaxLifespanRememberMe": "remember-me is off (rememberMe: false), so no remember-me session "
    "ever exists",
    "realm.clientOfflineSessionMaxLifespan": "an offline session ends at its idle timeout (7 days), long before a "
    "per-client cap could show",
    'clients[*].attributes["client.offline.session.max.lifespan"]': "an offline session ends at its idle timeout "
    "(7 days), long before a per-client cap could show",
    "realm.actionTokenGeneratedByUserLifespan": "users can request no action link: password reset is off and the "
    "realm sends no e-mail",
    "realm.actionTokenGeneratedByAdminLifespan": "action links travel by e-mail, which the realm does not send",
    "realm.accessTokenLifespanForImplicitFlow": "every client is refused the implicit flow, so no such token exists",
    "realm.accessCodeLifespanUserAction": "only a required action left open for its whole lifetime (5 minutes) "
    "would show it",
    "realm.webAuthnPolicyAvoidSameAuthenticatorRegister": "only a second registration from the same "
    "authenticator would show it",
    "realm.webAuthnPolicyExtraOrigins": "a browser writes the page's own origin into a ceremony and refuses a "
    "relying party another origin names, so an added origin shows only to a native client forging its client data, "
    "which the suite does not play",
    "authenticationFlows[*].executions[conditional-level-of-authentication].config.loa-max-age": "a level reached "
    "once is asked for again only after its maximum age (10 hours at the MFA level, 5 minutes at the "
    "phishing-resistant one): the suite waits out neither",
    "realm.userManagedAccessAllowed": "no client runs authorization services, so users have no resources to share",
    'clients[*].attributes["backchannel.logout.url"]': "Keycloak posts logout tokens server to server, where no "
    "client of the protocol can see them",
    'clients[*].attributes["client.session.*"]': "Keycloak refuses a per-client session longer than the realm's, "
    "so a hand-made value can only shorten sessions",
    'clients[*].attributes["tls.client.certificate.bound.access.tokens"]': "held only where no certificate is "
    "declared: switched on by hand it breaks the client, it weakens nothing",
    'clients[*].attributes["dpop.bound.access.tokens"]': "held only on machine clients: switched on by hand it "
    "breaks a client that sends no DPoP proof, it weakens nothing (clients that obtain a person's tokens: "
    "SMOKE-DPOP-*)",
    'clients[*].attributes["require.pushed.authorization.requests"]': "secure-par-content refuses every unpushed "
    "request whatever a client declares (SMOKE-PAR-001, and test_client_policies.py for clients created later), so "
    "a per-client value shows in no request; it is read back",
    "clients[*].protocolMappers": "the realm's tokens carry no role claims and fullScopeAllowed is off, so a "
    "hand-made role mapper on a client shows in no token; the client's mappers are read back",
    "clientScopes[*].protocolMappers": "the realm's tokens carry no role claims, so a hand-made role mapper on a "
    "scope shows in no token; the scope's mappers are read back",
    "users[*].realmRoles": "with fullScopeAllowed false a role that none of the client's scopes maps never reaches a "
    "token, so an extra role shows nowhere until another setting also changes",
}
