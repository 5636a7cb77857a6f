"""Session Manager preferences: every shell session on a host is encrypted end to end and logged.

The account's regional preferences live in one SSM document with a fixed name, `SSM-SessionManagerRunShell`;
the stack declares it (HIPAA 164.312(b), 164.312(e)(1)):

- session data is encrypted with the stack's sessions key (on top of TLS), so a session cannot start without
  `kms:GenerateDataKey` on it for the operator and `kms:Decrypt` for the host;
- each shell session's transcript streams to the stack's encrypted session log group (retained like every
  other log group); S3 delivery stays off, so no host needs write access to the audit bucket;
- idle sessions end after IDLE_MINUTES, every session after MAX_SESSION_MINUTES; no run-as user.

Port forwarding (the admin tunnel) carries TLS to Keycloak, which Session Manager cannot and does not log:
its start, end, operator and target are in CloudTrail (`StartSession`), the admin actions in Keycloak's admin
events. The document is one per account and region: a second stack in the same account and region must
import the first stack's document instead of declaring it (docs/aws.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from idpkit.constants.aws import SESSION_PREFERENCES_DOCUMENT

IDLE_MINUTES = 20
MAX_SESSION_MINUTES = 240


@dataclass(frozen=True)
class SessionLoggingArgs:
    """Where sessions are logged and what encrypts them."""

    log_group_name: pulumi.Input[str]
    """The encrypted session log group (components/log_archive.py)."""
    session_key_arn: pulumi.Input[str]
    """KMS key of the session data (KeyRing `keys["sessions"]`)."""


class SessionLogging(pulumi.ComponentResource):
    """The Session Manager preferences document."""

    document: aws.ssm.Document

    def __init__(self, name: str, args: SessionLoggingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idpkit:aws:SessionLogging", name, {}, opts)
        self.document = aws.ssm.Document(
            f"{name}-preferences",
            name=SESSION_PREFERENCES_DOCUMENT,
            document_type="Session",
            document_format="JSON",
            content=pulumi.Output.all(args.log_group_name, args.session_key_arn).apply(
                lambda values: json.dumps(preferences(values[0], values[1]), indent=2)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"document": self.document.name})


def preferences(log_group_name: str, session_key_arn: str) -> dict[str, Any]:
    """The preferences document's content."""
    return {
        "schemaVersion": "1.0",
        "description": "idpkit: encrypted, logged Session Manager sessions",
        "sessionType": "Standard_Stream",
        "inputs": {
            "kmsKeyId": session_key_arn,
            "cloudWatchLogGroupName": log_group_name,
            "cloudWatchEncryptionEnabled": True,
            "cloudWatchStreamingEnabled": True,
            "s3BucketName": "",
            "s3KeyPrefix": "",
            "s3EncryptionEnabled": True,
            "runAsEnabled": False,
            "runAsDefaultUser": "",
            "idleSessionTimeout": str(IDLE_MINUTES),
            "maxSessionDuration": str(MAX_SESSION_MINUTES),
            "shellProfile": {"windows": "", "linux": ""},
        },
    }
