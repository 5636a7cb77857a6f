package org.idpkit.keycloak.kms;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 for one request (header form), as the SigV4 documentation and its published
 * test suite define it. The KMS client needs only POST "/" with a JSON body, but the canonical request is
 * built in general so the published vectors (GET with a query, POST) check every step.
 */
public final class SigV4 {

    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private SigV4() {
    }

    /** The headers to add to the request: {@code x-amz-date}, the session token if any, and {@code authorization}. */
    public static Map<String, String> sign(String method, String path, Map<String, String> query,
                                           Map<String, String> headers, byte[] payload, AwsCredentials credentials,
                                           String region, String service, Instant now) {
        String amzDate = AMZ_DATE.format(now);
        String date = amzDate.substring(0, 8);
        TreeMap<String, String> signed = new TreeMap<>();
        headers.forEach((name, value) -> signed.put(name.toLowerCase(Locale.ROOT), trim(value)));
        signed.put("x-amz-date", amzDate);
        if (credentials.sessionToken() != null) {
            signed.put("x-amz-security-token", credentials.sessionToken());
        }
        String signedHeaders = String.join(";", signed.keySet());
        String canonicalRequest = method + "\n"
                + path + "\n"
                + canonicalQuery(query) + "\n"
                + signed.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue() + "\n").collect(Collectors.joining())
                + "\n"
                + signedHeaders + "\n"
                + hex(sha256(payload));
        String scope = date + "/" + region + "/" + service + "/aws4_request";
        String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n"
                + hex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
        byte[] key = signingKey(credentials.secretAccessKey(), date, region, service);
        String signature = hex(hmac(key, stringToSign));
        TreeMap<String, String> added = new TreeMap<>();
        added.put("x-amz-date", amzDate);
        if (credentials.sessionToken() != null) {
            added.put("x-amz-security-token", credentials.sessionToken());
        }
        added.put("authorization", ALGORITHM + " Credential=" + credentials.accessKeyId() + "/" + scope
                + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature);
        return added;
    }

    /** kSigning = HMAC chain over the date, region, service and "aws4_request", keyed by "AWS4" + secret. */
    static byte[] signingKey(String secretAccessKey, String date, String region, String service) {
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), date);
        key = hmac(key, region);
        key = hmac(key, service);
        return hmac(key, "aws4_request");
    }

    static String canonicalQuery(Map<String, String> query) {
        return new TreeMap<>(query).entrySet().stream()
                .map(e -> uriEncode(e.getKey()) + "=" + uriEncode(e.getValue()))
                .collect(Collectors.joining("&"));
    }

    /** RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex. */
    static String uriEncode(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private static String trim(String value) {
        return value.trim().replaceAll(" +", " ");
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this Java runtime", e);
        }
    }

    static String hex(byte[] data) {
        return HexFormat.of().formatHex(data);
    }
}
