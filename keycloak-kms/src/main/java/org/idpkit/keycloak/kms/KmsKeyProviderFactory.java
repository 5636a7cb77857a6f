package org.idpkit.keycloak.kms;

import java.net.URI;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.keycloak.component.ComponentModel;
import org.keycloak.component.ComponentValidationException;
import org.keycloak.keys.Attributes;
import org.keycloak.keys.KeyProviderFactory;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.ConfigurationValidationHelper;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * Key provider {@value #ID}: a realm signing key that lives in AWS KMS. The component's configuration
 * holds the KMS key's ARN, region, an endpoint override (emulation only) and the JWS algorithm, plus the
 * public key, fetched with {@code GetPublicKey} when the component is created and kept so JWKS and token
 * verification never depend on KMS being reachable. Nothing secret is stored anywhere in Keycloak.
 */
public final class KmsKeyProviderFactory implements KeyProviderFactory<KmsKeyProvider> {

    public static final String ID = "idpkit-kms";
    static final String KEY_ID = "kmsKeyId";
    static final String REGION = "kmsRegion";
    static final String ENDPOINT = "kmsEndpoint";
    static final String PUBLIC_KEY = "publicKey";
    private static final Pattern REGION_NAME = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d");
    private static final List<String> LOOPBACK = List.of("127.0.0.1", "localhost", "[::1]", "::1");
    private static final Map<String, KmsClient> CLIENTS = new ConcurrentHashMap<>();
    private static final Map<String, PublicKey> PUBLIC_KEYS = new ConcurrentHashMap<>();
    private static final CredentialsSource CREDENTIALS = CredentialsSource.fromEnvironment();

    private static final List<ProviderConfigProperty> CONFIG = ProviderConfigurationBuilder.create()
            .property(Attributes.PRIORITY_PROPERTY)
            .property(Attributes.ENABLED_PROPERTY)
            .property(Attributes.ACTIVE_PROPERTY)
            .property().name(Attributes.ALGORITHM_KEY).label("Algorithm")
                .helpText("JWS algorithm: PS256 (RSASSA_PSS_SHA_256) or ES256 (ECDSA_SHA_256)")
                .type(ProviderConfigProperty.LIST_TYPE).options("PS256", "ES256").defaultValue("ES256").add()
            .property().name(KEY_ID).label("KMS key")
                .helpText("ARN (or id, or alias: it is resolved and pinned to the key's ARN) of an asymmetric "
                        + "SIGN_VERIFY KMS key").type(ProviderConfigProperty.STRING_TYPE).add()
            .property().name(REGION).label("KMS region").helpText("Region of the KMS key, e.g. eu-west-1")
                .type(ProviderConfigProperty.STRING_TYPE).add()
            .property().name(ENDPOINT).label("KMS endpoint override")
                .helpText("Empty on AWS (https://kms.<region>.amazonaws.com). An emulation on loopback only.")
                .type(ProviderConfigProperty.STRING_TYPE).add()
            .property().name(PUBLIC_KEY).label("Public key")
                .helpText("Filled from KMS GetPublicKey when the component is saved (base64 SubjectPublicKeyInfo)")
                .type(ProviderConfigProperty.STRING_TYPE).add()
            .build();

    @Override
    public String getId() {
        return ID;
    }

    @Override
    public String getHelpText() {
        return "Signing key held in AWS KMS: Keycloak signs through KMS Sign and never holds the private key";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return CONFIG;
    }

    @Override
    public KmsKeyProvider create(KeycloakSession session, ComponentModel model) {
        return new KmsKeyProvider(model, client(model), publicKey(model.get(PUBLIC_KEY), algorithm(model)));
    }

    @Override
    public void validateConfiguration(KeycloakSession session, RealmModel realm, ComponentModel model)
            throws ComponentValidationException {
        ConfigurationValidationHelper.check(model)
                .checkLong(Attributes.PRIORITY_PROPERTY, false)
                .checkBoolean(Attributes.ENABLED_PROPERTY, false)
                .checkBoolean(Attributes.ACTIVE_PROPERTY, false)
                .checkSingle(KEY_ID, "KMS key", true)
                .checkSingle(REGION, "KMS region", true);
        SigningAlgorithms algorithm;
        try {
            algorithm = algorithm(model);
        } catch (IllegalArgumentException e) {
            throw new ComponentValidationException(e.getMessage());
        }
        if (!REGION_NAME.matcher(model.get(REGION)).matches()) {
            throw new ComponentValidationException("kmsRegion " + model.get(REGION) + " is not an AWS region name");
        }
        endpoint(model);
        String configured = model.get(PUBLIC_KEY);
        if (configured != null && !configured.isBlank()) {
            publicKey(configured, algorithm);
            return;
        }
        KmsClient.PublicKeyInfo info;
        try {
            info = client(model).publicKey(model.get(KEY_ID));
        } catch (KmsException e) {
            throw new ComponentValidationException("KMS key " + model.get(KEY_ID) + ": " + e.getMessage());
        }
        if (!"SIGN_VERIFY".equals(info.keyUsage()) || !algorithm.acceptsKeySpec(info.keySpec())
                || !info.signingAlgorithms().contains(algorithm.kmsAlgorithm())) {
            throw new ComponentValidationException("KMS key " + info.keyArn() + " (" + info.keySpec() + ", "
                    + info.keyUsage() + ") cannot sign " + algorithm.name() + " (" + algorithm.kmsAlgorithm() + ")");
        }
        // Pinned to the key itself: an alias moved later must not change which key signs under this kid.
        model.put(KEY_ID, info.keyArn());
        model.put(PUBLIC_KEY, Base64.getEncoder().encodeToString(info.subjectPublicKeyInfo()));
    }

    static SigningAlgorithms algorithm(ComponentModel model) {
        return SigningAlgorithms.forJws(model.get(Attributes.ALGORITHM_KEY, "ES256"));
    }

    private static URI endpoint(ComponentModel model) throws ComponentValidationException {
        String override = model.get(ENDPOINT);
        if (override == null || override.isBlank()) {
            return URI.create("https://kms." + model.get(REGION) + ".amazonaws.com");
        }
        URI uri;
        try {
            uri = URI.create(override.strip());
        } catch (IllegalArgumentException e) {
            throw new ComponentValidationException("kmsEndpoint " + override + " is not a URL");
        }
        boolean https = "https".equals(uri.getScheme());
        boolean loopbackHttp = "http".equals(uri.getScheme()) && LOOPBACK.contains(uri.getHost());
        if (uri.getHost() == null || !(https || loopbackHttp)) {
            throw new ComponentValidationException("kmsEndpoint " + override
                    + ": must be https, or http on loopback (an emulation)");
        }
        return uri;
    }

    private static KmsClient client(ComponentModel model) {
        URI endpoint = endpoint(model);
        String region = model.get(REGION);
        return CLIENTS.computeIfAbsent(endpoint + "|" + region,
                ignored -> new KmsClient(endpoint, region, CREDENTIALS, Clock.systemUTC()));
    }

    static PublicKey publicKey(String encoded, SigningAlgorithms algorithm) {
        if (encoded == null || encoded.isBlank()) {
            throw new ComponentValidationException("publicKey is missing: save the component so it is read from KMS");
        }
        return PUBLIC_KEYS.computeIfAbsent(algorithm.name() + ":" + encoded, ignored -> {
            try {
                return KeyFactory.getInstance(algorithm.keyType())
                        .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(encoded)));
            } catch (Exception e) {
                throw new ComponentValidationException("publicKey is not a " + algorithm.keyType()
                        + " SubjectPublicKeyInfo: " + e.getMessage());
            }
        });
    }
}
