package org.idpkit.keycloak.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** DER (what KMS returns) to JWS r || s, checked against the JDK's own P1363 verifier. */
class EcdsaSignaturesTest {

    /** 2000 signatures: about 1 in 128 has a short r or s, which must be left-padded. */
    @Test
    void everyDerSignatureVerifiesAsConcatenatedRs() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = generator.generateKeyPair();
        int shortParts = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] message = ("token " + i).getBytes(StandardCharsets.UTF_8);
            Signature der = Signature.getInstance("SHA256withECDSA");
            der.initSign(pair.getPrivate());
            der.update(message);
            byte[] derSignature = der.sign();
            byte[] raw = EcdsaSignatures.derToConcatenated(derSignature, 32);
            // A leading zero byte in r or s is padding the conversion added (DER drops it); counting
            // DER lengths under 70 instead missed most such signatures and failed about one run in 50.
            shortParts += raw[0] == 0 || raw[32] == 0 ? 1 : 0;
            assertEquals(64, raw.length);
            Signature p1363 = Signature.getInstance("SHA256withECDSAinP1363Format");
            p1363.initVerify(pair.getPublic());
            p1363.update(message);
            assertTrue(p1363.verify(raw), "signature " + i + " does not verify as r || s");
        }
        assertTrue(shortParts > 0, "no signature exercised the left-padding of a short r or s");
    }

    @Test
    void shortIntegersAreLeftPadded() throws Exception {
        byte[] der = {0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07};
        byte[] raw = EcdsaSignatures.derToConcatenated(der, 32);
        assertEquals(5, raw[31]);
        assertEquals(7, raw[63]);
        assertArrayEquals(new byte[31], java.util.Arrays.copyOfRange(raw, 0, 31));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "31", "3006020105020107ff", "3007020105020107", "30060301050201 07", "3026022100"})
    void malformedDerIsRefused(String hex) {
        byte[] der = java.util.HexFormat.of().parseHex(hex.replace(" ", ""));
        assertThrows(KmsException.class, () -> EcdsaSignatures.derToConcatenated(der, 32));
    }
}
