package org.idpkit.keycloak.smart;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SmartConfigurationTest {

    private static final Map<String, Object> OIDC = Map.of(
            "issuer", "https://idp.example/realms/phi",
            "token_endpoint", "https://idp.example/realms/phi/protocol/openid-connect/token",
            "grant_types_supported", List.of("authorization_code", "implicit", "password", "client_credentials"),
            "token_endpoint_auth_methods_supported", List.of("private_key_jwt", "client_secret_basic"),
            "code_challenge_methods_supported", List.of("plain", "S256"),
            "response_types_supported", List.of("code", "token", "id_token"));

    @Test
    void endpointsComeFromTheOidcDocument() {
        Map<String, Object> document = SmartConfiguration.document(OIDC, Map.of());
        assertEquals(OIDC.get("issuer"), document.get("issuer"));
        assertEquals(OIDC.get("token_endpoint"), document.get("token_endpoint"));
    }

    @Test
    void pkceIsS256OnlyAndResponseTypeCodeOnly() {
        Map<String, Object> document = SmartConfiguration.document(OIDC, Map.of());
        assertEquals(List.of("S256"), document.get("code_challenge_methods_supported"));
        assertEquals(List.of("code"), document.get("response_types_supported"));
    }

    @Test
    void declaredListsAreNarrowedToWhatTheServerSupports() {
        Map<String, Object> declared = Map.of(
                "grant_types_supported", List.of("authorization_code", "urn:example:unsupported"),
                "token_endpoint_auth_methods_supported", List.of("private_key_jwt", "tls_client_auth"));
        Map<String, Object> document = SmartConfiguration.document(OIDC, declared);
        assertEquals(List.of("authorization_code"), document.get("grant_types_supported"));
        assertEquals(List.of("private_key_jwt"), document.get("token_endpoint_auth_methods_supported"));
    }

    @Test
    void capabilitiesAndScopesAreTheDeclaredOnes() {
        Map<String, Object> declared = Map.of(
                "capabilities", List.of("launch-standalone", "permission-v2"), "scopes_supported", List.of("openid"));
        Map<String, Object> document = SmartConfiguration.document(OIDC, declared);
        assertEquals(List.of("launch-standalone", "permission-v2"), document.get("capabilities"));
        assertEquals(List.of("openid"), document.get("scopes_supported"));
    }
}
