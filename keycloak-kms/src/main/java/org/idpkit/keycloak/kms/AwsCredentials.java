package org.idpkit.keycloak.kms;

/** One set of AWS credentials; {@code toString} never shows the secret or the session token. */
public record AwsCredentials(String accessKeyId, String secretAccessKey, String sessionToken) {

    public AwsCredentials {
        if (accessKeyId == null || accessKeyId.isBlank() || secretAccessKey == null || secretAccessKey.isBlank()) {
            throw new IllegalArgumentException("AWS credentials need an access key id and a secret access key");
        }
        if (sessionToken != null && sessionToken.isBlank()) {
            sessionToken = null;
        }
    }

    @Override
    public String toString() {
        return "AwsCredentials[" + accessKeyId + (sessionToken != null ? ", temporary" : "") + "]";
    }
}
