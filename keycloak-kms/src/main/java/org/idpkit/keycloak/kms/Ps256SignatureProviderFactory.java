package org.idpkit.keycloak.kms;

import java.util.Set;
import org.keycloak.crypto.Algorithm;
import org.keycloak.crypto.AsymmetricSignatureProvider;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureProviderFactory;
import org.keycloak.models.KeycloakSession;

/** Replaces Keycloak's PS256 signature provider (same id, higher order): KMS keys sign through KMS. */
public final class Ps256SignatureProviderFactory implements SignatureProviderFactory {

    /** Above Keycloak's built-in (0), so Keycloak picks this factory for the id. */
    static final int ORDER = 100;

    @Override
    public String getId() {
        return Algorithm.PS256;
    }

    @Override
    public int order() {
        return ORDER;
    }

    @Override
    public SignatureProvider create(KeycloakSession session) {
        return new KmsAwareSignatureProvider(session, Algorithm.PS256, new AsymmetricSignatureProvider(session, Algorithm.PS256));
    }

    @Override
    public Set<String> getJwkPrivateKeyClaims() {
        return RSA_PRIVATE_JWK_CLAIMS;
    }
}
