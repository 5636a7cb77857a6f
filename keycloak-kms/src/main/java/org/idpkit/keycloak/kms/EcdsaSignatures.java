package org.idpkit.keycloak.kms;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * KMS returns ECDSA signatures DER-encoded (SEQUENCE of two INTEGERs); JWS (RFC 7518 §3.4) needs the fixed
 * width concatenation r || s, each left-padded to the curve's byte length (32 for P-256).
 */
public final class EcdsaSignatures {

    private EcdsaSignatures() {
    }

    public static byte[] derToConcatenated(byte[] der, int partLength) throws KmsException {
        try {
            int[] position = {0};
            expect(der, position, 0x30);
            int sequenceLength = length(der, position);
            if (position[0] + sequenceLength != der.length) {
                throw new KmsException("ECDSA signature: DER sequence length does not match", false);
            }
            byte[] out = new byte[2 * partLength];
            for (int part = 0; part < 2; part++) {
                expect(der, position, 0x02);
                int integerLength = length(der, position);
                BigInteger value = new BigInteger(1, Arrays.copyOfRange(der, position[0], position[0] + integerLength));
                position[0] += integerLength;
                byte[] unsigned = value.toByteArray();
                int skip = unsigned.length > partLength ? unsigned.length - partLength : 0;
                if (unsigned.length - skip > partLength || (skip > 0 && !leadingZeros(unsigned, skip))) {
                    throw new KmsException("ECDSA signature: integer longer than the curve allows", false);
                }
                int copied = unsigned.length - skip;
                System.arraycopy(unsigned, skip, out, part * partLength + partLength - copied, copied);
            }
            if (position[0] != der.length) {
                throw new KmsException("ECDSA signature: trailing bytes after the DER sequence", false);
            }
            return out;
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new KmsException("ECDSA signature: truncated DER", false);
        }
    }

    private static boolean leadingZeros(byte[] data, int count) {
        for (int i = 0; i < count; i++) {
            if (data[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static void expect(byte[] der, int[] position, int tag) throws KmsException {
        if ((der[position[0]++] & 0xff) != tag) {
            throw new KmsException("ECDSA signature: not the DER structure KMS returns", false);
        }
    }

    private static int length(byte[] der, int[] position) throws KmsException {
        int first = der[position[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int bytes = first & 0x7f;
        if (bytes > 2) {
            throw new KmsException("ECDSA signature: DER length too large", false);
        }
        int value = 0;
        for (int i = 0; i < bytes; i++) {
            value = (value << 8) | (der[position[0]++] & 0xff);
        }
        return value;
    }
}
