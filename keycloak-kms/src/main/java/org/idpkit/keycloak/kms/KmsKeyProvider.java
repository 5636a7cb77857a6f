package org.idpkit.keycloak.kms;

import java.security.PublicKey;
import java.util.stream.Stream;
import org.keycloak.common.util.KeyUtils;
import org.keycloak.component.ComponentModel;
import org.keycloak.crypto.KeyStatus;
import org.keycloak.crypto.KeyUse;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.keys.Attributes;
import org.keycloak.keys.KeyProvider;

/**
 * One KMS key as Keycloak sees it: published from the stored public key (no KMS call), so JWKS, token
 * verification and key listings work whether or not KMS answers; only signing needs KMS.
 */
public final class KmsKeyProvider implements KeyProvider {

    private final KeyWrapper key;

    KmsKeyProvider(ComponentModel model, KmsClient client, PublicKey publicKey) {
        SigningAlgorithms algorithm = KmsKeyProviderFactory.algorithm(model);
        KeyWrapper wrapper = new KeyWrapper();
        wrapper.setProviderId(model.getId());
        wrapper.setProviderPriority(model.get(Attributes.PRIORITY_KEY, 0L));
        wrapper.setKid(KeyUtils.createKeyId(publicKey));
        wrapper.setUse(KeyUse.SIG);
        wrapper.setType(algorithm.keyType());
        wrapper.setAlgorithm(algorithm.name());
        if (algorithm == SigningAlgorithms.ES256) {
            wrapper.setCurve("P-256");
        }
        wrapper.setStatus(KeyStatus.from(model.get(Attributes.ACTIVE_KEY, true), model.get(Attributes.ENABLED_KEY, true)));
        wrapper.setPublicKey(publicKey);
        wrapper.setPrivateKey(new KmsSigningKey(model.get(KmsKeyProviderFactory.KEY_ID), algorithm.keyType(), client));
        this.key = wrapper;
    }

    @Override
    public Stream<KeyWrapper> getKeysStream() {
        return Stream.of(key);
    }
}
