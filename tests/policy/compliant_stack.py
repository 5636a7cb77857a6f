"""A small prod stack that satisfies every rule: the passing fixture, and the base the failing ones edit.

Inputs use the camelCase names the engine sends the analyzer. References between resources are the
known ids/ARNs a completed update (or a mock run) has; preview-time references by property dependency
are covered in test_core.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from idpkit.constants.monitoring import SECRET_ROTATION_TAG
from idpkit.policy import StackResource
from idpkit.policy import resource_types as t
from tests.policy.compliant_monitoring import LB_SUFFIX, data_event_selectors, log_group_arn, monitoring_resources
from tests.policy.compliant_signing import signing_resources

ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b1c2d3e-data"
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/idpkit-prod/50dc6c495c0c9188"
TRUST_STORE_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:truststore/idpkit-prod-m2m/1"
AUDIT_BUCKET = "idpkit-prod-audit"
ALB_LOG_BUCKET = "idpkit-prod-alb-logs"
ARTIFACT_BUCKET = "idpkit-prod-artifacts"
ACCESS_LOG_BUCKET = "idpkit-prod-access-logs"
PQ_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
FIPS_PQ_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09"

Stack = dict[str, StackResource]


def tls_only_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def _bucket_with_settings(name: str, bucket: str, sse: dict[str, Any], retention: dict[str, Any]) -> Stack:
    props = {"bucket": bucket, "objectLockEnabled": True, "arn": f"arn:aws:s3:::{bucket}"}
    return {
        name: StackResource(t.BUCKETS[0], name, props, id=bucket),
        f"{name}-sse": StackResource(
            t.BUCKET_SSE[0], f"{name}-sse", {"bucket": bucket, "rules": [{"applyServerSideEncryptionByDefault": sse}]}
        ),
        f"{name}-pab": StackResource(
            t.BUCKET_PUBLIC_ACCESS_BLOCK[0],
            f"{name}-pab",
            {
                "bucket": bucket,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        f"{name}-policy": StackResource(
            t.BUCKET_POLICY[0], f"{name}-policy", {"bucket": bucket, "policy": tls_only_policy(bucket)}
        ),
        f"{name}-lock": StackResource(
            t.BUCKET_OBJECT_LOCK[0],
            f"{name}-lock",
            {"bucket": bucket, "objectLockEnabled": "Enabled", "rule": {"defaultRetention": retention}},
        ),
    }


def _ingress(name: str, group: str, port: int, **source: str) -> StackResource:
    props = {"securityGroupId": group, "ipProtocol": "tcp", "fromPort": port, "toPort": port, **source}
    return StackResource(t.SECURITY_GROUP_INGRESS_RULE, name, props)


def compliant_stack() -> Stack:
    """A fresh copy of the compliant prod stack, keyed by logical name."""
    resources = [
        StackResource(
            t.KMS_KEY,
            "data-key",
            {"keyUsage": "ENCRYPT_DECRYPT", "enableKeyRotation": True, "arn": KEY_ARN},
            id="0b1c2d3e-data",
        ),
        # Token-signing key: asymmetric, exempt from automatic rotation (AWS-KMS-001).
        StackResource(t.KMS_KEY, "signing-key", {"keyUsage": "SIGN_VERIFY", "customerMasterKeySpec": "RSA_3072"}),
        StackResource(t.KMS_KEY_POLICY, "data-key-policy", {"keyId": "0b1c2d3e-data", "policy": "{}"}),
        StackResource(
            t.RDS_PARAMETER_GROUP,
            "db-params",
            {
                "name": "idpkit-prod-pg17",
                "family": "postgres17",
                "parameters": [{"name": "rds.force_ssl", "value": "1"}],
            },
        ),
        StackResource(
            t.RDS_INSTANCE,
            "db",
            {
                "engine": "postgres",
                "storageEncrypted": True,
                "kmsKeyId": KEY_ARN,
                "performanceInsightsEnabled": True,
                "performanceInsightsKmsKeyId": KEY_ARN,
                "manageMasterUserPassword": True,
                "masterUserSecretKmsKeyId": KEY_ARN,
                "publiclyAccessible": False,
                "multiAz": True,
                "deletionProtection": True,
                "backupRetentionPeriod": 14,
                "parameterGroupName": "idpkit-prod-pg17",
                "monitoringInterval": 60,
                "monitoringRoleArn": f"arn:aws:iam::{ACCOUNT}:role/monitoring-role",
            },
        ),
        StackResource(
            t.EC2_LAUNCH_TEMPLATE,
            "hosts",
            {
                "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeSize": 30}}
                ],
            },
        ),
        StackResource(t.SECURITY_GROUP, "alb-sg", {"description": "load balancer"}, id="sg-alb"),
        StackResource(t.SECURITY_GROUP, "app-sg", {"description": "keycloak hosts"}, id="sg-app"),
        _ingress("alb-https", "sg-alb", 443, cidrIpv4="0.0.0.0/0"),
        _ingress("alb-https-v6", "sg-alb", 443, cidrIpv6="::/0"),
        _ingress("alb-http", "sg-alb", 80, cidrIpv4="0.0.0.0/0"),
        _ingress("alb-m2m", "sg-alb", 8443, cidrIpv4="0.0.0.0/0"),
        _ingress("app-from-alb", "sg-app", 8443, referencedSecurityGroupId="sg-alb"),
        StackResource(
            t.LOAD_BALANCERS[0],
            "alb",
            {
                "loadBalancerType": "application",
                "securityGroups": ["sg-alb"],
                "dropInvalidHeaderFields": True,
                "accessLogs": {"bucket": ALB_LOG_BUCKET, "enabled": True, "prefix": "alb"},
                "arn": LB_ARN,
                "arnSuffix": LB_SUFFIX,
            },
            id=LB_ARN,
        ),
        StackResource(
            t.LISTENERS[0],
            "https",
            {
                "loadBalancerArn": LB_ARN,
                "port": 443,
                "protocol": "HTTPS",
                "sslPolicy": PQ_POLICY,
                "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}],
            },
        ),
        StackResource(
            t.LISTENERS[0],
            "m2m",
            {
                "loadBalancerArn": LB_ARN,
                "port": 8443,
                "protocol": "HTTPS",
                "sslPolicy": FIPS_PQ_POLICY,
                "mutualAuthentication": {"mode": "verify", "trustStoreArn": TRUST_STORE_ARN},
                "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}],
            },
        ),
        StackResource(
            t.LISTENERS[0],
            "http",
            {
                "loadBalancerArn": LB_ARN,
                "port": 80,
                "protocol": "HTTP",
                "defaultActions": [
                    {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
                ],
            },
        ),
        StackResource(t.WAF_ASSOCIATION, "waf", {"resourceArn": LB_ARN, "webAclArn": "acl"}),
        StackResource(t.LOG_GROUP, "keycloak-logs", {"kmsKeyId": KEY_ARN, "retentionInDays": 2192}),
        StackResource(
            t.SECRETS_MANAGER_ENTRY,
            "bootstrap-admin",
            {"kmsKeyId": KEY_ARN, "tags": {SECRET_ROTATION_TAG: "procedure:runbooks/break-glass-admin-access.md"}},
        ),
        StackResource(
            t.TRAIL,
            "trail",
            {
                "s3BucketName": AUDIT_BUCKET,
                "isMultiRegionTrail": True,
                "enableLogFileValidation": True,
                "kmsKeyId": KEY_ARN,
                "cloudWatchLogsGroupArn": f"{log_group_arn('/idpkit/prod/cloudtrail')}:*",
                "cloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/trail-delivery",
                "advancedEventSelectors": data_event_selectors(
                    f"arn:aws:s3:::{AUDIT_BUCKET}", f"arn:aws:s3:::{ARTIFACT_BUCKET}"
                ),
            },
        ),
        StackResource(
            t.BUCKET_LOGGING[0], "audit-access-logging", {"bucket": AUDIT_BUCKET, "targetBucket": ACCESS_LOG_BUCKET}
        ),
        *monitoring_resources(KEY_ARN),
        *signing_resources(),
    ]
    stack = {resource.name: resource for resource in resources}
    stack |= _bucket_with_settings(
        "audit",
        AUDIT_BUCKET,
        {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
        {"mode": "COMPLIANCE", "years": 6},
    )
    stack |= _bucket_with_settings(
        "alb-logs", ALB_LOG_BUCKET, {"sseAlgorithm": "AES256"}, {"mode": "COMPLIANCE", "days": 2192}
    )
    # Deployment artifacts: public material the stack uploads itself; SSE-S3, no Object Lock.
    artifacts = _bucket_with_settings("artifacts", ARTIFACT_BUCKET, {"sseAlgorithm": "AES256"}, {})
    del artifacts["artifacts-lock"]
    stack |= artifacts
    stack["keycloak-archive"] = StackResource(
        t.BUCKET_OBJECTS[0], "keycloak-archive", {"bucket": ARTIFACT_BUCKET, "key": "keycloak/keycloak.tar.gz"}
    )
    # S3 server access logs: SSE-S3 and no Object Lock (S3 refuses both); nobody may delete them instead.
    access_logs = _bucket_with_settings("access-logs", ACCESS_LOG_BUCKET, {"sseAlgorithm": "AES256"}, {})
    del access_logs["access-logs-lock"]
    access_logs["access-logs-policy"] = StackResource(
        t.BUCKET_POLICY[0],
        "access-logs-policy",
        {"bucket": ACCESS_LOG_BUCKET, "policy": deny_deletion_policy(ACCESS_LOG_BUCKET)},
    )
    return stack | access_logs


def deny_deletion_policy(bucket: str) -> str:
    """The TLS-only policy plus a statement that no principal deletes an object or a version."""
    document = json.loads(tls_only_policy(bucket))
    document["Statement"].append(
        {
            "Sid": "NobodyDeletes",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    return json.dumps(document)


def edited(name: str, edit: Callable[[dict[str, Any]], None]) -> Stack:
    """The compliant stack with `edit` applied to a copy of resource `name`'s inputs."""
    stack = compliant_stack()
    resource = stack[name]
    props = copy.deepcopy(dict(resource.props))
    edit(props)
    stack[name] = StackResource(resource.type, resource.name, props, resource.id)
    return stack


def setting(name: str, *path: str | int, value: Any) -> Stack:
    """The compliant stack with one (nested) input of resource `name` set to `value`."""

    def edit(props: dict[str, Any]) -> None:
        target: Any = props
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edited(name, edit)


def removing(name: str, *path: str | int) -> Stack:
    """The compliant stack without resource `name` (no path) or without one of its inputs."""
    if not path:
        stack = compliant_stack()
        del stack[name]
        return stack

    def edit(props: dict[str, Any]) -> None:
        target: Any = props
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edited(name, edit)


def adding(*resources: StackResource) -> Stack:
    """The compliant stack with extra resources."""
    return compliant_stack() | {resource.name: resource for resource in resources}
