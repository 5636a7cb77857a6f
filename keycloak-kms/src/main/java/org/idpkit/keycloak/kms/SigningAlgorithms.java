package org.idpkit.keycloak.kms;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Map;

/** The JWS algorithms the provider signs with, and what each means at KMS and in the JDK. */
public enum SigningAlgorithms {

    /** RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 bytes (RFC 7518 §3.5; what AWS KMS does). */
    PS256("RSASSA_PSS_SHA_256", "RSA", java.util.Set.of("RSA_2048", "RSA_3072", "RSA_4096"), 0),
    /** ECDSA P-256 SHA-256; KMS answers DER, JWS wants r || s (RFC 7518 §3.4). */
    ES256("ECDSA_SHA_256", "EC", java.util.Set.of("ECC_NIST_P256"), 32);

    private static final Map<String, SigningAlgorithms> BY_JWS = Map.of("PS256", PS256, "ES256", ES256);

    private final String kmsAlgorithm;
    private final String keyType;
    private final java.util.Set<String> keySpecs;
    private final int ecdsaPartLength;

    SigningAlgorithms(String kmsAlgorithm, String keyType, java.util.Set<String> keySpecs, int ecdsaPartLength) {
        this.kmsAlgorithm = kmsAlgorithm;
        this.keyType = keyType;
        this.keySpecs = keySpecs;
        this.ecdsaPartLength = ecdsaPartLength;
    }

    public static SigningAlgorithms forJws(String jws) {
        SigningAlgorithms found = BY_JWS.get(jws);
        if (found == null) {
            throw new IllegalArgumentException("algorithm " + jws + ": KMS signing supports PS256 and ES256 only");
        }
        return found;
    }

    public String kmsAlgorithm() {
        return kmsAlgorithm;
    }

    /** Keycloak's key type (`RSA`, `EC`), also the JDK's key algorithm. */
    public String keyType() {
        return keyType;
    }

    public boolean acceptsKeySpec(String keySpec) {
        return keySpecs.contains(keySpec);
    }

    /** The JWS signature bytes for what KMS returned (ECDSA: DER to r || s; RSA-PSS: as is). */
    public byte[] toJws(byte[] kmsSignature) throws KmsException {
        return ecdsaPartLength > 0 ? EcdsaSignatures.derToConcatenated(kmsSignature, ecdsaPartLength) : kmsSignature;
    }

    /** A JDK verifier with exactly the JWS parameters, so a signature that JWS verifiers reject is never issued. */
    public boolean verifies(PublicKey publicKey, byte[] signingInput, byte[] jwsSignature) {
        try {
            Signature verifier;
            if (this == PS256) {
                verifier = Signature.getInstance("RSASSA-PSS");
                verifier.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
            } else {
                verifier = Signature.getInstance("SHA256withECDSAinP1363Format");
            }
            verifier.initVerify(publicKey);
            verifier.update(signingInput);
            return verifier.verify(jwsSignature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
