"""Keycloak hosts: an Auto Scaling group of hardened EC2 instances in private subnets.

No key pair and no SSH (access is SSM Session Manager), IMDSv2 only with a hop limit of 1, a
customer-managed-key-encrypted root volume, an instance role that can read only its own secrets,
artifacts and log groups, Patch Manager on a weekly window, and rolling instance refreshes that never
drop below full capacity. What runs on the instance is rendered by components/host_bootstrap.py.

Every instance carries ROLE_TAG_KEY = `keycloak-<stack>` (propagated from the Auto Scaling group): the
signing key rotation schedule targets that tag, and the rotation role may send commands only to
instances that carry it. The instance role may assume that rotation role and, with KMS signing, the sign-only
role Keycloak signs as (and no other role).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.host_bootstrap import START_JITTER_SECONDS, StagedWheelhouse, render_user_data
from idpkit.constants.aws import POSTGRES_PORT
from idpkit.constants.keycloak import DB_NAME
from idpkit.host.config import HostConfig
from idpkit.host.user_data import encode_user_data

PATCH_GROUP_TAG = "Patch Group"
ROLE_TAG_KEY = "idpkit:role"
"""Marks the stack's Keycloak hosts (SSM Run Command targets of the rotation schedule)."""
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@-]+")
HEALTH_CHECK_GRACE_SECONDS = 900
WARMUP_SECONDS = 300


@dataclass(frozen=True)
class KeycloakHostsArgs:
    """Placement, identity and software of the hosts."""

    region: str
    """The stack's region."""
    stack: str
    """The stack's name: the `stack` of the host's outputs file and the ROLE_TAG_KEY value `keycloak-<stack>`."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets (no internet route), >= 2 AZs."""
    security_group_id: pulumi.Input[str]
    """The hosts' group."""
    target_group_arns: Sequence[pulumi.Input[str]]
    """Browser and machine target groups."""
    instance_type: str
    """EC2 instance type (>= 4 GiB memory for Keycloak)."""
    min_instances: int
    """Minimum and desired capacity; >= 2 in prod."""
    max_instances: int
    """Maximum capacity (>= min_instances)."""
    ami_parameter: str
    """SSM public parameter of the Amazon Linux 2023 AMI, resolved at launch."""
    ebs_key_arn: pulumi.Input[str]
    """KMS key of the root volumes."""
    autoscaling_role_arn: pulumi.Input[str]
    """The Auto Scaling service-linked role the EBS key admits."""
    secrets_key_arn: pulumi.Input[str]
    """KMS key of the secrets the hosts read."""
    public_hostname: str
    """Browser-facing host name (Keycloak `hostname`)."""
    m2m_url: str
    """Root URL of the mutual-TLS listener: discovery's `mtls_endpoint_aliases` point there."""
    realm: str
    """The public realm whose mTLS endpoint aliases discovery advertises."""
    admin_local_port: int
    """Port of the admin port forward on the operator's machine (Keycloak `hostname-admin`)."""
    db_address: pulumi.Input[str]
    """RDS endpoint host name."""
    db_master_secret_arn: pulumi.Input[str]
    """RDS-managed master user secret: read only to create Keycloak's application roles."""
    db_app_secret_arn: pulumi.Input[str]
    """Keycloak's application credentials (alternating roles), written by `idpkit host` on the hosts."""
    bootstrap_admin_secret_arn: pulumi.Input[str]
    """Bootstrap admin secret."""
    host_tls_secret_arn: pulumi.Input[str]
    """Host certificate/key secret."""
    artifacts_bucket: pulumi.Input[str]
    """Bucket name of the staged artifacts."""
    artifacts_bucket_arn: pulumi.Input[str]
    """Bucket ARN of the staged artifacts."""
    keycloak_object_key: str
    """Key of the staged Keycloak archive."""
    rds_ca_object_key: str
    """Key of the RDS CA bundle."""
    client_ca_object_key: str
    """Key of the mTLS client CA bundle (the load balancer trust store's source)."""
    client_ca_object_version: pulumi.Input[str]
    """Its version, the one the trust store pins; hosts verify they read exactly that version."""
    server_log_group: pulumi.Input[str]
    """Name of the Keycloak server log group."""
    event_log_group: pulumi.Input[str]
    """Name of the Keycloak event log group."""
    log_group_arns: Sequence[pulumi.Input[str]]
    """ARNs of those two groups (the CloudWatch agent may write nowhere else)."""
    ssm_log_group_arns: Sequence[pulumi.Input[str]]
    """Where the host's SSM agent writes: Session Manager session transcripts and Run Command output."""
    session_key_arn: pulumi.Input[str]
    """KMS key of Session Manager session data: the host's SSM agent decrypts sessions with it."""
    admin_credentials_secret_arn: pulumi.Input[str]
    """The kit's admin service account secret: the rotation on the host logs in to Keycloak with it."""
    rotation_role_arn: str
    """The signing key rotation role: the instance role may assume it and, with KMS signing, the signer role."""
    wheelhouse_object_key: str
    """Key of the staged kit wheelhouse archive."""
    wheelhouse_object_version: pulumi.Input[str]
    """Its version; hosts verify they read exactly that version."""
    patch_schedule: str = "cron(0 4 ? * SUN *)"
    """Patch Manager window (UTC); default Sundays 04:00."""
    kms_signer_role_arn: str | None = None
    """KMS signing: the sign-only role Keycloak signs as (a root-run refresher on each host assumes it); `None`:
    imported signing keys."""
    kms_provider_object_key: str | None = None
    """Key of the staged extension jar the hosts install (KMS signing, SMART discovery; the program stages it
    on every stack)."""
    kms_provider_sha256: str | None = None
    """Its SHA-256, pinned at deploy time: hosts refuse any other bytes."""


class KeycloakHosts(pulumi.ComponentResource):
    """Instance role, launch template, Auto Scaling group and patching."""

    role: aws.iam.Role
    role_tag_value: str
    launch_template: aws.ec2.LaunchTemplate
    group: aws.autoscaling.Group

    def __init__(self, name: str, args: KeycloakHostsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:KeycloakHosts", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            description="idpkit Keycloak host",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
            opts=child,
        )
        # Session Manager and Patch Manager; no broader managed policy.
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=self.role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-least-privilege",
            role=self.role.id,
            policy=pulumi.Output.all(
                secrets=[
                    args.db_master_secret_arn,
                    args.db_app_secret_arn,
                    args.bootstrap_admin_secret_arn,
                    args.host_tls_secret_arn,
                    args.admin_credentials_secret_arn,
                ],
                writable=[args.db_app_secret_arn],
                key=args.secrets_key_arn,
                bucket=args.artifacts_bucket_arn,
                groups=list(args.log_group_arns),
                ssm_groups=list(args.ssm_log_group_arns),
                session_key=args.session_key_arn,
            ).apply(lambda v: _host_policy(v, args)),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=self.role.name, opts=child)

        user_data = pulumi.Output.all(
            db_host=args.db_address,
            master=args.db_master_secret_arn,
            app=args.db_app_secret_arn,
            admin=args.bootstrap_admin_secret_arn,
            admin_credentials=args.admin_credentials_secret_arn,
            tls=args.host_tls_secret_arn,
            bucket=args.artifacts_bucket,
            client_ca_version=args.client_ca_object_version,
            server=args.server_log_group,
            events=args.event_log_group,
            wheelhouse_version=args.wheelhouse_object_version,
        ).apply(
            lambda v: encode_user_data(
                render_user_data(
                    host_config(args, v),
                    StagedWheelhouse(v["bucket"], args.wheelhouse_object_key, v["wheelhouse_version"]),
                )
            )
        )

        self.role_tag_value = f"keycloak-{args.stack}"
        tags = {"Name": name, PATCH_GROUP_TAG: name, ROLE_TAG_KEY: self.role_tag_value}
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description="idpkit Keycloak host",
            image_id=f"resolve:ssm:{args.ami_parameter}",
            instance_type=args.instance_type,
            iam_instance_profile={"arn": profile.arn},
            vpc_security_group_ids=[args.security_group_id],
            # No key_name: there is no SSH access to the hosts, only SSM Session Manager.
            # IMDSv2 only, and a hop limit of 1 keeps credentials away from anything but the host itself.
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        # HIPAA 164.312(a)(2)(iv): volumes encrypted with the EBS customer-managed key.
                        "encrypted": "true",
                        "kms_key_id": args.ebs_key_arn,
                        "volume_size": 30,
                        "volume_type": "gp3",
                        "delete_on_termination": "true",
                    },
                }
            ],
            monitoring={"enabled": True},
            user_data=user_data,
            update_default_version=True,
            tag_specifications=[
                {"resource_type": "instance", "tags": tags},
                {"resource_type": "volume", "tags": tags},
            ],
            opts=child,
        )
        self.group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=list(args.subnet_ids),
            min_size=args.min_instances,
            max_size=args.max_instances,
            desired_capacity=args.min_instances,
            launch_template={"id": self.launch_template.id, "version": self.launch_template.latest_version.apply(str)},
            service_linked_role_arn=args.autoscaling_role_arn,
            target_group_arns=list(args.target_group_arns),
            health_check_type="ELB",
            health_check_grace_period=HEALTH_CHECK_GRACE_SECONDS,
            default_instance_warmup=WARMUP_SECONDS,
            # Zero-downtime upgrades: replace one host at a time, never below full capacity, and start new
            # nodes one by one (Keycloak #41290: concurrent starts can split the cluster).
            instance_refresh={
                "strategy": "Rolling",
                "preferences": {
                    "min_healthy_percentage": 100,
                    "max_healthy_percentage": _one_extra_host_percentage(args.min_instances),
                    "instance_warmup": str(WARMUP_SECONDS),
                    "skip_matching": True,
                },
            },
            wait_for_capacity_timeout="20m",
            tags=[{"key": key, "value": value, "propagate_at_launch": True} for key, value in tags.items()],
            opts=child,
        )
        self._patching(name, tags[PATCH_GROUP_TAG], args.patch_schedule)
        self.register_outputs({"group_name": self.group.name, "role_arn": self.role.arn})

    def _patching(self, name: str, patch_group: str, schedule: str) -> None:
        child = pulumi.ResourceOptions(parent=self)
        baseline = aws.ssm.PatchBaseline(
            f"{name}-patch-baseline",
            description="idpkit hosts: security and bug-fix updates",
            operating_system="AMAZON_LINUX_2023",
            approval_rules=[
                {
                    "approve_after_days": 7,
                    "compliance_level": "CRITICAL",
                    "enable_non_security": False,
                    "patch_filters": [
                        {"key": "CLASSIFICATION", "values": ["Security", "Bugfix"]},
                        {"key": "SEVERITY", "values": ["Critical", "Important", "Medium"]},
                    ],
                }
            ],
            opts=child,
        )
        aws.ssm.PatchGroup(f"{name}-patch-group", baseline_id=baseline.id, patch_group=patch_group, opts=child)
        window = aws.ssm.MaintenanceWindow(
            f"{name}-patch-window",
            schedule=schedule,
            duration=3,
            cutoff=1,
            allow_unassociated_targets=False,
            opts=child,
        )
        target = aws.ssm.MaintenanceWindowTarget(
            f"{name}-patch-target",
            window_id=window.id,
            resource_type="INSTANCE",
            targets=[{"key": f"tag:{PATCH_GROUP_TAG}", "values": [patch_group]}],
            opts=child,
        )
        aws.ssm.MaintenanceWindowTask(
            f"{name}-patch-task",
            window_id=window.id,
            task_type="RUN_COMMAND",
            task_arn="AWS-RunPatchBaseline",
            priority=1,
            # One host at a time, stop at the first failure: the others keep serving.
            max_concurrency="1",
            max_errors="0",
            targets=[{"key": "WindowTargetIds", "values": [target.id]}],
            task_invocation_parameters={
                "run_command_parameters": {
                    "parameters": [
                        {"name": "Operation", "values": ["Install"]},
                        {"name": "RebootOption", "values": ["RebootIfNeeded"]},
                    ],
                }
            },
            opts=child,
        )


def host_config(args: KeycloakHostsArgs, resolved: dict[str, Any]) -> HostConfig:
    """The configuration every host of the group boots with (no secret values: names, ARNs, versions)."""
    return HostConfig(
        stack=args.stack,
        region=args.region,
        realm=args.realm,
        public_hostname=args.public_hostname,
        m2m_url=args.m2m_url,
        admin_local_port=args.admin_local_port,
        db_host=resolved["db_host"],
        db_port=POSTGRES_PORT,
        db_name=DB_NAME,
        db_master_secret_arn=resolved["master"],
        db_app_secret_arn=resolved["app"],
        bootstrap_admin_secret_arn=resolved["admin"],
        admin_credentials_secret_arn=resolved["admin_credentials"],
        host_tls_secret_arn=resolved["tls"],
        artifacts_bucket=resolved["bucket"],
        keycloak_object_key=args.keycloak_object_key,
        rds_ca_object_key=args.rds_ca_object_key,
        client_ca_object_key=args.client_ca_object_key,
        client_ca_object_version=resolved["client_ca_version"],
        server_log_group=resolved["server"],
        event_log_group=resolved["events"],
        start_jitter_seconds=START_JITTER_SECONDS,
        kms_provider_object_key=args.kms_provider_object_key,
        kms_provider_sha256=args.kms_provider_sha256,
        kms_signer_role_arn=args.kms_signer_role_arn,
    )


def _one_extra_host_percentage(capacity: int) -> int:
    """Max healthy percentage that lets an instance refresh add exactly one host at a time."""
    return min(200, 100 + math.ceil(100 / max(capacity, 1)))


def _validate(args: KeycloakHostsArgs) -> None:
    if len(args.subnet_ids) < 2:
        raise ValueError("subnet_ids: at least two private subnets in different AZs are required")
    if not 1 <= args.min_instances <= args.max_instances:
        raise ValueError("min_instances: must be >= 1 and <= max_instances")
    if len(args.target_group_arns) != 2:
        raise ValueError("target_group_arns: the browser and the machine target group are both required")
    if len(args.log_group_arns) != 2:
        raise ValueError("log_group_arns: the server and the event log group are both required")
    if len(args.ssm_log_group_arns) != 2:
        raise ValueError("ssm_log_group_arns: the session and the Run Command log group are both required")
    for key, arn in (("rotation_role_arn", args.rotation_role_arn), ("kms_signer_role_arn", args.kms_signer_role_arn)):
        if arn is not None and not _ROLE_ARN.fullmatch(arn):
            raise ValueError(f"{key}: {arn!r} must be one IAM role ARN (no wildcard)")
    if (args.kms_provider_object_key is None) != (args.kms_provider_sha256 is None):
        raise ValueError("kms_provider_object_key, kms_provider_sha256: both or neither")
    if args.kms_signer_role_arn is not None and args.kms_provider_object_key is None:
        raise ValueError("kms_signer_role_arn needs the extension jar (kms_provider_object_key) to sign with KMS")


def _host_policy(resolved: dict[str, Any], args: KeycloakHostsArgs) -> str:
    bucket_arn = resolved["bucket"]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": resolved["secrets"],
        },
        {
            # `idpkit host` creates and rotates Keycloak's database credentials (idpkit/host/database.py).
            "Sid": "DatabaseApplicationCredentials",
            "Effect": "Allow",
            "Action": "secretsmanager:PutSecretValue",
            "Resource": resolved["writable"],
        },
        {
            "Sid": "DecryptOwnSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": resolved["key"],
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}},
        },
        {
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                f"{bucket_arn}/{key}"
                for key in (
                    args.keycloak_object_key,
                    args.rds_ca_object_key,
                    args.client_ca_object_key,
                    args.wheelhouse_object_key,
                    *([args.kms_provider_object_key] if args.kms_provider_object_key else []),
                )
            ],
        },
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [f"{arn}:*" for arn in resolved["groups"]],
        },
        {
            # HIPAA 164.312(b): the SSM agent streams session transcripts and Run Command output (the scheduled
            # rotation's) to their encrypted groups; it checks the group is encrypted first.
            "Sid": "SessionAndCommandLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [f"{arn}:*" for arn in resolved["ssm_groups"]],
        },
        {
            # DescribeLogGroups lists the account's groups in the region; it cannot be narrowed further.
            "Sid": "FindSessionLogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": sorted({arn.split(":log-group:", 1)[0] + ":log-group:*" for arn in resolved["ssm_groups"]}),
        },
        {
            "Sid": "DecryptSessions",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": resolved["session_key"],
        },
        {
            # The scheduled signing key rotation runs here and reads the key store as the rotation role; with KMS
            # signing, root's refresher also hands Keycloak the sign-only role's credentials.
            "Sid": "AssumeSigningRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [args.rotation_role_arn, *([args.kms_signer_role_arn] if args.kms_signer_role_arn else [])],
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
