package org.idpkit.keycloak.kms;

import java.security.PublicKey;
import org.jboss.logging.Logger;
import org.keycloak.crypto.JavaAlgorithm;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.SignatureException;
import org.keycloak.crypto.SignatureSignerContext;

/**
 * Signs one JWS signing input with KMS {@code Sign}. Fail closed: any KMS failure, and any signature that
 * does not verify under the published public key with the exact JWS parameters, throws, so Keycloak
 * issues no token rather than an unsigned, locally signed or unverifiable one.
 */
final class KmsSignerContext implements SignatureSignerContext {

    /** KMS signs a RAW message of at most 4096 bytes; larger signing inputs are sent as their SHA-256 digest. */
    static final int RAW_MESSAGE_LIMIT = 4096;
    private static final Logger LOG = Logger.getLogger(KmsSignerContext.class);

    private final KeyWrapper key;
    private final KmsSigningKey kmsKey;
    private final SigningAlgorithms algorithm;

    KmsSignerContext(KeyWrapper key, KmsSigningKey kmsKey) {
        this.key = key;
        this.kmsKey = kmsKey;
        this.algorithm = SigningAlgorithms.forJws(key.getAlgorithm());
    }

    @Override
    public String getKid() {
        return key.getKid();
    }

    @Override
    public String getAlgorithm() {
        return key.getAlgorithm();
    }

    @Override
    public String getHashAlgorithm() {
        return JavaAlgorithm.getJavaAlgorithmForHash(key.getAlgorithmOrDefault(), key.getCurve());
    }

    @Override
    public byte[] sign(byte[] data) throws SignatureException {
        boolean raw = data.length <= RAW_MESSAGE_LIMIT;
        byte[] signature;
        try {
            byte[] kmsSignature = kmsKey.client().sign(kmsKey.keyArn(), raw ? data : SigV4.sha256(data),
                    raw ? "RAW" : "DIGEST", algorithm.kmsAlgorithm());
            signature = algorithm.toJws(kmsSignature);
        } catch (KmsException e) {
            LOG.errorf("idpkit-kms: no token signed with kid %s: %s (fail closed: nothing is signed locally)",
                    key.getKid(), e.getMessage());
            throw new SignatureException("KMS signing failed for kid " + key.getKid() + ": " + e.getMessage());
        }
        if (!algorithm.verifies((PublicKey) key.getPublicKey(), data, signature)) {
            LOG.errorf("idpkit-kms: KMS key %s returned a %s signature that does not verify under the published "
                    + "public key (kid %s) with the JWS parameters; refusing to issue it", kmsKey.keyArn(),
                    key.getAlgorithm(), key.getKid());
            throw new SignatureException("KMS signature for kid " + key.getKid() + " does not verify; not issued");
        }
        return signature;
    }
}
