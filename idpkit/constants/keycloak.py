"""Keycloak deployment facts shared by the AWS hosts, the Pulumi program, the local stack and the smoke suite.

Ports on an AWS host (the local stack shifts its own to loopback ports, `idpkit.local.layout`):
  8443  host proxy (HAProxy), browser traffic from the load balancer (every certificate header stripped)
  8445  host proxy, machine traffic from the mutual-TLS listener: the ALB's verified
        X-Amzn-Mtls-Clientcert-Leaf re-encoded as RFC 9440 Client-Cert
  8444  Keycloak HTTPS on 127.0.0.1: reached by the host proxy (from PROXY_SOURCE_ADDRESS, the only address
        whose forwarded and certificate headers Keycloak trusts) and by the SSM admin port forward
  9000  Keycloak management (health, metrics), for load balancer health checks
  7800, 57800  JGroups (jdbc-ping) cluster traffic and its failure detection, host to host
"""

from __future__ import annotations

MINIMUM_JAVA_MAJOR = 17
"""Keycloak 26 runs on Java 17 (deprecated) and newer; hosts install Corretto 21."""

BROWSER_PROXY_PORT = 8443
M2M_PROXY_PORT = 8445
KEYCLOAK_HTTPS_PORT = 8444
MANAGEMENT_PORT = 9000
JGROUPS_PORT = 7800
JGROUPS_FD_PORT = 57800
"""JGroups FD_SOCK2 failure detection listens on the cluster port + 50000."""

HEALTH_CHECK_PATH = "/health/ready"
"""Readiness on the management port: what load balancers and `idpkit host up` wait for."""

PROXY_SOURCE_ADDRESS = "127.0.0.2"
"""The host proxy's own loopback source address; Keycloak trusts proxy and certificate headers from it only."""

DB_NAME = "keycloak"
"""Keycloak's database, on RDS and in the kit's own PostgreSQL."""

DEFAULT_ADMIN_LOCAL_PORT = 9443
"""Local port of the SSM admin port forward (`admin_url` is `https://localhost:<port>`)."""

ADMIN_PATHS = ("/admin", "/realms/master")
"""Never served on a public listener: the admin console/API and the master (administration) realm."""

DEFAULT_SIGNATURE_ALGORITHM = "RS256"
"""What Keycloak signs a realm's tokens with when neither the client nor the realm names an algorithm."""
REALM_SIGNED_TOKEN_ATTRIBUTES = (
    "access.token.signed.response.alg",
    "id.token.signed.response.alg",
    "user.info.response.signature.alg",
    "authorization.signed.response.alg",
)
"""Client attributes choosing the algorithm of a token the realm signs with its own keys (Keycloak's
DefaultTokenManager.signatureAlgorithm: access; ID and logout; userinfo; authorization response). Unset, the
realm's defaultSignatureAlgorithm applies; Keycloak's internal tokens (refresh, action tokens) are HS512 with its
`hmac-generated` key. An algorithm no active key serves makes Keycloak generate a `fallback-<alg>` key, private
half in its database (DefaultKeyManager.getActiveKey)."""
