package org.idpkit.keycloak.kms;

import org.keycloak.common.VerificationException;
import org.keycloak.crypto.KeyUse;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.SignatureException;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.crypto.SignatureVerifierContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * Keycloak's signature provider for one algorithm, with one change: a key held in KMS signs through KMS.
 * Every other key, and every verification, is Keycloak's own code (the delegate).
 */
final class KmsAwareSignatureProvider implements SignatureProvider {

    private final KeycloakSession session;
    private final String algorithm;
    private final SignatureProvider builtIn;

    KmsAwareSignatureProvider(KeycloakSession session, String algorithm, SignatureProvider builtIn) {
        this.session = session;
        this.algorithm = algorithm;
        this.builtIn = builtIn;
    }

    @Override
    public SignatureSignerContext signer() throws SignatureException {
        RealmModel realm = session.getContext().getRealm();
        KeyWrapper key = session.keys().getActiveKey(realm, KeyUse.SIG, algorithm);
        if (key == null) {
            throw new SignatureException("Active key for " + algorithm + " not found");
        }
        return signer(key);
    }

    @Override
    public SignatureSignerContext signer(KeyWrapper key) throws SignatureException {
        if (key.getPrivateKey() instanceof KmsSigningKey kmsKey) {
            SignatureProvider.checkKeyForSignature(key, algorithm, SigningAlgorithms.forJws(algorithm).keyType());
            return new KmsSignerContext(key, kmsKey);
        }
        return builtIn.signer(key);
    }

    @Override
    public SignatureVerifierContext verifier(String kid) throws VerificationException {
        return builtIn.verifier(kid);
    }

    @Override
    public SignatureVerifierContext verifier(KeyWrapper key) throws VerificationException {
        return builtIn.verifier(key);
    }

    @Override
    public boolean isAsymmetricAlgorithm() {
        return true;
    }
}
