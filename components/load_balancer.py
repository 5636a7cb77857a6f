"""The Application Load Balancer: a browser listener, a mutual-TLS machine listener, and an HTTP redirect.

- 443 (browsers): no client certificates; the admin console and the master realm are not routed.
- m2m port (machines): `mutual_authentication` in `verify` mode against a trust store built from the
  versioned CA bundle object, with a CRL (RFC 9700 §2.2.1 / FAPI 2.0: sender-constrained tokens via
  RFC 8705 mTLS); only the realm's OAuth/OIDC endpoints are routed.
- 80: redirect to 443, nothing else.
Both HTTPS listeners name their TLS policy, forward over HTTPS to the host-local proxy (one target
group per listener, so a browser can never present a forged certificate header on the machine path)
and write access and connection logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.log_archive import ACCESS_LOG_PREFIX, CONNECTION_LOG_PREFIX
from idpkit.constants.aws import TLS_POLICIES
from idpkit.constants.keycloak import (
    ADMIN_PATHS,
    BROWSER_PROXY_PORT,
    HEALTH_CHECK_PATH,
    M2M_PROXY_PORT,
    MANAGEMENT_PORT,
)

ALLOWED_TLS_POLICIES = tuple(TLS_POLICIES.values())
# Never public: the admin console/API and the master (administration) realm.
BLOCKED_PATHS = [pattern for path in ADMIN_PATHS for pattern in (path, f"{path}/*")]
HSTS = "max-age=63072000; includeSubDomains"


@dataclass(frozen=True)
class LoadBalancerArgs:
    """Placement, certificates and logging of the load balancer."""

    vpc_id: pulumi.Input[str]
    """VPC of the target groups."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Public subnets, >= 2 AZs."""
    security_group_id: pulumi.Input[str]
    """The load balancer's group."""
    certificate_arn: str
    """ACM certificate of the browser listener."""
    m2m_certificate_arn: str
    """ACM certificate of the mutual-TLS listener."""
    m2m_port: int
    """Port of the mutual-TLS listener (not 80/443)."""
    tls_policy: str
    """One of ALLOWED_TLS_POLICIES."""
    realm: str
    """Realm whose OAuth/OIDC endpoints the machine listener routes."""
    deletion_protection: bool
    """Refuse deletion (required in prod)."""
    log_bucket: pulumi.Input[str]
    """SSE-S3 bucket for access and connection logs."""
    log_bucket_ready: Sequence[pulumi.Resource]
    """The log bucket's policy: ELB checks write access when logging is turned on."""
    trust_store_bucket: pulumi.Input[str]
    """Bucket of the client CA bundle and CRL."""
    ca_bundle_object: aws.s3.BucketObjectv2
    """Versioned client CA bundle object."""
    crl_object: aws.s3.BucketObjectv2
    """Versioned CRL object."""


class LoadBalancer(pulumi.ComponentResource):
    """ALB, listeners, target groups and the mTLS trust store."""

    alb: aws.lb.LoadBalancer
    browser_target_group: aws.lb.TargetGroup
    m2m_target_group: aws.lb.TargetGroup

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:LoadBalancer", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=list(args.subnet_ids),
            security_groups=[args.security_group_id],
            # RFC 9700 §4.13 / request smuggling: drop malformed headers, strictest desync mitigation.
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            # If WAF is unreachable, fail closed.
            enable_waf_fail_open=False,
            enable_deletion_protection=args.deletion_protection,
            # HIPAA 164.312(b): request and TLS-handshake (client certificate verification) logs.
            access_logs={"bucket": args.log_bucket, "prefix": ACCESS_LOG_PREFIX, "enabled": True},
            connection_logs={"bucket": args.log_bucket, "prefix": CONNECTION_LOG_PREFIX, "enabled": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.log_bucket_ready)),
        )
        self.browser_target_group = self._target_group(f"{name}-web", BROWSER_PROXY_PORT, args)
        self.m2m_target_group = self._target_group(f"{name}-m2m", M2M_PROXY_PORT, args)

        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            # HIPAA 164.312(e)(1): plain HTTP only ever redirects.
            default_actions=[
                {
                    "type": "redirect",
                    "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
                }
            ],
            opts=child,
        )
        browser = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            # BCP 195 / HIPAA 164.312(e)(1): TLS 1.2+ with named, current policy.
            ssl_policy=args.tls_policy,
            certificate_arn=args.certificate_arn,
            # Browsers have no client certificates.
            mutual_authentication={"mode": "off"},
            routing_http_response_strict_transport_security_header_value=HSTS,
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_server_enabled=False,
            default_actions=[{"type": "forward", "target_group_arn": self.browser_target_group.arn}],
            opts=child,
        )
        aws.lb.ListenerRule(
            f"{name}-https-block-admin",
            listener_arn=browser.arn,
            priority=1,
            conditions=[{"path_pattern": {"values": BLOCKED_PATHS}}],
            actions=[_not_found()],
            opts=child,
        )

        trust_store = aws.lb.TrustStore(
            f"{name}-trust",
            ca_certificates_bundle_s3_bucket=args.trust_store_bucket,
            ca_certificates_bundle_s3_key=args.ca_bundle_object.key,
            # Pinning the version makes a CA change an explicit, reviewed update.
            ca_certificates_bundle_s3_object_version=args.ca_bundle_object.version_id,
            opts=child,
        )
        aws.lb.TrustStoreRevocation(
            f"{name}-trust-crl",
            trust_store_arn=trust_store.arn,
            revocations_s3_bucket=args.trust_store_bucket,
            revocations_s3_key=args.crl_object.key,
            revocations_s3_object_version=args.crl_object.version_id,
            opts=child,
        )
        machine = aws.lb.Listener(
            f"{name}-mtls",
            load_balancer_arn=self.alb.arn,
            port=args.m2m_port,
            protocol="HTTPS",
            ssl_policy=args.tls_policy,
            certificate_arn=args.m2m_certificate_arn,
            # RFC 8705 / FAPI 2.0: the ALB verifies the client chain and CRL before any request is routed.
            mutual_authentication={
                "mode": "verify",
                "trust_store_arn": trust_store.arn,
                "ignore_client_certificate_expiry": False,
                "advertise_trust_store_ca_names": "on",
            },
            routing_http_response_strict_transport_security_header_value=HSTS,
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_server_enabled=False,
            # Only the realm's protocol endpoints are routed on the machine path.
            default_actions=[_not_found()],
            opts=child,
        )
        aws.lb.ListenerRule(
            f"{name}-mtls-protocol",
            listener_arn=machine.arn,
            priority=10,
            conditions=[
                {
                    "path_pattern": {
                        "values": [
                            f"/realms/{args.realm}/protocol/openid-connect/*",
                            f"/realms/{args.realm}/.well-known/*",
                        ]
                    }
                }
            ],
            actions=[{"type": "forward", "target_group_arn": self.m2m_target_group.arn}],
            opts=child,
        )
        self.register_outputs({"dns_name": self.alb.dns_name, "arn": self.alb.arn})

    def _target_group(self, resource_name: str, port: int, args: LoadBalancerArgs) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            resource_name,
            vpc_id=args.vpc_id,
            target_type="instance",
            # HIPAA 164.312(e)(1): TLS from the load balancer to the hosts, no plain HTTP in the VPC.
            port=port,
            protocol="HTTPS",
            protocol_version="HTTP1",
            deregistration_delay=30,
            stickiness={"type": "lb_cookie", "enabled": True, "cookie_duration": 3600},
            # Keycloak 26 answers '/' with 302: probe readiness on the management interface.
            health_check={
                "enabled": True,
                "protocol": "HTTPS",
                "port": str(MANAGEMENT_PORT),
                "path": HEALTH_CHECK_PATH,
                "matcher": "200",
                "interval": 15,
                "timeout": 5,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )


def _not_found() -> dict[str, object]:
    return {
        "type": "fixed-response",
        "fixed_response": {"content_type": "text/plain", "status_code": "404", "message_body": "Not Found"},
    }


def _validate(args: LoadBalancerArgs) -> None:
    if args.tls_policy not in ALLOWED_TLS_POLICIES:
        raise ValueError(f"tls_policy: {args.tls_policy!r} is not one of {ALLOWED_TLS_POLICIES}")
    if args.m2m_port in (80, 443):
        raise ValueError("m2m_port: 80 and 443 belong to the redirect and browser listeners")
    if len(args.subnet_ids) < 2:
        raise ValueError("subnet_ids: an ALB needs subnets in at least two AZs")
    if not args.realm or args.realm == "master":
        raise ValueError("realm: the machine listener never routes the master realm")
