"""A host's configuration: what the Pulumi program resolves at deploy time and hands to `idpkit host up`.

The program renders it into the launch template's user data (`/etc/idpkit/host.json`); it holds names,
ARNs and versions only, never a secret value (secrets stay in Secrets Manager and are read at boot).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from idpkit.errors import IdpkitError


@dataclass(frozen=True)
class HostConfig:
    """Everything one Keycloak host needs to know about its stack."""

    stack: str
    """The stack's name (`dev`, `staging`, `prod`): the `stack` of the host's outputs file."""
    region: str
    """AWS region of the stack."""
    realm: str
    """The hardened realm (realm-config's name): the mTLS endpoint aliases of discovery name it."""
    public_hostname: str
    """Browser-facing DNS name (Keycloak `hostname`)."""
    m2m_url: str
    """Root URL of the mutual-TLS listener (discovery's `mtls_endpoint_aliases`)."""
    admin_local_port: int
    """Port of the SSM admin port forward on an operator's machine (Keycloak `hostname-admin`)."""
    db_host: str
    """RDS endpoint host name."""
    db_port: int
    """RDS port."""
    db_name: str
    """Keycloak's database."""
    db_master_secret_arn: str
    """RDS-managed master user secret: used only to create the application roles, never by Keycloak."""
    db_app_secret_arn: str
    """The application credentials secret (alternating users `keycloak_a`/`keycloak_b`), written by the kit."""
    bootstrap_admin_secret_arn: str
    """Keycloak's bootstrap admin (only needed until the kit's admin service account exists)."""
    admin_credentials_secret_arn: str
    """The kit's admin service account (its secret tells whether the bootstrap admin is still needed)."""
    host_tls_secret_arn: str
    """The host certificate and key (JSON `certificate`, `private_key`)."""
    artifacts_bucket: str
    """Bucket of the staged Keycloak archive, RDS CA bundle and client CA bundle."""
    keycloak_object_key: str
    """Object key of the staged Keycloak archive (verified against the kit's pinned SHA-512)."""
    rds_ca_object_key: str
    """Object key of the region's RDS CA bundle."""
    client_ca_object_key: str
    """Object key of the mTLS client CA bundle (the load balancer trust store's source)."""
    client_ca_object_version: str
    """The bundle version the trust store pins; the host reads exactly that version."""
    server_log_group: str
    """CloudWatch log group of the Keycloak server log."""
    event_log_group: str
    """CloudWatch log group of Keycloak's login and admin events."""
    start_jitter_seconds: int = 0
    """Keycloak #41290: nodes starting at the same moment can form split clusters; each host waits a random
    0..N seconds before its first start (AWS: 120; a rehearsal starts its hosts one after the other)."""
    keycloak_heap: str | None = None
    """`JAVA_OPTS_KC_HEAP`; `None` keeps Keycloak's default (70% of the host's memory, a dedicated host)."""
    kms_provider_object_key: str | None = None
    """Object key of the staged KMS signing provider jar; `None`: imported signing keys, no provider."""
    kms_provider_sha256: str | None = None
    """The jar's SHA-256, pinned by the program at deploy time; the host refuses any other bytes."""
    kms_signer_role_arn: str | None = None
    """The hosts' sign-only role: Keycloak signs with KMS as this role, through a root-run refresher."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def parse_host_config(raw: Any, source: str) -> HostConfig:
    """Validate a decoded host configuration; every problem names the key."""
    if not isinstance(raw, dict):
        raise IdpkitError(f"{source}: a host configuration is a JSON object")
    known = {field.name: field for field in fields(HostConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise IdpkitError(f"{source}: unknown key(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, field in known.items():
        required = field.default is MISSING and field.default_factory is MISSING
        if name not in raw:
            if required:
                raise IdpkitError(f"{source}: {name}: is required")
            continue
        value = raw[name]
        expected = int if name in ("admin_local_port", "db_port", "start_jitter_seconds") else str
        if value is None and not required:
            values[name] = None
            continue
        if not isinstance(value, expected) or isinstance(value, bool) or (expected is str and not value):
            raise IdpkitError(f"{source}: {name}: must be a non-empty {expected.__name__}, got {value!r}")
        values[name] = value
    return HostConfig(**values)


def load_host_config(path: Path) -> HostConfig:
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise IdpkitError(f"{path}: cannot be read ({error.strerror})") from error
    except ValueError as error:
        raise IdpkitError(f"{path}: not valid JSON ({error})") from error
    return parse_host_config(raw, str(path))
