package org.idpkit.keycloak.smart;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SMART App Launch v2 discovery document: the endpoints copied from the realm's OpenID Connect
 * discovery (so the two never disagree), the SMART-specific lists from the realm attribute
 * {@value #ATTRIBUTE} that {@code idpkit realm apply} writes from realm-config. Every list the OIDC
 * document also carries is narrowed to what that document supports: the SMART document never claims
 * more than the server does.
 */
public final class SmartConfiguration {

    /** The realm attribute holding the kit's SMART settings (JSON, snake_case keys). */
    public static final String ATTRIBUTE = "smart.configuration";
    /** SMART v2 requires S256 and forbids {@code plain}. */
    static final String PKCE_METHOD = "S256";
    /** Only the authorization code flow launches a SMART app. */
    static final String RESPONSE_TYPE = "code";
    static final List<String> ENDPOINTS = List.of(
            "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint",
            "introspection_endpoint", "userinfo_endpoint");
    static final List<String> NARROWED = List.of("grant_types_supported", "token_endpoint_auth_methods_supported");
    static final List<String> DECLARED = List.of("capabilities", "scopes_supported");

    private SmartConfiguration() {
    }

    /**
     * The document for one realm.
     *
     * @param oidc the realm's OpenID Connect discovery document, as JSON fields
     * @param declared the realm attribute's fields
     */
    public static Map<String, Object> document(Map<String, Object> oidc, Map<String, Object> declared) {
        Map<String, Object> document = new LinkedHashMap<>();
        for (String field : ENDPOINTS) {
            if (oidc.get(field) != null) {
                document.put(field, oidc.get(field));
            }
        }
        for (String field : NARROWED) {
            document.put(field, narrowed(strings(declared.get(field)), strings(oidc.get(field))));
        }
        document.put("code_challenge_methods_supported",
                narrowed(List.of(PKCE_METHOD), strings(oidc.get("code_challenge_methods_supported"))));
        document.put("response_types_supported",
                narrowed(List.of(RESPONSE_TYPE), strings(oidc.get("response_types_supported"))));
        for (String field : DECLARED) {
            document.put(field, strings(declared.get(field)));
        }
        return document;
    }

    private static List<String> narrowed(List<String> wanted, List<String> supported) {
        return wanted.stream().filter(supported::contains).toList();
    }

    private static List<String> strings(Object value) {
        if (!(value instanceof List<?> list)) {
            return List.of();
        }
        return list.stream().filter(String.class::isInstance).map(String.class::cast).toList();
    }
}
