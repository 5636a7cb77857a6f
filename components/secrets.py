"""Secrets Manager secrets of the stack, each encrypted with a customer-managed key.

- bootstrap admin: Keycloak's temporary admin, read by the hosts at start (value from
  `pulumi config set --secret idpkit:bootstrapAdminPassword`).
- host TLS: certificate and key the hosts serve inside the VPC and to the admin port forward.
- admin credentials: the kit's admin service account (client_id and its private_key_jwt key). The program creates
  the secret but never writes it; `idpkit` writes it once the service account exists, so Pulumi never
  holds that credential and never overwrites it. Its ARN is the `admin_credentials` stack output.

The realm signing key material has its own store, under its own KMS key: components/signing_keys.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from idpkit.constants.monitoring import SECRET_ROTATION_TAG

BOOTSTRAP_ADMIN_USERNAME = "idpkit-bootstrap"
RECOVERY_WINDOW_DAYS = 30
ROTATION = {
    # Changed after every use (break-glass step 6); Keycloak receives it only until the kit's account exists.
    "bootstrap-admin": "procedure:runbooks/break-glass-admin-access.md",
    # A new certificate through the stack config, then an instance refresh.
    "host-tls": "procedure:runbooks/host-tls-certificate-rotation.md",
    # The kit's admin service account: a new private key, `idpkit admin rotate-key` (step 8 of the runbook).
    "admin-credentials": "procedure:runbooks/leaked-client-credentials.md",
}
"""How each secret is rotated (SECRET_ROTATION_TAG; docs/aws.md "Secrets and their rotation")."""


@dataclass(frozen=True)
class StackSecretsArgs:
    """Keys and values of the stack's secrets."""

    secrets_key_arn: pulumi.Input[str]
    """KMS key of the operational secrets."""
    bootstrap_admin_password: pulumi.Output[str]
    """Secret output: the bootstrap admin password (a long random value; the admin is temporary)."""
    host_tls_certificate: str
    """PEM certificate of the hosts (CN/SAN localhost)."""
    host_tls_key: pulumi.Output[str]
    """Secret output: PEM key of `host_tls_certificate`."""


class StackSecrets(pulumi.ComponentResource):
    """The stack's Secrets Manager secrets."""

    bootstrap_admin: aws.secretsmanager.Secret
    host_tls: aws.secretsmanager.Secret
    admin_credentials: aws.secretsmanager.Secret

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if "-----BEGIN CERTIFICATE-----" not in args.host_tls_certificate:
            raise ValueError("host_tls_certificate: must be a PEM certificate")
        super().__init__("idpkit:aws:StackSecrets", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        def secret(suffix: str, description: str, key: pulumi.Input[str]) -> aws.secretsmanager.Secret:
            return aws.secretsmanager.Secret(
                f"{name}-{suffix}",
                description=description,
                # HIPAA 164.312(a)(2)(iv): secrets encrypted with a customer-managed key.
                kms_key_id=key,
                recovery_window_in_days=RECOVERY_WINDOW_DAYS,
                tags={SECRET_ROTATION_TAG: ROTATION[suffix]},
                opts=child,
            )

        self.bootstrap_admin = secret("bootstrap-admin", "Keycloak bootstrap admin (temporary)", args.secrets_key_arn)
        bootstrap_value = args.bootstrap_admin_password.apply(
            lambda password: json.dumps({"username": BOOTSTRAP_ADMIN_USERNAME, "password": password})
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-bootstrap-admin",
            secret_id=self.bootstrap_admin.id,
            # Marked secret explicitly: encrypted in Pulumi state whatever the input's origin.
            secret_string=_secret(bootstrap_value),
            opts=child,
        )
        self.host_tls = secret("host-tls", "Keycloak host TLS certificate and key", args.secrets_key_arn)
        tls_value = args.host_tls_key.apply(
            lambda key: json.dumps({"certificate": args.host_tls_certificate, "private_key": key})
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-host-tls", secret_id=self.host_tls.id, secret_string=_secret(tls_value), opts=child
        )
        self.admin_credentials = secret(
            "admin-credentials", "idpkit admin service account (written by idpkit)", args.secrets_key_arn
        )
        self.register_outputs({"admin_credentials": self.admin_credentials.arn})


def _secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    return cast("pulumi.Output[str]", pulumi.Output.secret(cast("pulumi.Input[str]", value)))
