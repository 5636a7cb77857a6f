"""Keycloak server options: the one definition the local stack and the AWS hosts both render.

Both environments describe themselves with a `ServerSettings` and write the result of
`render_keycloak_conf` to `conf/keycloak.conf`, so a hardening change lands in both at once.
Secrets (database password, bootstrap admin) never appear here: Keycloak reads them from the
environment of its process (`KC_DB_PASSWORD`, `KC_BOOTSTRAP_ADMIN_*`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from idpkit.constants.aws import POSTGRES_PORT
from idpkit.constants.keycloak import MANAGEMENT_PORT

# TLS 1.3 suites, then the TLS 1.2 AEAD + ECDHE suites BCP 195 (RFC 9325 §4.2) recommends.
BCP195_CIPHER_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)
TLS_PROTOCOLS = ("TLSv1.3", "TLSv1.2")
# The same TLS 1.2 suites in OpenSSL names, for the proxies (TLS 1.3 suites are OpenSSL's defaults).
BCP195_OPENSSL_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)

# Preview feature: the RFC 7523 JWT bearer grant (`jwt-authorization-grant`, Keycloak 26.5+).
ENABLED_FEATURES = ("jwt-authorization-grant",)


@dataclass(frozen=True)
class DatabaseSettings:
    """Where Keycloak keeps its state."""

    vendor: Literal["dev-file", "postgres"]
    """`dev-file` (embedded, single node, local stack default) or `postgres`."""
    host: str | None = None
    """PostgreSQL host name; required for `postgres`."""
    port: int = POSTGRES_PORT
    """PostgreSQL port."""
    database: str = "keycloak"
    """PostgreSQL database name."""
    username: str | None = None
    """PostgreSQL user; `None`: `KC_DB_USERNAME` in the process environment (AWS hosts' alternating roles).
    The password always comes from `KC_DB_PASSWORD` in the process environment."""
    url_properties: str = ""
    """Appended to the JDBC URL, e.g. `?sslmode=verify-full&sslrootcert=/etc/idpkit/rds-ca.pem`."""


@dataclass(frozen=True)
class ClientCertificateLookup:
    """How Keycloak reads a client certificate forwarded by the trusted host-local proxy."""

    provider: Literal["rfc9440"] = "rfc9440"
    """Keycloak's x509 lookup provider; the host-local proxy speaks RFC 9440 `Client-Cert`."""
    header: str = "Client-Cert"
    """Header carrying the verified leaf certificate."""
    chain_header: str = "Client-Cert-Chain"
    """Header carrying the chain, when forwarded."""
    certificate_chain_length: int = 1
    """How many chain certificates Keycloak reads."""
    client_ca_bundle: str | None = None
    """PEM bundle of the client CAs: Keycloak re-validates each forwarded certificate's chain against it
    (`x509.casubjectdn` on clients needs it), so a certificate is checked at the proxy and in Keycloak."""


@dataclass(frozen=True)
class ServerSettings:
    """Everything that differs between one Keycloak deployment and another."""

    public_url: str
    """Browser-facing root URL (`hostname`), e.g. `https://localhost:8443` or `https://id.example.org`."""
    admin_url: str
    """Root URL of the admin console (`hostname-admin`); never served through the public listener."""
    bind_address: str
    """Address Keycloak's HTTPS listener binds to (`http-host`)."""
    https_port: int
    """Keycloak's HTTPS port."""
    certificate_file: str
    """PEM server certificate (chain) path."""
    certificate_key_file: str
    """PEM private key path, readable only by the Keycloak user."""
    trusted_proxy_addresses: tuple[str, ...]
    """Only these addresses may set `X-Forwarded-*` (and, with mTLS, certificate) headers."""
    database: DatabaseSettings
    """Database settings."""
    management_bind_address: str = "127.0.0.1"
    """Address of the management interface (health, metrics); loopback unless a load balancer probes it."""
    management_port: int = MANAGEMENT_PORT
    """Management interface port."""
    clustered: bool = False
    """`True`: Infinispan cluster discovered through the database (`jdbc-ping`); `False`: one node."""
    log_file: str | None = None
    """Server log file; `None` logs to the console only."""
    client_certificate_lookup: ClientCertificateLookup | None = None
    """Header-based client certificate lookup behind a proxy; `None` disables it."""
    discovery_override_file: str | None = None
    """JSON file merged into every realm's discovery document (see `discovery_override`); `None`: none."""
    features: tuple[str, ...] = field(default=ENABLED_FEATURES)
    """Keycloak features enabled beyond the defaults."""

    def __post_init__(self) -> None:
        for name in ("public_url", "admin_url"):
            if not getattr(self, name).startswith("https://"):
                raise ValueError(f"{name}: must be an https:// URL, got {getattr(self, name)!r}")
        if not self.trusted_proxy_addresses:
            raise ValueError("trusted_proxy_addresses: at least one proxy address is required")
        if self.database.vendor == "postgres" and not self.database.host:
            raise ValueError("database: postgres needs a host")


def server_options(settings: ServerSettings) -> dict[str, str]:
    """The Keycloak options for `settings`, in the order they are written to keycloak.conf."""
    options: dict[str, str] = {
        # Hostname v2: tokens, redirects and discovery always use these URLs, never the request's Host.
        "hostname": settings.public_url,
        "hostname-admin": settings.admin_url,
        "hostname-strict": "true",
        "hostname-backchannel-dynamic": "false",
        # HTTPS only (HIPAA 164.312(e)(1)); BCP 195 protocols and suites.
        "http-enabled": "false",
        "http-host": settings.bind_address,
        "https-port": str(settings.https_port),
        "https-certificate-file": settings.certificate_file,
        "https-certificate-key-file": settings.certificate_key_file,
        "https-protocols": ",".join(TLS_PROTOCOLS),
        "https-cipher-suites": ",".join(BCP195_CIPHER_SUITES),
        # Forwarded headers count only when sent by the kit's own proxy (RFC 9700 §4.13).
        "proxy-headers": "xforwarded",
        "proxy-trusted-addresses": ",".join(settings.trusted_proxy_addresses),
        # Health and metrics on the management interface only.
        "health-enabled": "true",
        "metrics-enabled": "true",
        "http-management-host": settings.management_bind_address,
        "http-management-port": str(settings.management_port),
        # Successful logins, token exchanges and admin actions reach the server log (shipped to CloudWatch
        # on AWS), not only failures: HIPAA 164.312(b) audit controls.
        "spi-events-listener--jboss-logging--success-level": "info",
    }
    options.update(_database_options(settings.database))
    if settings.clustered:
        options.update({"cache": "ispn", "cache-stack": "jdbc-ping"})
    else:
        options["cache"] = "local"
    if settings.features:
        options["features"] = ",".join(settings.features)
    if settings.log_file:
        options.update({"log": "console,file", "log-file": settings.log_file})
    if settings.client_certificate_lookup:
        options.update(_certificate_lookup_options(settings.client_certificate_lookup))
    if settings.discovery_override_file:
        options["spi-well-known--openid-configuration--openid-configuration-override"] = (
            settings.discovery_override_file
        )
    return options


# Endpoints a mutual-TLS client calls (RFC 8705 §5); Keycloak would advertise them on the browser URL.
_MTLS_ENDPOINTS = {
    "token_endpoint": "protocol/openid-connect/token",
    "revocation_endpoint": "protocol/openid-connect/revoke",
    "introspection_endpoint": "protocol/openid-connect/token/introspect",
    "device_authorization_endpoint": "protocol/openid-connect/auth/device",
    "userinfo_endpoint": "protocol/openid-connect/userinfo",
    "pushed_authorization_request_endpoint": "protocol/openid-connect/ext/par/request",
}


def discovery_override(m2m_url: str, realm: str) -> str:
    """Discovery fields Keycloak cannot derive itself: `mtls_endpoint_aliases` on the M2M listener.

    Keycloak copies its ordinary endpoints into `mtls_endpoint_aliases`; its documented hook for
    changing them is this override file, which applies to every realm. The kit serves one public
    realm (the master realm is never public), so the aliases name that realm.
    """
    realm_url = f"{m2m_url}/realms/{realm}"
    aliases = {name: f"{realm_url}/{path}" for name, path in _MTLS_ENDPOINTS.items()}
    return json.dumps({"tls_client_certificate_bound_access_tokens": True, "mtls_endpoint_aliases": aliases}, indent=2)


def render_keycloak_conf(settings: ServerSettings) -> str:
    """`conf/keycloak.conf` content for `settings`."""
    lines = ["# Rendered by idpkit from idpkit/keycloak_server/options.py: edit that file, not this one."]
    lines += [f"{key}={value}" for key, value in server_options(settings).items()]
    return "\n".join(lines) + "\n"


def _database_options(database: DatabaseSettings) -> dict[str, str]:
    if database.vendor == "dev-file":
        return {"db": "dev-file"}
    assert database.host  # checked in ServerSettings.__post_init__
    options = {
        "db": "postgres",
        "db-url-host": database.host,
        "db-url-port": str(database.port),
        "db-url-database": database.database,
    }
    if database.username:
        options["db-username"] = database.username
    if database.url_properties:
        options["db-url-properties"] = database.url_properties
    return options


def _certificate_lookup_options(lookup: ClientCertificateLookup) -> dict[str, str]:
    prefix = f"spi-x509cert-lookup--{lookup.provider}"
    options = {
        "spi-x509cert-lookup--provider": lookup.provider,
        f"{prefix}--ssl-client-cert": lookup.header,
        f"{prefix}--ssl-cert-chain": lookup.chain_header,
        f"{prefix}--certificate-chain-length": str(lookup.certificate_chain_length),
    }
    if lookup.client_ca_bundle:
        options["truststore-paths"] = lookup.client_ca_bundle
    return options
