package org.idpkit.keycloak.smart;

import java.io.IOException;
import java.util.Map;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.wellknown.WellKnownProvider;
import org.keycloak.wellknown.WellKnownProviderFactory;

/**
 * Well-known provider {@value #ID}. A realm without the {@value SmartConfiguration#ATTRIBUTE} attribute
 * (or with one that is not a JSON object) gets no provider, so Keycloak answers 404: a realm
 * realm-config does not declare SMART for advertises nothing.
 */
public final class SmartConfigurationProviderFactory implements WellKnownProviderFactory {

    public static final String ID = "smart-configuration";
    static final String OIDC = "openid-configuration";
    private static final Logger LOG = Logger.getLogger(SmartConfigurationProviderFactory.class);

    @Override
    public WellKnownProvider create(KeycloakSession session) {
        RealmModel realm = session.getContext().getRealm();
        String text = realm == null ? null : realm.getAttribute(SmartConfiguration.ATTRIBUTE);
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            Map<String, Object> declared = SmartConfigurationProvider.parse(text);
            return new SmartConfigurationProvider(session, declared);
        } catch (IOException | RuntimeException error) {
            LOG.warnf("realm %s: attribute %s is not a JSON object (%s); serving no SMART configuration",
                    realm.getName(), SmartConfiguration.ATTRIBUTE, error.getMessage());
            return null;
        }
    }

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getAlias() {
        return ID;
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }
}
