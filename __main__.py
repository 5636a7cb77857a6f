"""idpkit on AWS: the Pulumi program behind `pulumi preview/up --stack <dev|staging|prod>`.

The stack configuration is read and validated first (idpkit/aws_config.py): a bad key stops the run
before any resource is declared. Then the components are composed in dependency order, and the stack
exports the same output keys as the local stack (idpkit/outputs.py).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.artifacts import CLIENT_CA_KEY, ArtifactStore, ArtifactStoreArgs
from components.audit_trail import AuditTrail, AuditTrailArgs
from components.database import Database, DatabaseArgs, log_group_names
from components.host_bootstrap import HOST_KIT_COMMAND, HOST_OUTPUTS_FILE
from components.keycloak_hosts import ROLE_TAG_KEY, KeycloakHosts, KeycloakHostsArgs
from components.kms import KeyRing, KeyRingArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.log_archive import LogArchive, LogArchiveArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs
from components.secrets import StackSecrets, StackSecretsArgs
from components.security_groups import SecurityGroups, SecurityGroupsArgs
from components.session_manager import SessionLogging, SessionLoggingArgs
from components.signing_keys import SigningKeys, SigningKeysArgs, rotation_role_arn, signer_role_arn
from components.waf import WebFirewall, WebFirewallArgs
from idpkit.aws_config import (
    architecture_of,
    host_wheelhouse_path,
    kms_provider_jar_path,
    load_stack_config,
    missing_host_wheelhouse,
    missing_kms_provider,
)
from idpkit.constants.keycloak import KEYCLOAK_HTTPS_PORT

config = load_stack_config()
for weakening in config.weakenings:
    pulumi.log.warn(f"weakened on purpose: {weakening}")

name = config.name
log_group_prefix = f"/idpkit/{config.stack}/"
waf_log_group = f"aws-waf-logs-{name}"
db_identifier = f"{name}-db"
trail_name = f"{name}-trail" if config.create_cloudtrail else None
signing_name = f"{name}-signing"
# Known before the roles exist: the signing key policy, the host configuration and the host role name them.
signing_rotation_role_arn = rotation_role_arn(config.account_id, signing_name)
kms_signing = config.signing == "kms"
kms_signer_role_arn = signer_role_arn(config.account_id, signing_name) if kms_signing else None
project_dir = Path(__file__).resolve().parent
architecture = architecture_of(config.ami_parameter)
for problem in (missing_host_wheelhouse(project_dir, architecture), missing_kms_provider(project_dir)):
    if problem:
        pulumi.log.warn(problem)

keys = KeyRing(
    f"{name}-kms",
    KeyRingArgs(
        account_id=config.account_id,
        region=config.region,
        administrator_arns=config.key_administrator_arns,
        log_group_prefixes=[log_group_prefix, waf_log_group, f"/aws/rds/instance/{db_identifier}/"],
        trail_name=trail_name,
        signing_user_arns=[signing_rotation_role_arn],
    ),
)
artifacts = ArtifactStore(
    f"{name}-artifacts",
    ArtifactStoreArgs(
        region=config.region,
        client_ca_bundle=config.mtls_client_ca_bundle,
        client_crl=config.mtls_client_crl,
        host_wheelhouse=host_wheelhouse_path(project_dir, architecture),
        architecture=architecture,
        # Every stack: the kit's extension also serves the SMART discovery document, whatever the signing choice.
        kms_provider_jar=kms_provider_jar_path(project_dir),
    ),
)
logs = LogArchive(
    f"{name}-logs",
    LogArchiveArgs(
        account_id=config.account_id,
        region=config.region,
        logs_key_arn=keys.keys["logs"].arn,
        lock_mode=config.audit_lock_mode,
        lock_days=config.audit_retention_days,
        log_retention_days=config.log_retention_days,
        log_group_prefix=log_group_prefix,
        waf_log_group_name=waf_log_group,
        rds_log_group_names=log_group_names(db_identifier),
        trail_name=trail_name,
    ),
)
if trail_name is not None and logs.trail_log_group is not None:
    AuditTrail(
        f"{name}-audit",
        AuditTrailArgs(
            account_id=config.account_id,
            region=config.region,
            trail_name=trail_name,
            logs_key_arn=keys.keys["logs"].arn,
            audit_bucket=logs.audit_bucket.bucket.bucket,
            audit_bucket_arn=logs.audit_bucket.bucket.arn,
            audit_bucket_policy=logs.audit_bucket.policy,
            artifact_bucket_arns=[artifacts.bucket.bucket.arn],
            log_group_arn=logs.trail_log_group.arn,
        ),
    )
network = Network(
    f"{name}-net",
    NetworkArgs(
        settings=config.network,
        region=config.region,
        artifacts_bucket_arn=artifacts.bucket.bucket.arn,
        account_id=config.account_id,
        flow_log_group_arn=logs.flow_log_group.arn,
        m2m_port=config.m2m_port,
        m2m_cidrs=config.m2m_allowed_cidrs,
    ),
)
groups = SecurityGroups(
    f"{name}-sg",
    SecurityGroupsArgs(
        vpc_id=network.vpc_id,
        endpoint_security_group_id=network.endpoint_security_group_id,
        s3_prefix_list_id=network.s3_prefix_list_id,
        m2m_port=config.m2m_port,
        m2m_cidrs=config.m2m_allowed_cidrs,
    ),
)
secrets = StackSecrets(
    f"{name}-secrets",
    StackSecretsArgs(
        secrets_key_arn=keys.keys["secrets"].arn,
        bootstrap_admin_password=config.bootstrap_admin_password,
        host_tls_certificate=config.host_tls_certificate,
        host_tls_key=config.host_tls_key,
    ),
)
database = Database(
    f"{name}-database",
    DatabaseArgs(
        identifier=db_identifier,
        subnet_ids=network.database_subnet_ids,
        security_group_id=groups.database.id,
        storage_key_arn=keys.keys["database"].arn,
        secret_key_arn=keys.keys["secrets"].arn,
        engine_version=config.db_engine_version,
        instance_class=config.db_instance_class,
        allocated_storage_gb=config.db_allocated_storage_gb,
        max_allocated_storage_gb=config.db_max_allocated_storage_gb,
        multi_az=config.db_multi_az,
        backup_retention_days=config.db_backup_retention_days,
        deletion_protection=config.deletion_protection,
        log_groups=logs.rds_log_groups,
        account_id=config.account_id,
    ),
)
load_balancer = LoadBalancer(
    f"{name}-lb",
    LoadBalancerArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        security_group_id=groups.load_balancer.id,
        certificate_arn=config.certificate_arn,
        m2m_certificate_arn=config.m2m_certificate_arn,
        m2m_port=config.m2m_port,
        tls_policy=config.tls_policy,
        realm=config.realm,
        deletion_protection=config.deletion_protection,
        log_bucket=logs.alb_log_bucket.bucket.bucket,
        log_bucket_ready=[logs.alb_log_bucket.policy],
        trust_store_bucket=artifacts.bucket.bucket.bucket,
        ca_bundle_object=artifacts.client_ca_bundle,
        crl_object=artifacts.client_crl,
    ),
)
hosts = KeycloakHosts(
    f"{name}-hosts",
    KeycloakHostsArgs(
        region=config.region,
        stack=config.stack,
        subnet_ids=network.private_subnet_ids,
        security_group_id=groups.hosts.id,
        target_group_arns=[load_balancer.browser_target_group.arn, load_balancer.m2m_target_group.arn],
        instance_type=config.instance_type,
        min_instances=config.min_instances,
        max_instances=config.max_instances,
        ami_parameter=config.ami_parameter,
        ebs_key_arn=keys.keys["ebs"].arn,
        autoscaling_role_arn=keys.autoscaling_role.arn,
        secrets_key_arn=keys.keys["secrets"].arn,
        public_hostname=config.public_hostname,
        m2m_url=f"https://{config.m2m_hostname}:{config.m2m_port}",
        realm=config.realm,
        admin_local_port=config.admin_local_port,
        db_address=database.address,
        db_master_secret_arn=database.master_secret_arn,
        db_app_secret_arn=database.app_secret.arn,
        bootstrap_admin_secret_arn=secrets.bootstrap_admin.arn,
        host_tls_secret_arn=secrets.host_tls.arn,
        artifacts_bucket=artifacts.bucket.bucket.bucket,
        artifacts_bucket_arn=artifacts.bucket.bucket.arn,
        keycloak_object_key=artifacts.keycloak_object_key,
        rds_ca_object_key=artifacts.rds_ca_object_key,
        client_ca_object_key=CLIENT_CA_KEY,
        client_ca_object_version=artifacts.client_ca_bundle.version_id,
        server_log_group=logs.server_log_group.name,
        event_log_group=logs.event_log_group.name,
        log_group_arns=[logs.server_log_group.arn, logs.event_log_group.arn],
        ssm_log_group_arns=[logs.session_log_group.arn, logs.command_log_group.arn],
        session_key_arn=keys.keys["sessions"].arn,
        admin_credentials_secret_arn=secrets.admin_credentials.arn,
        rotation_role_arn=signing_rotation_role_arn,
        wheelhouse_object_key=artifacts.wheelhouse_object_key,
        wheelhouse_object_version=artifacts.wheelhouse.version_id,
        kms_signer_role_arn=kms_signer_role_arn,
        kms_provider_object_key=artifacts.kms_provider_object_key,
        kms_provider_sha256=artifacts.kms_provider_sha256,
    ),
)
signing_keys = SigningKeys(
    signing_name,
    SigningKeysArgs(
        environment=config.stack,
        account_id=config.account_id,
        region=config.region,
        signing_key_arn=keys.keys["signing"].arn,
        host_role_arn=hosts.role.arn,
        vpc_id=network.vpc_id,
        instance_tag_key=ROLE_TAG_KEY,
        instance_tag_value=hosts.role_tag_value,
        idpkit_command=HOST_KIT_COMMAND,
        outputs_file=HOST_OUTPUTS_FILE,
        command_log_group=logs.command_log_group_name,
        kms_signing=kms_signing,
    ),
)
SessionLogging(
    f"{name}-sessions",
    SessionLoggingArgs(log_group_name=logs.session_log_group.name, session_key_arn=keys.keys["sessions"].arn),
)
Monitoring(
    f"{name}-monitoring",
    MonitoringArgs(
        stack=config.stack,
        account_id=config.account_id,
        region=config.region,
        alerts_key_arn=keys.keys["alerts"].arn,
        trail_log_group_name=logs.trail_log_group.name if logs.trail_log_group is not None else None,
        event_log_group_name=logs.event_log_group.name,
        command_log_group_name=logs.command_log_group.name,
        load_balancer_arn_suffix=load_balancer.alb.arn_suffix,
        target_group_arn_suffixes={
            "browser": load_balancer.browser_target_group.arn_suffix,
            "machine": load_balancer.m2m_target_group.arn_suffix,
        },
        schedule_group_name=signing_keys.schedule_group.name,
    ),
)
WebFirewall(
    f"{name}-waf",
    WebFirewallArgs(
        load_balancer_arn=load_balancer.alb.arn,
        token_rate_limit=config.token_rate_limit,
        log_group_arn=logs.waf_log_group.arn,
    ),
)

# The stack outputs contract (idpkit/outputs.py StackOutputs), then AWS-only extras.
base_url = f"https://{config.public_hostname}"
m2m_url = f"https://{config.m2m_hostname}:{config.m2m_port}"
pulumi.export("base_url", base_url)
pulumi.export("m2m_url", m2m_url)
# Reached through `aws ssm start-session ... AWS-StartPortForwardingSession` (docs/aws.md).
pulumi.export("admin_url", f"https://localhost:{config.admin_local_port}")
pulumi.export("realm", config.realm)
pulumi.export("issuer", f"{base_url}/realms/{config.realm}")
# Public listeners present ACM certificates from a public CA: the system trust store verifies them.
pulumi.export("ca_bundle", None)
pulumi.export("admin_credentials", secrets.admin_credentials.arn)
pulumi.export("bootstrap_admin_credentials", secrets.bootstrap_admin.arn)
# The admin tunnel ends at Keycloak's loopback listener, which presents this certificate.
pulumi.export("admin_ca_certificate", config.host_tls_certificate)
pulumi.export("admin_remote_port", KEYCLOAK_HTTPS_PORT)
pulumi.export("autoscaling_group", hosts.group.name)
pulumi.export("load_balancer_dns_name", load_balancer.alb.dns_name)
# `idpkit keys … --key-store <signing_keys_secret_arn> --assume-role <signing_keys_rotation_role_arn>`.
pulumi.export("signing_keys_secret_arn", signing_keys.secret.arn)
pulumi.export("signing_keys_rotation_role_arn", signing_keys.rotation_role.arn)
