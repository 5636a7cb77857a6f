package org.idpkit.keycloak.smart;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.util.Map;
import org.keycloak.models.KeycloakSession;
import org.keycloak.util.JsonSerialization;
import org.keycloak.wellknown.WellKnownProvider;

/** Serves {@code /realms/<realm>/.well-known/smart-configuration} from the OIDC discovery and the realm attribute. */
final class SmartConfigurationProvider implements WellKnownProvider {

    private static final TypeReference<Map<String, Object>> FIELDS = new TypeReference<>() { };
    private final KeycloakSession session;
    private final Map<String, Object> declared;

    SmartConfigurationProvider(KeycloakSession session, Map<String, Object> declared) {
        this.session = session;
        this.declared = declared;
    }

    @Override
    public Object getConfig() {
        WellKnownProvider oidc = session.getProvider(WellKnownProvider.class, SmartConfigurationProviderFactory.OIDC);
        return SmartConfiguration.document(fields(oidc.getConfig()), declared);
    }

    static Map<String, Object> parse(String text) throws IOException {
        return JsonSerialization.readValue(text, FIELDS);
    }

    private static Map<String, Object> fields(Object representation) {
        return JsonSerialization.mapper.convertValue(representation, FIELDS);
    }

    @Override
    public void close() {
    }
}
