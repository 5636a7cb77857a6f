"""AWS facts the Pulumi program, its stack configuration, the CrossGuard rules and the review share."""

from __future__ import annotations

TLS_POLICIES: dict[str, str] = {
    "standard": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "fips": "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
}
"""ELB TLS policies by `idpkit:tlsPolicy` value: TLS 1.3 + 1.2, forward-secret AEAD suites only (BCP 195),
post-quantum key exchange. Named explicitly on every HTTPS listener: the API default is still
ELBSecurityPolicy-2016-08."""

# fmt: off
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
# fmt: on
"""The retention values CloudWatch Logs accepts."""

HIPAA_RETENTION_DAYS = 2192
"""HIPAA 45 CFR 164.316(b)(2)(i): keep documentation six years (6 * 365 + 2 leap days), as CloudWatch counts
them; also the Object Lock retention of the audit buckets in prod."""

HIPAA_RETENTION_YEARS = 6
"""The same six years, as S3 Object Lock counts them."""

SUPPORTED_POSTGRES_MAJORS = ("16", "17")
"""PostgreSQL majors Keycloak 26 supports that the kit allows on RDS (current majors only)."""

DEFAULT_POSTGRES_VERSION = "17"
"""`idpkit:dbEngineVersion` default."""

POSTGRES_PORT = 5432
"""RDS for PostgreSQL's port."""

HTTPS_PORT = 443
HTTP_PORT = 80
DEFAULT_M2M_PORT = 8443
"""Public port of the mutual-TLS listener on the shared load balancer (80 and 443 belong to the redirect and
browser listeners)."""

DEFAULT_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
"""SSM public parameter of the hosts' Amazon Linux 2023 AMI."""

HOST_API_ENDPOINT_SERVICES = ("ssm", "ssmmessages", "ec2messages", "logs", "kms", "secretsmanager", "sts")
"""AWS APIs the hosts call, each through an interface VPC endpoint (S3 goes through the gateway endpoint):
Session Manager and Run Command (ssm, ssmmessages, ec2messages), the CloudWatch agent (logs), host bootstrap
and the kit's host commands (secretsmanager, kms via Secrets Manager, sts for the rotation role)."""

GATEWAY_ENDPOINT_SERVICES = ("s3",)
"""AWS APIs the hosts reach through gateway endpoints (route-table entries, no ENI)."""

ANYWHERE_IPV4 = "0.0.0.0/0"
"""Every IPv4 address: the public listeners' default source, and the default of `idpkit:m2mAllowedCidrs`."""

S3_OBJECT_RESOURCE_TYPE = "AWS::S3::Object"
"""CloudTrail's resource type of S3 object-level (data) events."""

SESSION_PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"
"""The SSM document holding an account's Session Manager preferences in a region (one per account and region)."""

PURPOSE_TAG_KEY = "idpkit:purpose"
"""Tag naming what a kit-created resource is for: the KMS signing keys the rotation creates, the roles around them."""
STACK_TAG_KEY = "idpkit:stack"
"""Tag naming the stack a KMS signing key belongs to (the rotation role may create keys only with its own)."""
SIGNING_KEY_PURPOSE = "realm-signing"
"""`idpkit:purpose` of every realm signing key in KMS (the rotation role's CreateKey is conditioned on it)."""
SIGNER_ROLE_PURPOSE = "realm-signing-signer"
"""`idpkit:purpose` of the hosts' sign-only role (AWS-IAM-002 finds it by this tag)."""
ROTATION_ROLE_PURPOSE = "realm-signing-rotation"
"""`idpkit:purpose` of the signing key rotation role (AWS-IAM-003 finds it by this tag)."""
SIGNING_KEY_SPECS = {"PS256": "RSA_2048", "ES256": "ECC_NIST_P256"}
"""KMS key spec per JWS algorithm. FAPI 2.0 asks for RSA >= 2048 or P-256; KMS's cost per Sign grows with the
RSA size."""
