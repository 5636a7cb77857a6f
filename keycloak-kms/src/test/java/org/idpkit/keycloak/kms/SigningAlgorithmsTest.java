package org.idpkit.keycloak.kms;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import org.junit.jupiter.api.Test;

/**
 * The provider's last check before it issues a signature: exactly the JWS PS256 parameters. AWS KMS signs
 * RSASSA_PSS_SHA_256 with a 32-byte salt; moto 5.2.5 uses the maximum salt, which JWS verifiers reject,
 * and so must the provider (it fails closed rather than issue such a token).
 */
class SigningAlgorithmsTest {

    private static final byte[] INPUT = "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ4In0".getBytes(StandardCharsets.US_ASCII);

    @Test
    void ps256WithTheDigestLengthSaltVerifies() throws Exception {
        KeyPair pair = rsa();
        assertTrue(SigningAlgorithms.PS256.verifies(pair.getPublic(), INPUT, pss(pair, 32)));
    }

    @Test
    void ps256WithTheMaximumSaltIsRefused() throws Exception {
        KeyPair pair = rsa();
        assertFalse(SigningAlgorithms.PS256.verifies(pair.getPublic(), INPUT, pss(pair, 256 - 32 - 2)));
    }

    @Test
    void aSignatureOverOtherBytesIsRefused() throws Exception {
        KeyPair pair = rsa();
        assertFalse(SigningAlgorithms.PS256.verifies(pair.getPublic(), "other".getBytes(StandardCharsets.US_ASCII),
                pss(pair, 32)));
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        return generator.generateKeyPair();
    }

    private static byte[] pss(KeyPair pair, int saltLength) throws Exception {
        Signature signer = Signature.getInstance("RSASSA-PSS");
        signer.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, saltLength, 1));
        signer.initSign(pair.getPrivate());
        signer.update(INPUT);
        return signer.sign();
    }
}
