"""What a host writes, rendered from its configuration with the definitions the local stack uses too."""

from __future__ import annotations

import json

from idpkit.constants.keycloak import (
    BROWSER_PROXY_PORT,
    KEYCLOAK_HTTPS_PORT,
    M2M_PROXY_PORT,
    MANAGEMENT_PORT,
    PROXY_SOURCE_ADDRESS,
)
from idpkit.host.config import HostConfig
from idpkit.host.layout import PROXY_USER, HostLayout
from idpkit.keycloak_server.host_proxy import HostProxySettings
from idpkit.keycloak_server.options import ClientCertificateLookup, DatabaseSettings, ServerSettings

HOST_NAME = "localhost"
"""The name in the host certificate: Keycloak's, the host proxy's and the admin tunnel's."""


def server_settings(config: HostConfig, layout: HostLayout) -> ServerSettings:
    """The Keycloak options of every AWS host."""
    return ServerSettings(
        public_url=f"https://{config.public_hostname}",
        # The admin console is reached only through the SSM port forward (docs/aws.md).
        admin_url=f"https://localhost:{config.admin_local_port}",
        bind_address="127.0.0.1",
        https_port=KEYCLOAK_HTTPS_PORT,
        certificate_file=str(layout.host_certificate),
        certificate_key_file=str(layout.keycloak_key),
        # Only the host-local proxy, connecting from its own loopback address, may set X-Forwarded-* and
        # Client-Cert (RFC 9700 §4.13); the SSM tunnel and anything else on the host connect from 127.0.0.1.
        trusted_proxy_addresses=(PROXY_SOURCE_ADDRESS,),
        database=DatabaseSettings(
            vendor="postgres",
            host=config.db_host,
            port=config.db_port,
            database=config.db_name,
            # The role (keycloak_a or keycloak_b) comes with its password from the application secret at
            # each start (KC_DB_USERNAME, KC_DB_PASSWORD): host/database.py.
            username=None,
            # HIPAA 164.312(e)(1): TLS to the database, server identity checked against the RDS CA.
            url_properties=f"?sslmode=verify-full&sslrootcert={layout.rds_ca_bundle}",
        ),
        # The load balancer probes /health/ready here; the security group admits only the LB.
        management_bind_address="0.0.0.0",  # noqa: S104
        management_port=MANAGEMENT_PORT,
        clustered=True,
        log_file=str(layout.server_log),
        client_certificate_lookup=ClientCertificateLookup(client_ca_bundle=str(layout.client_ca_bundle)),
        discovery_override_file=str(layout.discovery_override),
    )


def proxy_settings(layout: HostLayout) -> HostProxySettings:
    """The host-local proxy of every AWS host."""
    return HostProxySettings(
        # The load balancer reaches the host's VPC address; the security group admits only the LB.
        bind_address="0.0.0.0",  # noqa: S104
        browser_port=BROWSER_PROXY_PORT,
        m2m_port=M2M_PROXY_PORT,
        keycloak_port=KEYCLOAK_HTTPS_PORT,
        certificate_bundle=str(layout.proxy_bundle),
        # Keycloak presents the same (self-signed, localhost) host certificate: pinned.
        keycloak_ca_file=str(layout.host_certificate),
        keycloak_server_name=HOST_NAME,
        run_as=PROXY_USER,
    )


def host_outputs(config: HostConfig, layout: HostLayout) -> str:
    """The outputs contract (idpkit/outputs.py) as a command on the host sees the stack.

    The public URLs are the stack's; the admin API is Keycloak's own loopback listener, verified with the
    host certificate (no SSM tunnel on the host itself); admin credentials come from Secrets Manager.
    """
    base_url = f"https://{config.public_hostname}"
    outputs = {
        "stack": config.stack,
        "base_url": base_url,
        "m2m_url": config.m2m_url,
        "admin_url": f"https://{HOST_NAME}:{KEYCLOAK_HTTPS_PORT}",
        "realm": config.realm,
        "issuer": f"{base_url}/realms/{config.realm}",
        # ACM certificates from a public CA: the system trust store verifies the public listeners.
        "ca_bundle": None,
        "admin_ca_bundle": str(layout.host_certificate),
        "admin_credentials": config.admin_credentials_secret_arn,
    }
    return json.dumps(outputs, indent=2) + "\n"


def cloudwatch_agent_config(config: HostConfig, layout: HostLayout) -> str:
    """Ships the server log, and Keycloak's events in it, to their log groups (HIPAA 164.312(b))."""
    server = {
        "file_path": str(layout.server_log),
        "log_group_name": config.server_log_group,
        "log_stream_name": "{instance_id}",
    }
    # Keycloak's jboss-logging event listener writes login and admin events in category org.keycloak.events.
    events = {
        "file_path": str(layout.server_log),
        "log_group_name": config.event_log_group,
        "log_stream_name": "{instance_id}",
        "filters": [{"type": "include", "expression": "org\\.keycloak\\.events"}],
    }
    agent = {
        "agent": {"run_as_user": "root"},
        "logs": {"logs_collected": {"files": {"collect_list": [server, events]}}},
    }
    return json.dumps(agent, indent=2) + "\n"
