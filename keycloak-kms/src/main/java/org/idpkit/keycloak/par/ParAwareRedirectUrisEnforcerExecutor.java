package org.idpkit.keycloak.par;

import org.keycloak.OAuthErrorException;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.endpoints.request.AuthorizationEndpointRequestParserProcessor;
import org.keycloak.protocol.oidc.endpoints.request.RequestUriType;
import org.keycloak.services.clientpolicy.ClientPolicyContext;
import org.keycloak.services.clientpolicy.ClientPolicyException;
import org.keycloak.services.clientpolicy.context.AuthorizationRequestContext;
import org.keycloak.services.clientpolicy.context.PreAuthorizationRequestContext;
import org.keycloak.services.clientpolicy.executor.SecureRedirectUrisEnforcerExecutor;

/**
 * Keycloak's secure-redirect-uris-enforcer, able to check pushed authorization requests (RFC 9126).
 *
 * <p>Keycloak 26.7's enforcer checks the redirect_uri of the authorization endpoint's query. A client that
 * pushed its request sends only client_id and request_uri there (RFC 9126 section 4, FAPI 2.0), so the
 * enforcer met a null URI and the server answered 500: every spec-following PAR client failed. Here the
 * pushed request's redirect_uri is the one checked, with the same rules; a request that names no
 * redirect URI anywhere is refused as invalid rather than crashing.
 */
public class ParAwareRedirectUrisEnforcerExecutor extends SecureRedirectUrisEnforcerExecutor {

    public ParAwareRedirectUrisEnforcerExecutor(KeycloakSession session) {
        super(session);
    }

    @Override
    public void executeOnEvent(ClientPolicyContext context) throws ClientPolicyException {
        switch (context.getEvent()) {
            case PRE_AUTHORIZATION_REQUEST -> {
                PreAuthorizationRequestContext pre = (PreAuthorizationRequestContext) context;
                if (queryRedirectUri(pre) == null && isPushed(pre)) {
                    return; // the pushed request's redirect_uri is checked at AUTHORIZATION_REQUEST, once it is read
                }
                super.executeOnEvent(context);
            }
            case AUTHORIZATION_REQUEST -> {
                AuthorizationRequestContext request = (AuthorizationRequestContext) context;
                if (request.getRedirectUri() != null) {
                    super.executeOnEvent(context);
                    return;
                }
                String pushed = request.getAuthorizationEndpointRequest().getRedirectUri();
                if (pushed == null) {
                    throw new ClientPolicyException(OAuthErrorException.INVALID_REQUEST, "Invalid parameter: redirect_uri");
                }
                super.executeOnEvent(new AuthorizationRequestContext(request.getParsedResponseType(),
                        request.getAuthorizationEndpointRequest(), pushed, request.getRequestParameters(),
                        request.getAuthenticationSession()));
            }
            default -> super.executeOnEvent(context);
        }
    }

    private static String queryRedirectUri(PreAuthorizationRequestContext context) {
        return context.getRequestParameters().getFirst(OIDCLoginProtocol.REDIRECT_URI_PARAM);
    }

    private static boolean isPushed(PreAuthorizationRequestContext context) {
        String requestUri = context.getRequestParameters().getFirst(OIDCLoginProtocol.REQUEST_URI_PARAM);
        return requestUri != null
                && AuthorizationEndpointRequestParserProcessor.getRequestUriType(requestUri) == RequestUriType.PAR;
    }
}
