package org.idpkit.keycloak.par;

import org.keycloak.models.KeycloakSession;
import org.keycloak.services.clientpolicy.executor.ClientPolicyExecutorProvider;
import org.keycloak.services.clientpolicy.executor.SecureRedirectUrisEnforcerExecutorFactory;

/**
 * Replaces Keycloak's factory of the same id (`secure-redirect-uris-enforcer`): Keycloak keeps, of two
 * factories with one id, the one of higher order. Options, help text and policies naming the executor
 * are unchanged; only pushed authorization requests are handled (see the executor).
 */
public class ParAwareRedirectUrisEnforcerExecutorFactory extends SecureRedirectUrisEnforcerExecutorFactory {

    @Override
    public ClientPolicyExecutorProvider create(KeycloakSession session) {
        return new ParAwareRedirectUrisEnforcerExecutor(session);
    }

    @Override
    public int order() {
        return super.order() + 1;
    }
}
