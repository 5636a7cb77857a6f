package org.idpkit.keycloak.kms;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.keycloak.util.JsonSerialization;

/**
 * The two KMS operations Keycloak needs, {@code Sign} and {@code GetPublicKey}, over the JDK's HttpClient.
 *
 * <p>Every call is bounded: a connect timeout, a per-attempt timeout, at most {@link #ATTEMPTS} attempts with
 * jittered backoff on transport errors, throttling and 5xx, and none on answers that another attempt cannot
 * change (access denied, disabled or deleted key). After a call has used all its attempts the client fails
 * fast for {@link #OPEN_CIRCUIT} so a KMS outage costs token requests milliseconds, not seconds each.
 */
public final class KmsClient {

    static final int ATTEMPTS = 3;
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);
    static final Duration OPEN_CIRCUIT = Duration.ofSeconds(2);
    private static final String CONTENT_TYPE = "application/x-amz-json-1.1";
    private static final List<String> RETRYABLE_TYPES = List.of(
            "ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "LimitExceededException");

    private final URI endpoint;
    private final String region;
    private final CredentialsSource credentials;
    private final HttpClient http;
    private final Clock clock;
    private volatile long openUntilMillis;
    private volatile String lastFailure;

    public KmsClient(URI endpoint, String region, CredentialsSource credentials, Clock clock) {
        this.endpoint = endpoint;
        this.region = region;
        this.credentials = credentials;
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    public URI endpoint() {
        return endpoint;
    }

    public String region() {
        return region;
    }

    /** The signature KMS makes over {@code message} (RAW) or over its digest (DIGEST), as KMS returns it. */
    public byte[] sign(String keyId, byte[] message, String messageType, String signingAlgorithm) throws KmsException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("KeyId", keyId);
        body.put("Message", Base64.getEncoder().encodeToString(message));
        body.put("MessageType", messageType);
        body.put("SigningAlgorithm", signingAlgorithm);
        Map<?, ?> answer = call("Sign", body);
        Object signature = answer.get("Signature");
        if (!(signature instanceof String encoded)) {
            throw new KmsException("KMS Sign answered without a signature", false);
        }
        return Base64.getDecoder().decode(encoded);
    }

    /** What {@code GetPublicKey} says about a key. */
    public record PublicKeyInfo(String keyArn, byte[] subjectPublicKeyInfo, String keySpec, String keyUsage,
                                List<String> signingAlgorithms) {
    }

    public PublicKeyInfo publicKey(String keyId) throws KmsException {
        Map<?, ?> answer = call("GetPublicKey", Map.of("KeyId", keyId));
        Object publicKey = answer.get("PublicKey");
        if (!(publicKey instanceof String encoded)) {
            throw new KmsException("KMS GetPublicKey answered without a public key", false);
        }
        Object algorithms = answer.get("SigningAlgorithms");
        // KMS answers KeySpec and its deprecated synonym CustomerMasterKeySpec; either names the key type.
        Object keySpec = answer.containsKey("KeySpec") ? answer.get("KeySpec") : answer.get("CustomerMasterKeySpec");
        return new PublicKeyInfo(String.valueOf(answer.get("KeyId")), Base64.getDecoder().decode(encoded),
                String.valueOf(keySpec), String.valueOf(answer.get("KeyUsage")),
                algorithms instanceof List<?> list ? list.stream().map(String::valueOf).toList() : List.of());
    }

    private Map<?, ?> call(String operation, Map<String, Object> body) throws KmsException {
        long now = clock.millis();
        if (now < openUntilMillis) {
            throw new KmsException("KMS " + endpoint + " failed moments ago (" + lastFailure
                    + "); failing fast until it answers again", true);
        }
        byte[] payload;
        try {
            payload = JsonSerialization.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new KmsException("cannot encode the KMS " + operation + " request", false);
        }
        KmsException failure = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                Map<?, ?> answer = attempt(operation, payload);
                openUntilMillis = 0;
                return answer;
            } catch (KmsException e) {
                failure = e;
                if (!e.retryable()) {
                    throw e;
                }
                if (attempt < ATTEMPTS) {
                    sleep(backoffMillis(attempt));
                }
            }
        }
        lastFailure = failure.getMessage();
        openUntilMillis = clock.millis() + OPEN_CIRCUIT.toMillis();
        throw new KmsException(failure.getMessage() + " (after " + ATTEMPTS + " attempts)", true);
    }

    private Map<?, ?> attempt(String operation, byte[] payload) throws KmsException {
        Map<String, String> headers = new TreeMap<>();
        headers.put("content-type", CONTENT_TYPE);
        headers.put("host", hostHeader());
        headers.put("x-amz-target", "TrentService." + operation);
        Map<String, String> added = SigV4.sign("POST", "/", Map.of(), headers, payload, credentials.current(),
                region, "kms", clock.instant());
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve("/"))
                .timeout(ATTEMPT_TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(payload))
                .header("Content-Type", CONTENT_TYPE)
                .header("X-Amz-Target", "TrentService." + operation);
        added.forEach(request::header);
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpTimeoutException e) {
            throw new KmsException("KMS " + operation + " timed out after " + ATTEMPT_TIMEOUT.toMillis() + " ms at "
                    + endpoint, true);
        } catch (IOException e) {
            throw new KmsException("KMS " + endpoint + " unreachable (" + e.getClass().getSimpleName()
                    + (e.getMessage() != null ? ": " + e.getMessage() : "") + ")", true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KmsException("interrupted while calling KMS " + operation, false);
        }
        Map<?, ?> answer = parse(response.body());
        int status = response.statusCode();
        if (status == 200) {
            return answer;
        }
        Object declaredType = answer.get("__type");
        String type = declaredType != null ? String.valueOf(declaredType) : "HTTP " + status;
        type = type.substring(type.lastIndexOf('#') + 1);
        Object message = answer.containsKey("message") ? answer.get("message") : answer.get("Message");
        boolean retryable = status >= 500 || status == 429 || RETRYABLE_TYPES.contains(type);
        throw new KmsException("KMS " + operation + " refused: " + type + (message != null ? " (" + message + ")" : ""),
                retryable);
    }

    private String hostHeader() {
        int port = endpoint.getPort();
        return port == -1 ? endpoint.getHost() : endpoint.getHost() + ":" + port;
    }

    private static Map<?, ?> parse(byte[] body) {
        if (body == null || body.length == 0) {
            return Map.of();
        }
        try {
            Map<?, ?> parsed = JsonSerialization.readValue(body, Map.class);
            return parsed != null ? parsed : Map.of();
        } catch (IOException e) {
            return Map.<String, Object>of("message", new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8));
        }
    }

    private static long backoffMillis(int attempt) {
        long base = 50L * (1L << (2 * (attempt - 1)));
        return base + ThreadLocalRandom.current().nextLong(base);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
