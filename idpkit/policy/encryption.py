"""Encryption at rest: customer-managed KMS keys, rotated, with a key policy that cannot be bypassed."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, customer_managed_key_problem, get, is_true, items, resource_rule

_AT_REST = ("HIPAA-164.312(a)(2)(iv)",)


@resource_rule(
    RuleMetadata(
        id="AWS-KMS-001",
        title="Symmetric encryption keys rotate automatically",
        requirements=_AT_REST,
        severity=Severity.MEDIUM,
        risk="A key that never rotates protects ever more ePHI, so one leaked key version exposes years of data.",
        remediation="Set enable_key_rotation=True (optionally rotation_period_in_days) on symmetric "
        "ENCRYPT_DECRYPT keys.",
    ),
    types=(t.KMS_KEY,),
)
def kms_key_rotation(res: Res, _env: Environment) -> Iterator[str]:
    """Symmetric ENCRYPT_DECRYPT KMS keys have automatic rotation enabled. Asymmetric (SIGN_VERIFY,
    RSA/ECC) and HMAC keys are exempt: KMS cannot rotate them; the kit rotates signing keys by alias
    swap instead."""
    usage = get(res.props, "keyUsage") or "ENCRYPT_DECRYPT"
    spec = get(res.props, "customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if usage == "ENCRYPT_DECRYPT" and spec == "SYMMETRIC_DEFAULT" and not is_true(get(res.props, "enableKeyRotation")):
        yield "enableKeyRotation is not true on a symmetric encryption key"


@resource_rule(
    RuleMetadata(
        id="AWS-KMS-002",
        title="KMS key policies keep the lockout safety check",
        requirements=("HIPAA-164.312(a)(1)", *_AT_REST),
        severity=Severity.HIGH,
        risk="Bypassing the check lets a key policy lock every principal, including administrators, out of "
        "the key: the data it encrypts becomes unrecoverable or unmanageable.",
        remediation="Remove bypass_policy_lockout_safety_check (leave it false).",
    ),
    types=(t.KMS_KEY, t.KMS_KEY_POLICY, t.KMS_REPLICA_KEY, t.KMS_EXTERNAL_KEY, t.KMS_REPLICA_EXTERNAL_KEY),
)
def kms_no_lockout_bypass(res: Res, _env: Environment) -> Iterator[str]:
    """KMS keys and key policies never set bypass_policy_lockout_safety_check."""
    if is_true(get(res.props, "bypassPolicyLockoutSafetyCheck")):
        yield "bypassPolicyLockoutSafetyCheck is true"


@resource_rule(
    RuleMetadata(
        id="AWS-RDS-001",
        title="RDS storage is encrypted with a customer-managed key",
        requirements=_AT_REST,
        severity=Severity.CRITICAL,
        risk="The Keycloak database holds user identities, credentials and sessions; unencrypted or "
        "AWS-managed-key storage and snapshots cannot be access-controlled by the kit's key policy.",
        remediation="Set storage_encrypted=True and kms_key_id to the kit's database KMS key ARN.",
    ),
    types=(t.RDS_INSTANCE, t.RDS_CLUSTER),
)
def rds_storage_encrypted(res: Res, _env: Environment) -> Iterator[str]:
    """RDS instances and clusters set storageEncrypted and a customer-managed kmsKeyId."""
    if not is_true(get(res.props, "storageEncrypted")):
        yield "storageEncrypted is not true"
    if problem := customer_managed_key_problem(res.props, "kmsKeyId"):
        yield problem


@resource_rule(
    RuleMetadata(
        id="AWS-RDS-002",
        title="Performance Insights data is encrypted with a customer-managed key",
        requirements=_AT_REST,
        severity=Severity.MEDIUM,
        risk="Performance Insights stores SQL text with literal values, which can include ePHI.",
        remediation="Set performance_insights_kms_key_id to a customer-managed key ARN, or disable "
        "Performance Insights.",
    ),
    types=(t.RDS_INSTANCE, t.RDS_CLUSTER, t.RDS_CLUSTER_INSTANCE),
)
def rds_performance_insights_key(res: Res, _env: Environment) -> Iterator[str]:
    """Where Performance Insights is enabled, performanceInsightsKmsKeyId names a customer-managed key."""
    if is_true(get(res.props, "performanceInsightsEnabled")) and (
        problem := customer_managed_key_problem(res.props, "performanceInsightsKmsKeyId")
    ):
        yield problem


def _block_device_problems(res: Res) -> Iterator[str]:
    if res.type == t.EBS_VOLUME:
        devices = [("volume", res.props)]
    elif res.type == t.EC2_LAUNCH_TEMPLATE:
        mappings = [m for m in items(res.props, "blockDeviceMappings") if isinstance(m, dict)]
        devices = [(str(m.get("deviceName")), m["ebs"]) for m in mappings if isinstance(m.get("ebs"), dict)]
        if not devices:
            # Without a mapping the root volume inherits the AMI's encryption settings.
            yield "declares no EBS block device mapping, so the root volume's encryption is not enforced"
    else:
        root = get(res.props, "rootBlockDevice")
        devices = [("rootBlockDevice", root if isinstance(root, dict) else {})]
        devices += [(str(d.get("deviceName")), d) for d in items(res.props, "ebsBlockDevices")]
    for label, device in devices:
        if not is_true(get(device, "encrypted")):
            yield f"EBS device {label} is not encrypted"
        if problem := customer_managed_key_problem(device, "kmsKeyId"):
            yield f"EBS device {label}: {problem}"


@resource_rule(
    RuleMetadata(
        id="AWS-EC2-003",
        title="EBS volumes are encrypted with a customer-managed key",
        requirements=_AT_REST,
        severity=Severity.HIGH,
        risk="Keycloak nodes cache sessions and write logs to disk; unencrypted volumes and snapshots "
        "expose them to anyone who can copy a snapshot.",
        remediation="Declare every block device mapping (root included) with encrypted='true' and "
        "kms_key_id set to the kit's EBS key.",
    ),
    types=(t.EC2_LAUNCH_TEMPLATE, t.EC2_INSTANCE, t.EBS_VOLUME),
)
def ebs_encrypted(res: Res, _env: Environment) -> Iterator[str]:
    """Launch templates, instances and EBS volumes encrypt every EBS device with a customer-managed key;
    launch templates declare their block devices so the root volume cannot fall back to the AMI."""
    yield from _block_device_problems(res)


@resource_rule(
    RuleMetadata(
        id="AWS-LOG-001",
        title="CloudWatch log groups are encrypted with a customer-managed key",
        requirements=(*_AT_REST, "HIPAA-164.312(b)"),
        severity=Severity.HIGH,
        risk="Keycloak and system logs carry user identifiers and IP addresses; without a customer key "
        "anyone with logs:GetLogEvents reads them, and access cannot be revoked by key policy.",
        remediation="Set kms_key_id on the log group to a key whose policy allows logs.<region>.amazonaws.com "
        "with the kms:EncryptionContext:aws:logs:arn condition.",
    ),
    types=(t.LOG_GROUP,),
)
def log_group_key(res: Res, _env: Environment) -> Iterator[str]:
    """CloudWatch log groups set kmsKeyId to a customer-managed key."""
    if problem := customer_managed_key_problem(res.props, "kmsKeyId"):
        yield problem


@resource_rule(
    RuleMetadata(
        id="AWS-SM-001",
        title="Secrets are encrypted with a customer-managed key",
        requirements=(*_AT_REST, "HIPAA-164.312(a)(1)"),
        severity=Severity.HIGH,
        risk="Secrets encrypted with aws/secretsmanager can be read by any principal with "
        "secretsmanager:GetSecretValue; a customer key adds a second, auditable gate.",
        remediation="Set kms_key_id on Secrets Manager secrets, and master_user_secret_kms_key_id on RDS "
        "resources that manage their master password.",
    ),
    types=(t.SECRETS_MANAGER_ENTRY, t.RDS_INSTANCE, t.RDS_CLUSTER),
)
def secrets_key(res: Res, _env: Environment) -> Iterator[str]:
    """Secrets Manager secrets, including the RDS-managed master user secret, use a customer-managed key."""
    if res.type == t.SECRETS_MANAGER_ENTRY:
        problem = customer_managed_key_problem(res.props, "kmsKeyId")
    elif is_true(get(res.props, "manageMasterUserPassword")):
        problem = customer_managed_key_problem(res.props, "masterUserSecretKmsKeyId")
    else:
        problem = None
    if problem:
        yield problem


@resource_rule(
    RuleMetadata(
        id="AWS-TRAIL-002",
        title="CloudTrail logs are encrypted with a customer-managed key",
        requirements=(*_AT_REST, "HIPAA-164.312(b)"),
        severity=Severity.HIGH,
        risk="Audit trails reveal who touched ePHI resources; SSE-S3 lets anyone with bucket read access read them.",
        remediation="Set kms_key_id on the trail to a key that grants cloudtrail.amazonaws.com "
        "kms:GenerateDataKey* with the aws:cloudtrail:arn encryption context.",
    ),
    types=(t.TRAIL,),
)
def trail_key(res: Res, _env: Environment) -> Iterator[str]:
    """CloudTrail trails set kmsKeyId to a customer-managed key."""
    if problem := customer_managed_key_problem(res.props, "kmsKeyId"):
        yield problem


RULES = (
    kms_key_rotation,
    kms_no_lockout_bypass,
    rds_storage_encrypted,
    rds_performance_insights_key,
    ebs_encrypted,
    log_group_key,
    secrets_key,
    trail_key,
)
