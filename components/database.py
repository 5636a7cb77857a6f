"""RDS for PostgreSQL: encrypted, TLS-only, private, with an RDS-managed master password, monitored.

Keycloak never uses the master user. The hosts use the master secret only to create Keycloak's
least-privilege application roles (`keycloak_a`/`keycloak_b`, members of `keycloak_owner`), whose
current credentials live in the application secret declared here, written and rotated by the kit
(idpkit/host/database.py: alternating users, so a rotation breaks no running node). Keycloak connects
with `sslmode=verify-full` against the RDS CA bundle. RDS rotates the master password on its own
schedule; nothing Keycloak holds depends on it.

Performance Insights (encrypted with the database key, 7 days) and Enhanced Monitoring (OS metrics every
minute, through a role only this account's RDS can assume) watch the instance. Enhanced Monitoring writes to
the account's `RDSOSMetrics` log group, which RDS creates and shares between all instances of the region: it
holds OS metrics and process names, never query text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from idpkit.constants.aws import SUPPORTED_POSTGRES_MAJORS
from idpkit.constants.keycloak import DB_NAME
from idpkit.constants.monitoring import SECRET_ROTATION_TAG

LOG_EXPORTS = ("postgresql", "upgrade")
MONITORING_INTERVAL_SECONDS = 60
"""Enhanced Monitoring granularity (OS metrics: CPU, memory, I/O, processes), one of 1, 5, 10, 15, 30, 60."""
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
MASTER_USERNAME = "idpkit_master"
"""RDS master user: creates Keycloak's application roles, never used by Keycloak itself."""
SECRET_RECOVERY_DAYS = 7


@dataclass(frozen=True)
class DatabaseArgs:
    """Placement, keys and durability of the database."""

    identifier: str
    """RDS instance identifier (fixed, so that its log groups can be created encrypted beforehand)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated database subnets, >= 2 AZs."""
    security_group_id: pulumi.Input[str]
    """The database group; 5432 only from the Keycloak hosts."""
    storage_key_arn: pulumi.Input[str]
    """KMS key for storage, snapshots and Performance Insights."""
    secret_key_arn: pulumi.Input[str]
    """KMS key of the RDS-managed master user secret."""
    engine_version: str
    """PostgreSQL `16`, `17` or `17.x`; the major must be one Keycloak 26 supports."""
    instance_class: str
    """e.g. `db.m7g.large`."""
    allocated_storage_gb: int
    """Initial storage, >= 20 GiB."""
    max_allocated_storage_gb: int
    """Storage autoscaling ceiling, >= allocated_storage_gb."""
    multi_az: bool
    """Synchronous standby in a second AZ (required in prod)."""
    backup_retention_days: int
    """1-35 days of automated backups (>= 7 in prod)."""
    deletion_protection: bool
    """Refuse deletion (required in prod)."""
    log_groups: Sequence[pulumi.Resource]
    """The pre-created, encrypted export log groups; the instance waits for them."""
    account_id: str
    """The stack's account: the Enhanced Monitoring role trusts only this account's RDS."""


class Database(pulumi.ComponentResource):
    """Parameter group, subnet group and instance."""

    instance: aws.rds.Instance
    address: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    app_secret: aws.secretsmanager.Secret

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:Database", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        major = args.engine_version.split(".")[0]
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description="idpkit: TLS-only PostgreSQL",
            parameters=[
                # HIPAA 164.312(e)(1): refuse unencrypted connections (explicit, not the PG15+ default).
                {"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"},
                {"name": "ssl_min_protocol_version", "value": "TLSv1.2", "apply_method": "immediate"},
                {"name": "password_encryption", "value": "scram-sha-256", "apply_method": "immediate"},
                # HIPAA 164.312(b): connection audit trail in the exported postgresql log.
                {"name": "log_connections", "value": "1", "apply_method": "immediate"},
                {"name": "log_disconnections", "value": "1", "apply_method": "immediate"},
            ],
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=list(args.subnet_ids), opts=child)
        monitoring = aws.iam.Role(
            f"{name}-monitoring",
            description=f"idpkit: RDS Enhanced Monitoring of {args.identifier}",
            assume_role_policy=json.dumps(_monitoring_trust(args)),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring", role=monitoring.name, policy_arn=ENHANCED_MONITORING_POLICY, opts=child
        )
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=args.identifier,
            engine="postgres",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            # HIPAA 164.312(a)(2)(iv): storage, backups and snapshots encrypted with the database key.
            storage_encrypted=True,
            kms_key_id=args.storage_key_arn,
            db_name=DB_NAME,
            username=MASTER_USERNAME,
            # The password never passes through Pulumi: RDS generates it into Secrets Manager.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.secret_key_arn,
            parameter_group_name=parameters.name,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            # HIPAA 164.308(a)(7) contingency plan: standby, backups, no accidental deletion.
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            deletion_protection=args.deletion_protection,
            delete_automated_backups=False,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{args.identifier}-final",
            # HIPAA 164.312(b): Performance Insights (SQL text may hold ePHI: the database key) and OS metrics.
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.storage_key_arn,
            performance_insights_retention_period=7,
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            iam_database_authentication_enabled=False,
            apply_immediately=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.log_groups, attachment]),
        )
        self.address = self.instance.address
        self.master_secret_arn = self.instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        # No value from Pulumi (it would sit in state): the hosts generate and rotate it.
        self.app_secret = aws.secretsmanager.Secret(
            f"{name}-app-credentials",
            description=f"idpkit: Keycloak's database role and password ({args.identifier}); written by idpkit host",
            kms_key_id=args.secret_key_arn,
            recovery_window_in_days=SECRET_RECOVERY_DAYS,
            # Alternating users: `idpkit host rotate-db-credentials`, then `refresh-db-credentials` on each host.
            tags={"purpose": "database-application-credentials", SECRET_ROTATION_TAG: "procedure:docs/aws.md"},
            opts=child,
        )
        self.register_outputs(
            {
                "address": self.address,
                "master_secret_arn": self.master_secret_arn,
                "app_secret_arn": self.app_secret.arn,
            }
        )


def _validate(args: DatabaseArgs) -> None:
    if args.engine_version.split(".")[0] not in SUPPORTED_POSTGRES_MAJORS:
        raise ValueError(f"engine_version: {args.engine_version} is not a PostgreSQL major Keycloak 26 supports")
    if len(args.subnet_ids) < 2:
        raise ValueError("subnet_ids: at least two subnets in different AZs are required")
    if not 1 <= args.backup_retention_days <= 35:
        raise ValueError("backup_retention_days: must be between 1 and 35")
    if args.allocated_storage_gb < 20 or args.max_allocated_storage_gb < args.allocated_storage_gb:
        raise ValueError("allocated_storage_gb: needs >= 20 and <= max_allocated_storage_gb")


def _monitoring_trust(args: DatabaseArgs) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                "Action": "sts:AssumeRole",
                # Confused-deputy guard: only this account's RDS delivers the metrics.
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
            }
        ],
    }


def log_group_names(identifier: str) -> list[str]:
    """The log groups RDS exports `identifier`'s logs to."""
    return [f"/aws/rds/instance/{identifier}/{export}" for export in LOG_EXPORTS]
