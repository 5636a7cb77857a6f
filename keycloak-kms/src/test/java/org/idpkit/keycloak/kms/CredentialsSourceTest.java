package org.idpkit.keycloak.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsSourceTest {

    @Test
    void environmentCredentialsComeFirst() throws Exception {
        AwsCredentials found = new CredentialsSource(Map.of("AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "s",
                "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")).current();
        assertEquals("AKID", found.accessKeyId());
        assertNull(found.sessionToken());
    }

    @Test
    void theSharedFileIsReReadWhenTheRefresherRewritesIt(@TempDir Path directory) throws Exception {
        Path file = directory.resolve("credentials");
        Files.writeString(file, "[default]\naws_access_key_id = AKID1\naws_secret_access_key = s1\naws_session_token = t1\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(1_000_000));
        CredentialsSource source = new CredentialsSource(Map.of("AWS_SHARED_CREDENTIALS_FILE", file.toString()));
        assertEquals("t1", source.current().sessionToken());
        Files.writeString(file, "[other]\naws_access_key_id = X\n[default]\naws_access_key_id = AKID2\naws_secret_access_key = s2\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(2_000_000));
        assertEquals("AKID2", source.current().accessKeyId());
    }

    @Test
    void aMissingFileSaysWhatToCheck(@TempDir Path directory) {
        CredentialsSource source = new CredentialsSource(Map.of("AWS_SHARED_CREDENTIALS_FILE",
                directory.resolve("absent").toString()));
        KmsException error = assertThrows(KmsException.class, source::current);
        assertFalse(error.retryable());
        assertEquals(true, error.getMessage().contains("refresher"));
    }

    @Test
    void noCredentialsAtAllIsRefused() {
        assertThrows(KmsException.class, () -> new CredentialsSource(Map.of()).current());
    }

    @Test
    void toStringNeverShowsTheSecret() {
        assertFalse(new AwsCredentials("AKID", "very-secret", "token-secret").toString().contains("secret"));
    }
}
