package org.idpkit.keycloak.kms;

import java.util.Set;
import org.keycloak.crypto.Algorithm;
import org.keycloak.crypto.ECDSASignatureProvider;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureProviderFactory;
import org.keycloak.models.KeycloakSession;

/** Replaces Keycloak's ES256 signature provider (same id, higher order): KMS keys sign through KMS. */
public final class Es256SignatureProviderFactory implements SignatureProviderFactory {

    @Override
    public String getId() {
        return Algorithm.ES256;
    }

    @Override
    public int order() {
        return Ps256SignatureProviderFactory.ORDER;
    }

    @Override
    public SignatureProvider create(KeycloakSession session) {
        return new KmsAwareSignatureProvider(session, Algorithm.ES256, new ECDSASignatureProvider(session, Algorithm.ES256));
    }

    @Override
    public Set<String> getJwkPrivateKeyClaims() {
        return EC_PRIVATE_JWK_CLAIMS;
    }
}
