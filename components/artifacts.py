"""The artifacts bucket: what hosts and the load balancer load at boot, staged at deploy time.

`pulumi up` downloads the pinned Keycloak distribution (`release.DOWNLOAD_URL`) and the region's RDS CA
bundle over HTTPS and uploads them here, so hosts install them without internet egress; each host
re-checks the archive against `release.SHA512` before using it (`idpkit host up`). Operating-system
packages (Java, HAProxy, Python) come from Amazon Linux's own repositories, never from here. The mutual-TLS
client CA bundle and its CRL live here too, versioned: the ALB trust store reads them, and each host
gives Keycloak the same CA bundle version so it re-validates forwarded client certificates. So does the
kit's host wheelhouse (`idpkit host wheelhouse`, built on the operator's machine before `pulumi up`):
hosts install the kit from it, pinned to the uploaded object version, for the signing key rotation. With
KMS signing, the kit's Keycloak provider jar too (built from `keycloak-kms/`, pinned by SHA-256).

Everything here is public material (a public distribution, public CA certificates and a CRL), so the
bucket uses SSE-S3: hosts and the ELB trust store read it without a KMS grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.hardened_bucket import HardenedBucket, HardenedBucketArgs
from idpkit.keycloak_server import release
from idpkit.keycloak_server.kms_provider import JAR_NAME, sha256_of

RDS_CA_URL = "https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
CLIENT_CA_KEY = "mtls/client-ca-bundle.pem"
CLIENT_CRL_KEY = "mtls/client-crl.pem"
WHEELHOUSE_KEY = "host/idpkit-wheelhouse-{architecture}.tar"
KMS_PROVIDER_KEY = f"keycloak/providers/{JAR_NAME}"
MISSING_JAR_PIN = "missing: run idpkit host kms-provider"


@dataclass(frozen=True)
class ArtifactStoreArgs:
    """What to stage."""

    region: str
    """The stack's region (the RDS CA bundle is regional)."""
    client_ca_bundle: str
    """PEM bundle of the CAs that issue machine-client certificates."""
    client_crl: str
    """PEM CRL of those CAs."""
    host_wheelhouse: Path
    """The kit's host wheelhouse archive on this machine (`idpkit host wheelhouse`); the Pulumi engine
    reads it at preview/up and stops there if it is missing."""
    architecture: str
    """The hosts' architecture (`x86_64` or `arm64`), the wheelhouse's."""
    kms_provider_jar: Path | None = None
    """The kit's Keycloak extension jar on this machine (`idpkit host kms-provider`): KMS signing and the SMART
    discovery document, so the program stages it on every stack; `None` stages nothing. Its SHA-256
    (`kms_provider_sha256`) is read here, at deploy time, and pinned in the host configuration; like the
    wheelhouse, a missing jar stops the engine at preview/up."""


class ArtifactStore(pulumi.ComponentResource):
    """Bucket and staged objects."""

    bucket: HardenedBucket
    keycloak_object_key: str
    rds_ca_object_key: str
    client_ca_bundle: aws.s3.BucketObjectv2
    client_crl: aws.s3.BucketObjectv2
    wheelhouse_object_key: str
    wheelhouse: aws.s3.BucketObjectv2
    kms_provider_object_key: str | None
    kms_provider_sha256: str | None

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if "-----BEGIN CERTIFICATE-----" not in args.client_ca_bundle:
            raise ValueError("client_ca_bundle: must contain at least one PEM certificate")
        if "-----BEGIN X509 CRL-----" not in args.client_crl:
            raise ValueError("client_crl: must be a PEM X.509 CRL")
        super().__init__("idpkit:aws:ArtifactStore", name, {}, opts)
        self.bucket = HardenedBucket(
            f"{name}-s3",
            HardenedBucketArgs(purpose="deployment artifacts", kms_key_arn=None, noncurrent_expiration_days=90),
            opts=pulumi.ResourceOptions(parent=self),
        )
        bucket = self.bucket.bucket.id
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.bucket])
        self.keycloak_object_key = f"keycloak/{release.ARCHIVE_NAME}"
        aws.s3.BucketObjectv2(
            f"{name}-keycloak",
            bucket=bucket,
            key=self.keycloak_object_key,
            source=pulumi.RemoteAsset(release.DOWNLOAD_URL),
            opts=child,
        )
        self.rds_ca_object_key = f"rds/{args.region}-bundle.pem"
        aws.s3.BucketObjectv2(
            f"{name}-rds-ca",
            bucket=bucket,
            key=self.rds_ca_object_key,
            source=pulumi.RemoteAsset(RDS_CA_URL.format(region=args.region)),
            content_type="application/x-pem-file",
            opts=child,
        )
        self.client_ca_bundle = aws.s3.BucketObjectv2(
            f"{name}-client-ca",
            bucket=bucket,
            key=CLIENT_CA_KEY,
            content=args.client_ca_bundle,
            content_type="application/x-pem-file",
            opts=child,
        )
        self.client_crl = aws.s3.BucketObjectv2(
            f"{name}-client-crl",
            bucket=bucket,
            key=CLIENT_CRL_KEY,
            content=args.client_crl,
            content_type="application/x-pem-file",
            opts=child,
        )
        self.wheelhouse_object_key = WHEELHOUSE_KEY.format(architecture=args.architecture)
        self.wheelhouse = aws.s3.BucketObjectv2(
            f"{name}-host-wheelhouse",
            bucket=bucket,
            key=self.wheelhouse_object_key,
            source=pulumi.FileAsset(str(args.host_wheelhouse)),
            content_type="application/x-tar",
            opts=child,
        )
        self.kms_provider_object_key, self.kms_provider_sha256 = None, None
        if args.kms_provider_jar is not None:
            self.kms_provider_object_key = KMS_PROVIDER_KEY
            # Missing (announced by the program): the engine refuses the file asset, so this pin never reaches a host.
            jar = args.kms_provider_jar
            self.kms_provider_sha256 = sha256_of(jar) if jar.is_file() else MISSING_JAR_PIN
            aws.s3.BucketObjectv2(
                f"{name}-kms-provider",
                bucket=bucket,
                key=KMS_PROVIDER_KEY,
                source=pulumi.FileAsset(str(jar)),
                content_type="application/java-archive",
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.bucket.bucket})
