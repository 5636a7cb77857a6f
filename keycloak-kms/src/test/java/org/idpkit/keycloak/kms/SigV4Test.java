package org.idpkit.keycloak.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Known answers: AWS's published SigV4 test suite and documentation, and botocore for the exact KMS request shape. */
class SigV4Test {

    private static final AwsCredentials SUITE = new AwsCredentials("AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    private static final Instant SUITE_TIME = Instant.parse("2015-08-30T12:36:00Z");

    @Test
    void getVanillaFromTheTestSuite() {
        Map<String, String> added = SigV4.sign("GET", "/", Map.of(), Map.of("host", "example.amazonaws.com"),
                new byte[0], SUITE, "us-east-1", "service", SUITE_TIME);
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", added.get("authorization"));
        assertEquals("20150830T123600Z", added.get("x-amz-date"));
    }

    @Test
    void postVanillaFromTheTestSuite() {
        Map<String, String> added = SigV4.sign("POST", "/", Map.of(), Map.of("host", "example.amazonaws.com"),
                new byte[0], SUITE, "us-east-1", "service", SUITE_TIME);
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", added.get("authorization"));
    }

    @Test
    void signingKeyFromTheDocumentation() {
        assertEquals("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
                SigV4.hex(SigV4.signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")));
    }

    @Test
    void queryIsSortedAndRfc3986Encoded() {
        assertEquals("Param1=value1&Param2=value2", SigV4.canonicalQuery(Map.of("Param2", "value2", "Param1", "value1")));
        assertEquals("a=x%20y&b=%2F~", SigV4.canonicalQuery(Map.of("b", "/~", "a", "x y")));
    }

    /** The request the provider sends (JSON body, x-amz-target, session token), signed by botocore's SigV4Auth. */
    @Test
    void kmsSignRequestAgreesWithBotocore() {
        byte[] body = ("{\"KeyId\":\"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\","
                + "\"Message\":\"aGVsbG8=\",\"MessageType\":\"RAW\",\"SigningAlgorithm\":\"ECDSA_SHA_256\"}")
                .getBytes(StandardCharsets.UTF_8);
        Map<String, String> added = SigV4.sign("POST", "/", Map.of(),
                Map.of("content-type", "application/x-amz-json-1.1", "host", "kms.eu-west-1.amazonaws.com",
                        "x-amz-target", "TrentService.Sign"),
                body, new AwsCredentials(SUITE.accessKeyId(), SUITE.secretAccessKey(), "session-token-example"),
                "eu-west-1", "kms", Instant.parse("2026-11-29T15:27:11Z"));
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-west-1/kms/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                + "Signature=d649e787b56c4826430c666bb7af13481b79a204c745ef6d66f933509b3f506c", added.get("authorization"));
        assertEquals("session-token-example", added.get("x-amz-security-token"));
    }
}
