"""Typed, validated configuration of an AWS stack (`stacks/Pulumi.<stack>.yaml`).

`load_stack_config()` reads every `idpkit:*` key once, checks it, and fails with a `ValueError`
naming the key before the program declares any resource. Defaults are the hardened choice; every
weakening is a named key that non-production stacks set on purpose, that `prod` rejects, and that
the program announces as a warning on each run (`AwsStackConfig.weakenings`).

Secrets (`bootstrapAdminPassword`, `hostTlsKey`) are set with `pulumi config set --secret` and are
only ever handled as `pulumi.Output` secrets, so they stay encrypted in config and state.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import pulumi

from idpkit.constants.aws import ANYWHERE_IPV4 as ANYWHERE
from idpkit.constants.aws import (
    DEFAULT_AMI_PARAMETER,
    DEFAULT_M2M_PORT,
    DEFAULT_POSTGRES_VERSION,
    HIPAA_RETENTION_DAYS,
    HTTP_PORT,
    HTTPS_PORT,
    LOG_RETENTION_DAYS,
    SUPPORTED_POSTGRES_MAJORS,
    TLS_POLICIES,
)
from idpkit.constants.keycloak import DEFAULT_ADMIN_LOCAL_PORT
from idpkit.errors import IdpkitError
from idpkit.keycloak_server.kms_provider import JAR_NAME, SIGNING_CHOICES, SigningChoice
from idpkit.realm.declared import realm_name

NAMESPACE = "idpkit"

Environment = Literal["dev", "staging", "prod"]
LockMode = Literal["COMPLIANCE", "GOVERNANCE"]

# The created VPC carves one subnet per tier and zone out of 16 equal blocks.
MAX_AVAILABILITY_ZONES = 4

# The kit's host wheelhouse, relative to the project directory: `idpkit host wheelhouse` writes it before
# `pulumi up` and the program uploads it (components/artifacts.py). Hosts have no package index.
HOST_WHEELHOUSE = "build/host-wheelhouse-{architecture}.tar"
HOST_WHEELHOUSE_STEP = "idpkit host wheelhouse --arch {architecture}"
# The kit's KMS signing provider jar, staged the same way: `idpkit host kms-provider` builds it (Maven) and
# copies it here; the program uploads it and pins its SHA-256 in the host configuration.
KMS_PROVIDER_JAR = f"build/{JAR_NAME}"
KMS_PROVIDER_STEP = "idpkit host kms-provider"

# Keys set with `pulumi config set --secret` (docs/aws.md); never written into a stack file.
SECRET_KEYS = ("bootstrapAdminPassword", "hostTlsKey")

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_AZ = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
_PEM_CRL = re.compile(r"-----BEGIN X509 CRL-----\s+[A-Za-z0-9+/=\s]+-----END X509 CRL-----")


@dataclass(frozen=True)
class NetworkSettings:
    """Where the stack runs: a VPC the program creates, or an existing one."""

    vpc_id: str | None
    """Existing VPC id (`vpc-…`); `None` (default) creates a VPC."""
    vpc_cidr: str
    """CIDR of a created VPC, /16 to /20; default `10.40.0.0/16`."""
    availability_zones: tuple[str, ...]
    """At least two AZs for a created VPC (HA); ignored with `vpc_id`."""
    public_subnet_ids: tuple[str, ...] = ()
    """Existing VPC only: >= 2 public subnets for the load balancer."""
    private_subnet_ids: tuple[str, ...] = ()
    """Existing VPC only: >= 2 private subnets for the Keycloak hosts."""
    database_subnet_ids: tuple[str, ...] = ()
    """Existing VPC only: >= 2 isolated subnets for RDS."""
    create_vpc_endpoints: bool = True
    """Create the interface/gateway endpoints the hosts need (no internet egress); default `True`."""


@dataclass(frozen=True)
class AwsStackConfig:
    """Everything one AWS stack needs, validated."""

    stack: str
    """Pulumi stack name; resource names start with `idpkit-<stack>`."""
    environment: Environment
    """`dev`, `staging` or `prod`; `prod` rejects every weakening."""
    region: str
    """`aws:region`."""
    account_id: str
    """The only account the stack may deploy to (`aws:allowedAccountIds`, exactly one)."""
    realm: str
    """The hardened realm's name: realm-config's for `environment` (never a stack key, so the two cannot
    disagree)."""
    public_hostname: str
    """Browser-facing DNS name; `base_url` is `https://<public_hostname>`."""
    m2m_hostname: str
    """Machine-to-machine (mutual TLS) DNS name."""
    m2m_port: int
    """Port of the mutual-TLS listener on the shared load balancer; default 8443 (80 and 443 belong to the
    redirect and browser listeners)."""
    m2m_allowed_cidrs: tuple[str, ...]
    """Config `m2mAllowedCidrs`: the public IPv4 networks (at most 10) the mutual-TLS listener admits, in the
    load balancer's security group and the public subnets' network ACL. Unset (default): anywhere, because the
    listener already refuses every client without a certificate from the trusted CAs."""
    certificate_arn: str
    """ACM certificate for `public_hostname`."""
    m2m_certificate_arn: str
    """ACM certificate for `m2m_hostname`; default `certificate_arn`."""
    tls_policy: str
    """Resolved ELB TLS policy name (config `tlsPolicy`: `standard` or `fips`)."""
    key_administrator_arns: tuple[str, ...]
    """IAM roles/users that administer (never use) the KMS keys."""
    network: NetworkSettings
    """Network placement."""
    instance_type: str
    """EC2 instance type of the Keycloak hosts; default `m7i.large`."""
    min_instances: int
    """Minimum (and desired) Keycloak hosts; default 2, `prod` requires >= 2."""
    max_instances: int
    """Maximum Keycloak hosts; default 4."""
    ami_parameter: str
    """SSM public parameter naming the AMI (Amazon Linux 2023)."""
    admin_local_port: int
    """Local port the SSM port forward listens on; `admin_url` is `https://localhost:<port>`. Default 9443."""
    db_instance_class: str
    """RDS instance class; default `db.m7g.large`."""
    db_engine_version: str
    """PostgreSQL version, `16`/`17` or `17.x`; default `17`."""
    db_allocated_storage_gb: int
    """Initial storage (GiB, >= 20); default 50."""
    db_max_allocated_storage_gb: int
    """Storage autoscaling ceiling (GiB); default 200."""
    db_multi_az: bool
    """Standby in a second AZ; default `True`, required in `prod`."""
    db_backup_retention_days: int
    """Automated backups kept (1-35); default 14, `prod` requires >= 7."""
    deletion_protection: bool
    """Deletion protection on the database and load balancer; default `True`, required in `prod`."""
    log_retention_days: int
    """CloudWatch retention of Keycloak, WAF and RDS logs; default 2192 (HIPAA 164.316(b)(2))."""
    audit_lock_mode: LockMode
    """Object Lock mode of the log buckets; default `COMPLIANCE`, required in `prod`."""
    audit_retention_days: int
    """Object Lock retention of the log buckets; default 2192, `prod` requires >= 2192."""
    create_cloudtrail: bool
    """Create a multi-region CloudTrail trail; default `True`. Set `False` only when an organization
    trail already records this account."""
    token_rate_limit: int
    """WAF requests per client IP per 5 minutes to the token/PAR endpoints; default 300 (>= 10)."""
    mtls_client_ca_bundle: str
    """PEM bundle of the CAs that issue machine-client certificates (the ALB trust store)."""
    mtls_client_crl: str
    """PEM CRL of that CA, loaded as a trust-store revocation list."""
    host_tls_certificate: str
    """PEM certificate (CN/SAN `localhost`) the hosts serve inside the VPC and to the admin tunnel."""
    signing: SigningChoice
    """Config `signing`: where the realm's signing keys live. `kms` (default): created in KMS by the rotation,
    Keycloak signs through the kit's provider as a sign-only role and never holds a private key. `imported`:
    kit-generated key material in Secrets Manager, imported into Keycloak's database (a weakening; refused in
    `prod`)."""
    bootstrap_admin_password: pulumi.Output[str]
    """Secret: Keycloak's temporary bootstrap admin password (replaced by the kit's service account)."""
    host_tls_key: pulumi.Output[str]
    """Secret: PEM private key of `host_tls_certificate`."""
    weakenings: tuple[str, ...] = field(default=())
    """Human-readable list of the opt-outs this stack uses; empty in `prod`."""

    @property
    def name(self) -> str:
        """Prefix of every resource name."""
        return f"idpkit-{self.stack}"


class _Reader:
    """Reads `idpkit:*` keys and turns every failure into a ValueError naming the key."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.config = pulumi.Config(NAMESPACE)
        self.seen: set[str] = set()

    def raw(self, key: str) -> str | None:
        self.seen.add(key)
        return self.values.get(f"{NAMESPACE}:{key}")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key)
        if value is None or value == "":
            if default is None:
                raise _error(key, "is required")
            return default
        return value

    def optional(self, key: str) -> str | None:
        value = self.raw(key)
        return value or None

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise _error(key, f"must be an integer, got {value!r}") from None
        if not low <= number <= high:
            raise _error(key, f"must be between {low} and {high}, got {number}")
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise _error(key, f"must be true or false, got {value!r}")
        return value.lower() == "true"

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise _error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def string_list(self, key: str, check: Callable[[str], object], what: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        try:
            items = json.loads(value)
        except ValueError:
            raise _error(key, "must be a YAML list") from None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise _error(key, "must be a YAML list of strings")
        for item in items:
            if not check(item):
                raise _error(key, f"{item!r} is not {what}")
        return tuple(items)

    def matching(self, key: str, pattern: re.Pattern[str], what: str, default: str | None = None) -> str:
        value = self.string(key, default)
        if not pattern.fullmatch(value):
            raise _error(key, f"must be {what}, got {value!r}")
        return value

    def secret(self, key: str) -> pulumi.Output[str]:
        self.seen.add(key)
        if not self.raw(key):
            raise _error(key, f"is required: pulumi config set --secret {NAMESPACE}:{key} ...")
        return self.config.require_secret(key)


def _error(key: str, message: str) -> ValueError:
    return ValueError(f"{NAMESPACE}:{key}: {message}")


def load_stack_config() -> AwsStackConfig:
    """The current stack's configuration; raises ValueError naming the first bad key."""
    values = dict(pulumi.runtime.config.CONFIG.get())
    return parse_stack_config(values, pulumi.get_stack())


def parse_stack_config(values: Mapping[str, str], stack: str) -> AwsStackConfig:
    """Validate `values` (Pulumi's flat `namespace:key` -> string map) for `stack`."""
    region = values.get("aws:region", "")
    if not _REGION.fullmatch(region):
        raise ValueError(f"aws:region: must be an AWS region such as us-east-1, got {region!r}")
    accounts = _json_list(values.get("aws:allowedAccountIds"))
    if len(accounts) != 1 or not _ACCOUNT.fullmatch(accounts[0]):
        raise ValueError("aws:allowedAccountIds: must list exactly the one 12-digit account of this stack")

    read = _Reader(values)
    environment = cast(Environment, read.choice("environment", ("dev", "staging", "prod")))
    certificate_arn = read.matching(
        "certificateArn", _acm_arn(region, accounts[0]), f"an ACM certificate ARN in {region}/{accounts[0]}"
    )
    config = AwsStackConfig(
        stack=stack,
        environment=environment,
        region=region,
        account_id=accounts[0],
        realm=_realm_of(values, environment),
        public_hostname=read.matching("publicHostname", _HOSTNAME, "a lower-case DNS name"),
        m2m_hostname=read.matching("m2mHostname", _HOSTNAME, "a lower-case DNS name"),
        m2m_port=read.integer("m2mPort", DEFAULT_M2M_PORT, 1024, 65535),
        m2m_allowed_cidrs=_partner_cidrs(read),
        certificate_arn=certificate_arn,
        m2m_certificate_arn=read.matching(
            "m2mCertificateArn", _acm_arn(region, accounts[0]), "an ACM certificate ARN", certificate_arn
        ),
        tls_policy=TLS_POLICIES[read.choice("tlsPolicy", tuple(TLS_POLICIES), "standard")],
        key_administrator_arns=read.string_list(
            "keyAdministratorArns", _IAM_PRINCIPAL.fullmatch, "an IAM role or user ARN"
        ),
        network=_network(read),
        instance_type=read.matching("instanceType", re.compile(r"^[a-z0-9]+\.[a-z0-9]+$"), "an EC2 type", "m7i.large"),
        min_instances=read.integer("minInstances", 2, 1, 20),
        max_instances=read.integer("maxInstances", 4, 1, 20),
        ami_parameter=read.matching(
            "amiParameter",
            re.compile(
                r"^/aws/service/ami-amazon-linux-latest/al2023-"
                r"ami-kernel-default-(x86_64|arm64)$"
            ),
            "an Amazon Linux 2023 AMI parameter",
            DEFAULT_AMI_PARAMETER,
        ),
        admin_local_port=read.integer("adminLocalPort", DEFAULT_ADMIN_LOCAL_PORT, 1024, 65535),
        db_instance_class=read.matching(
            "dbInstanceClass", re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$"), "an RDS instance class", "db.m7g.large"
        ),
        db_engine_version=read.matching(
            "dbEngineVersion",
            re.compile(rf"^({'|'.join(SUPPORTED_POSTGRES_MAJORS)})(\.\d+)?$"),
            f"a PostgreSQL version Keycloak 26 supports ({'/'.join(SUPPORTED_POSTGRES_MAJORS)})",
            DEFAULT_POSTGRES_VERSION,
        ),
        db_allocated_storage_gb=read.integer("dbAllocatedStorageGb", 50, 20, 65536),
        db_max_allocated_storage_gb=read.integer("dbMaxAllocatedStorageGb", 200, 20, 65536),
        db_multi_az=read.boolean("dbMultiAz", True),
        db_backup_retention_days=read.integer("dbBackupRetentionDays", 14, 1, 35),
        deletion_protection=read.boolean("deletionProtection", True),
        log_retention_days=read.integer("logRetentionDays", HIPAA_RETENTION_DAYS, 1, 3653),
        audit_lock_mode=cast(LockMode, read.choice("auditLockMode", ("COMPLIANCE", "GOVERNANCE"), "COMPLIANCE")),
        audit_retention_days=read.integer("auditRetentionDays", HIPAA_RETENTION_DAYS, 1, 36500),
        create_cloudtrail=read.boolean("createCloudTrail", True),
        token_rate_limit=read.integer("tokenRateLimit", 300, 10, 2_000_000_000),
        mtls_client_ca_bundle=read.matching("mtlsClientCaBundle", _pem_bundle(_PEM_CERT), "a PEM certificate bundle"),
        mtls_client_crl=read.matching("mtlsClientCrl", _pem_bundle(_PEM_CRL), "a PEM X.509 CRL"),
        host_tls_certificate=read.matching("hostTlsCertificate", _pem_bundle(_PEM_CERT), "a PEM certificate"),
        signing=cast(SigningChoice, read.choice("signing", SIGNING_CHOICES, "kms")),
        bootstrap_admin_password=read.secret("bootstrapAdminPassword"),
        host_tls_key=read.secret("hostTlsKey"),
    )
    _check_unknown_keys(values, read.seen)
    return _check_policy(config)


def _realm_of(values: Mapping[str, str], environment: str) -> str:
    """realm-config's realm for `environment`; a stack file may not name one (it could only contradict it)."""
    if f"{NAMESPACE}:realm" in values:
        raise _error(
            "realm",
            "is not a stack setting: the realm's name is realm-config's (realm-config/base/realm.yaml, realm.realm); "
            "remove this key",
        )
    try:
        return realm_name(environment)
    except IdpkitError as error:
        raise ValueError(f"realm-config ({environment}): {error.message}") from error


def _network(read: _Reader) -> NetworkSettings:
    vpc_id = read.optional("vpcId")
    subnet = re.compile(r"^subnet-[0-9a-f]{8,17}$").fullmatch
    azs = read.string_list("availabilityZones", _AZ.fullmatch, "an availability zone")
    settings = NetworkSettings(
        vpc_id=vpc_id,
        vpc_cidr=read.string("vpcCidr", "10.40.0.0/16"),
        availability_zones=azs,
        public_subnet_ids=read.string_list("publicSubnetIds", subnet, "a subnet id"),
        private_subnet_ids=read.string_list("privateSubnetIds", subnet, "a subnet id"),
        database_subnet_ids=read.string_list("databaseSubnetIds", subnet, "a subnet id"),
        create_vpc_endpoints=read.boolean("createVpcEndpoints", True),
    )
    if vpc_id is not None:
        if not re.fullmatch(r"vpc-[0-9a-f]{8,17}", vpc_id):
            raise _error("vpcId", f"must be a VPC id, got {vpc_id!r}")
        for key, ids in (
            ("publicSubnetIds", settings.public_subnet_ids),
            ("privateSubnetIds", settings.private_subnet_ids),
            ("databaseSubnetIds", settings.database_subnet_ids),
        ):
            if len(ids) < 2:
                raise _error(key, "an existing VPC needs at least two subnets in different AZs")
        return settings
    try:
        network = ipaddress.ip_network(settings.vpc_cidr)
    except ValueError:
        raise _error("vpcCidr", f"must be an IPv4 CIDR, got {settings.vpc_cidr!r}") from None
    if not (isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 20):
        raise _error("vpcCidr", f"must be an IPv4 /16 to /20, got {settings.vpc_cidr!r}")
    if not 2 <= len(set(azs)) <= MAX_AVAILABILITY_ZONES:
        raise _error("availabilityZones", f"list 2 to {MAX_AVAILABILITY_ZONES} availability zones (high availability)")
    return settings


MAX_M2M_CIDRS = 10
"""The public subnets' network ACL holds a rule per partner network within its 20 inbound rules."""


def _partner_cidrs(read: _Reader) -> tuple[str, ...]:
    """`m2mAllowedCidrs`, validated; `(ANYWHERE,)` when unset."""
    cidrs = read.string_list("m2mAllowedCidrs", lambda _item: True, "a CIDR")
    if not cidrs:
        return (ANYWHERE,)
    if len(cidrs) > MAX_M2M_CIDRS:
        raise _error("m2mAllowedCidrs", f"at most {MAX_M2M_CIDRS} networks (one network ACL rule each)")
    if len(set(cidrs)) != len(cidrs):
        raise _error("m2mAllowedCidrs", "lists a network twice")
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            raise _error("m2mAllowedCidrs", f"{cidr!r} is not an IPv4 network in CIDR form ({error})") from None
        if not isinstance(network, ipaddress.IPv4Network):
            raise _error("m2mAllowedCidrs", f"{cidr!r}: the load balancer listens on IPv4 only")
        if cidr == ANYWHERE:
            raise _error("m2mAllowedCidrs", "0.0.0.0/0 is the default: remove the key to admit any network")
        if not network.is_global:
            raise _error("m2mAllowedCidrs", f"{cidr!r} is not a public network; the listener is internet-facing")
    return tuple(cidrs)


def _check_policy(config: AwsStackConfig) -> AwsStackConfig:
    """Cross-key rules, the `prod` floor, and the list of weakenings to announce."""
    if config.max_instances < config.min_instances:
        raise _error("maxInstances", f"must be >= minInstances ({config.min_instances})")
    if config.m2m_port in (HTTP_PORT, HTTPS_PORT):
        raise _error("m2mPort", "80 and 443 belong to the redirect and browser listeners")
    if config.m2m_hostname == config.public_hostname:
        raise _error("m2mHostname", "must differ from publicHostname (browsers cannot use the mTLS listener)")
    if config.db_max_allocated_storage_gb < config.db_allocated_storage_gb:
        raise _error("dbMaxAllocatedStorageGb", "must be >= dbAllocatedStorageGb")
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise _error("logRetentionDays", f"must be one of CloudWatch's values {LOG_RETENTION_DAYS}")
    if not config.key_administrator_arns:
        raise _error("keyAdministratorArns", "list at least one IAM role that administers the KMS keys")

    weakenings = {
        "minInstances": (config.min_instances < 2, "a single Keycloak host (no redundancy)"),
        "dbMultiAz": (not config.db_multi_az, "single-AZ database"),
        "deletionProtection": (not config.deletion_protection, "database and load balancer deletable"),
        "dbBackupRetentionDays": (config.db_backup_retention_days < 7, "under 7 days of database backups"),
        "auditLockMode": (config.audit_lock_mode != "COMPLIANCE", "log Object Lock in GOVERNANCE mode"),
        "auditRetentionDays": (
            config.audit_retention_days < HIPAA_RETENTION_DAYS,
            "log retention under HIPAA's six years",
        ),
        "logRetentionDays": (
            config.log_retention_days < HIPAA_RETENTION_DAYS,
            "CloudWatch retention under HIPAA's six years",
        ),
        "createCloudTrail": (not config.create_cloudtrail, "no CloudTrail trail of its own"),
        "signing": (
            config.signing != "kms",
            "realm signing keys imported into Keycloak: private keys in its database and every node's memory",
        ),
    }
    used = tuple(f"{NAMESPACE}:{key}: {why}" for key, (weak, why) in weakenings.items() if weak)
    if config.environment == "prod":
        # An organization trail may replace the stack's own; every other weakening is refused in prod.
        refused = [entry for entry in used if not entry.startswith(f"{NAMESPACE}:createCloudTrail")]
        if refused:
            raise ValueError(f"{refused[0]} is not allowed when idpkit:environment is prod")
    return replace(config, weakenings=used)


def _check_unknown_keys(values: Mapping[str, Any], seen: set[str]) -> None:
    for full_key in sorted(values):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in seen:
            hint = difflib.get_close_matches(key, sorted(seen), n=1)
            suggestion = f" (did you mean {NAMESPACE}:{hint[0]}?)" if hint else ""
            raise _error(key, f"unknown key{suggestion}")


def _json_list(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        loaded = json.loads(value)
    except ValueError:
        return []
    return [str(item) for item in loaded] if isinstance(loaded, list) else []


def _acm_arn(region: str, account: str) -> re.Pattern[str]:
    return re.compile(rf"^arn:aws[a-z-]*:acm:{re.escape(region)}:{account}:certificate/[0-9a-f-]{{36}}$")


def _pem_bundle(block: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(rf"^\s*({block.pattern}\s*)+$")


def architecture_of(ami_parameter: str) -> str:
    """The hosts' architecture as `idpkit host wheelhouse --arch` names it: the AMI parameter's suffix."""
    suffix = ami_parameter.rsplit("-", 1)[-1]
    if suffix not in ("x86_64", "arm64"):
        raise ValueError(f"{ami_parameter}: not an x86_64 or arm64 Amazon Linux 2023 AMI parameter")
    return suffix


def host_wheelhouse_path(project_dir: Path, architecture: str) -> Path:
    """Where `idpkit host wheelhouse --arch <architecture>` writes the hosts' wheelhouse archive."""
    return project_dir / HOST_WHEELHOUSE.format(architecture=architecture)


def missing_host_wheelhouse(project_dir: Path, architecture: str) -> str | None:
    """`None` when the wheelhouse archive exists, else what to run (announced before the engine refuses it)."""
    path = host_wheelhouse_path(project_dir, architecture)
    if path.is_file():
        return None
    step = HOST_WHEELHOUSE_STEP.format(architecture=architecture)
    return (
        f"host wheelhouse {HOST_WHEELHOUSE.format(architecture=architecture)} is missing: run `{step}` before "
        "`pulumi preview/up` (docs/aws.md, 'Host wheelhouse'); the engine cannot upload it, so the deployment "
        "stops, and hosts without it could not run the scheduled signing key rotation"
    )


def kms_provider_jar_path(project_dir: Path) -> Path:
    """Where `idpkit host kms-provider` leaves the KMS signing provider jar for `pulumi up` to stage."""
    return project_dir / KMS_PROVIDER_JAR


def missing_kms_provider(project_dir: Path) -> str | None:
    """`None` when the extension jar (KMS signing, SMART discovery) exists, else what to run (announced before the
    engine refuses it). Every stack stages it."""
    if kms_provider_jar_path(project_dir).is_file():
        return None
    return (
        f"the kit's Keycloak extension {KMS_PROVIDER_JAR} is missing: run `{KMS_PROVIDER_STEP}` before `pulumi "
        "preview/up` (docs/aws.md, 'Signing inside KMS'); the engine cannot upload it, so the deployment stops, and "
        "hosts without it could not sign a token with KMS keys nor serve the SMART discovery document"
    )
