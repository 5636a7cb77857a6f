package org.idpkit.keycloak.kms;

import java.security.PrivateKey;

/**
 * What Keycloak holds where a private key would be: the name of a key that lives in KMS, and nothing
 * secret. {@link #getEncoded()} has nothing to give, so no code path can export, cache or log key
 * material, and a signer that does not know this class fails instead of signing (fail closed).
 */
public final class KmsSigningKey implements PrivateKey {

    private static final long serialVersionUID = 1L;

    private final String keyArn;
    private final String keyType;
    private final transient KmsClient client;

    KmsSigningKey(String keyArn, String keyType, KmsClient client) {
        this.keyArn = keyArn;
        this.keyType = keyType;
        this.client = client;
    }

    public String keyArn() {
        return keyArn;
    }

    KmsClient client() {
        return client;
    }

    @Override
    public String getAlgorithm() {
        return keyType;
    }

    /** No encoding: the private key never leaves KMS. */
    @Override
    public String getFormat() {
        return null;
    }

    @Override
    public byte[] getEncoded() {
        return null;
    }

    @Override
    public String toString() {
        return "KmsSigningKey[" + keyArn + "]";
    }
}
