package org.idpkit.keycloak.kms;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;

/**
 * Where Keycloak's KMS credentials come from, in this order:
 * <ol>
 *   <li>{@code AWS_ACCESS_KEY_ID} / {@code AWS_SECRET_ACCESS_KEY} / {@code AWS_SESSION_TOKEN} in the
 *       environment (the local stack and the rehearsal);</li>
 *   <li>the shared credentials file {@code AWS_SHARED_CREDENTIALS_FILE}, profile {@code AWS_PROFILE} or
 *       {@code default}, re-read whenever it changes (AWS hosts: a root-run refresher writes short-lived
 *       credentials of the sign-only role there, readable by Keycloak's user alone).</li>
 * </ol>
 * Deliberately no instance metadata: the hosts block it for Keycloak's user, so a stolen Keycloak process
 * cannot borrow the instance role; it can only sign, and only while the refresher keeps the file fresh.
 */
public final class CredentialsSource {

    private final Map<String, String> environment;
    private Path cachedPath;
    private FileTime cachedModified;
    private AwsCredentials cached;

    public CredentialsSource(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    public static CredentialsSource fromEnvironment() {
        return new CredentialsSource(System.getenv());
    }

    public synchronized AwsCredentials current() throws KmsException {
        String accessKeyId = environment.get("AWS_ACCESS_KEY_ID");
        if (accessKeyId != null && !accessKeyId.isBlank()) {
            return new AwsCredentials(accessKeyId, environment.get("AWS_SECRET_ACCESS_KEY"),
                    environment.get("AWS_SESSION_TOKEN"));
        }
        String file = environment.get("AWS_SHARED_CREDENTIALS_FILE");
        if (file == null || file.isBlank()) {
            throw new KmsException("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                    + "AWS_SHARED_CREDENTIALS_FILE in Keycloak's environment", false);
        }
        Path path = Path.of(file);
        try {
            FileTime modified = Files.getLastModifiedTime(path);
            if (cached == null || !path.equals(cachedPath) || !modified.equals(cachedModified)) {
                String profile = environment.getOrDefault("AWS_PROFILE", "default");
                cached = parse(Files.readString(path, StandardCharsets.UTF_8), profile, file);
                cachedPath = path;
                cachedModified = modified;
            }
            return cached;
        } catch (IOException e) {
            throw new KmsException("AWS credentials file " + file + " cannot be read (" + e.getClass().getSimpleName()
                    + "); is the credentials refresher running?", false);
        }
    }

    /** The INI profile {@code profile} of a shared credentials file. */
    static AwsCredentials parse(String content, String profile, String source) throws KmsException {
        Map<String, String> values = new HashMap<>();
        String section = null;
        for (String raw : content.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                section = line.substring(1, line.length() - 1).strip();
                continue;
            }
            int equals = line.indexOf('=');
            if (profile.equals(section) && equals > 0) {
                values.put(line.substring(0, equals).strip(), line.substring(equals + 1).strip());
            }
        }
        try {
            return new AwsCredentials(values.get("aws_access_key_id"), values.get("aws_secret_access_key"),
                    values.get("aws_session_token"));
        } catch (IllegalArgumentException e) {
            throw new KmsException("AWS credentials file " + source + ": profile [" + profile
                    + "] has no aws_access_key_id/aws_secret_access_key", false);
        }
    }
}
