package org.idpkit.keycloak.smart;

import java.util.List;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.ProtocolMapperModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.mappers.AbstractOIDCProtocolMapper;
import org.keycloak.protocol.oidc.mappers.OIDCAccessTokenResponseMapper;
import org.keycloak.protocol.oidc.mappers.OIDCIDTokenMapper;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.representations.AccessTokenResponse;
import org.keycloak.representations.IDToken;

/**
 * Protocol mapper {@value #ID}: SMART's patient launch context. Puts the signed-in person's patient id (a user
 * attribute, {@value #DEFAULT_ATTRIBUTE} unless configured) into the token response as {@code patient}, where
 * SMART App Launch puts launch context, and into the ID token when its {@code id.token.claim} is on. Keycloak's
 * own user-attribute mapper writes tokens only, never the token response. Attached to the {@code launch/patient}
 * client scope, it runs only when an app is granted that scope; a person with no such attribute gets no
 * {@code patient} parameter (the app must then not assume a patient context).
 */
public final class PatientContextMapper extends AbstractOIDCProtocolMapper
        implements OIDCAccessTokenResponseMapper, OIDCIDTokenMapper {

    public static final String ID = "idpkit-smart-patient-context";
    static final String USER_ATTRIBUTE = "user.attribute";
    static final String DEFAULT_ATTRIBUTE = "smart_patient_id";
    static final String CLAIM = "patient";
    private static final List<ProviderConfigProperty> CONFIG = ProviderConfigurationBuilder.create()
            .property().name(USER_ATTRIBUTE).label("User attribute").type(ProviderConfigProperty.STRING_TYPE)
            .defaultValue(DEFAULT_ATTRIBUTE).helpText("The user attribute holding the person's FHIR Patient id").add()
            .build();

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getDisplayType() {
        return "SMART patient context";
    }

    @Override
    public String getDisplayCategory() {
        return TOKEN_MAPPER_CATEGORY;
    }

    @Override
    public String getHelpText() {
        return "The person's patient id (a user attribute) as SMART's `patient` launch context parameter.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return CONFIG;
    }

    static String patientOf(ProtocolMapperModel model, UserSessionModel userSession) {
        String attribute = model.getConfig().getOrDefault(USER_ATTRIBUTE, DEFAULT_ATTRIBUTE);
        String value = userSession.getUser().getFirstAttribute(attribute);
        return value == null || value.isBlank() ? null : value;
    }

    @Override
    protected void setClaim(AccessTokenResponse response, ProtocolMapperModel model, UserSessionModel userSession,
            KeycloakSession session, ClientSessionContext context) {
        String patient = patientOf(model, userSession);
        if (patient != null) {
            response.setOtherClaims(CLAIM, patient);
        }
    }

    @Override
    protected void setClaim(IDToken token, ProtocolMapperModel model, UserSessionModel userSession,
            KeycloakSession session, ClientSessionContext context) {
        String patient = patientOf(model, userSession);
        if (patient != null) {
            token.getOtherClaims().put(CLAIM, patient);
        }
    }
}
