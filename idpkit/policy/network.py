"""The internet edge: security groups, the application load balancer, its listeners and WAF."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import TLS_POLICIES
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, Stack, get, is_true, items, present, resource_rule, stack_rule

ALLOWED_TLS_POLICIES = frozenset(TLS_POLICIES.values())

WORLD = frozenset({"0.0.0.0/0", "::/0"})
SSH_PORT = 22
_ALL_PROTOCOLS = frozenset({"-1", "all"})
_TCP = frozenset({"tcp", "6"})
_SECURITY_GROUP_SOURCES = (t.SECURITY_GROUP, t.SECURITY_GROUP_RULE, t.SECURITY_GROUP_INGRESS_RULE)


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whichever of the three pulumi-aws shapes declared it."""

    protocol: str
    from_port: int
    to_port: int
    cidrs: frozenset[str]

    def covers(self, port: int) -> bool:
        if self.protocol in _ALL_PROTOCOLS:
            return True
        return self.protocol in _TCP and self.from_port <= port <= self.to_port

    @property
    def describe(self) -> str:
        return f"{self.protocol} {self.from_port}-{self.to_port} from {', '.join(sorted(self.cidrs)) or 'a group'}"


def _ingress(entry: Mapping[str, Any], protocol_key: str, cidr_keys: tuple[str, ...]) -> Ingress:
    cidrs: set[str] = set()
    for key in cidr_keys:
        value = get(entry, key)
        cidrs.update(value if isinstance(value, list) else [value] if value else [])
    return Ingress(
        protocol=str(get(entry, protocol_key)).lower(),
        from_port=int(get(entry, "fromPort") or 0),
        to_port=int(get(entry, "toPort") or 0),
        cidrs=frozenset(cidrs),
    )


def ingress_of(res: Res) -> list[Ingress]:
    """The ingress permissions a security group, security group rule or ingress rule declares."""
    if res.type == t.SECURITY_GROUP:
        return [_ingress(e, "protocol", ("cidrBlocks", "ipv6CidrBlocks")) for e in items(res.props, "ingress")]
    if res.type == t.SECURITY_GROUP_RULE:
        if get(res.props, "type") != "ingress":
            return []
        return [_ingress(res.props, "protocol", ("cidrBlocks", "ipv6CidrBlocks"))]
    return [_ingress(res.props, "ipProtocol", ("cidrIpv4", "cidrIpv6"))]


@resource_rule(
    RuleMetadata(
        id="AWS-NET-001",
        title="No security group allows SSH",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="An open port 22 is a standing, unaudited entry point to the Keycloak hosts.",
        remediation="Remove ingress on port 22 (and all-protocol ingress); use SSM Session Manager.",
    ),
    types=_SECURITY_GROUP_SOURCES,
)
def no_ssh_ingress(res: Res, _env: Environment) -> Iterator[str]:
    """Security groups and security group (ingress) rules never allow TCP port 22, from any source;
    all-protocol ingress counts as allowing it."""
    for ingress in ingress_of(res):
        if ingress.covers(SSH_PORT):
            yield f"ingress {ingress.describe} allows SSH (port {SSH_PORT})"


def _is_application_lb(res: Res) -> bool:
    return (get(res.props, "loadBalancerType") or "application") == "application"


def _listener_ports(load_balancers: list[Res], stack: Stack) -> set[int]:
    return {
        int(port)
        for load_balancer in load_balancers
        for listener in stack.referrers(load_balancer, t.LISTENERS, "loadBalancerArn")
        if isinstance(port := get(listener.props, "port"), int | float)
    }


@stack_rule(
    RuleMetadata(
        id="AWS-NET-002",
        title="Only load balancer listener ports are open to the internet",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.CRITICAL,
        risk="Internet-wide ingress to anything but a load balancer listener bypasses WAF, the TLS policy "
        "and mTLS, exposing Keycloak's management port or the database directly.",
        remediation="Restrict 0.0.0.0/0 and ::/0 ingress to single TCP ports on the load balancer's "
        "security group where that load balancer has a listener (443, the HTTP redirect on 80, the mTLS "
        "port); everything else takes ingress from security groups.",
    ),
    subjects=_SECURITY_GROUP_SOURCES,
)
def world_ingress_only_to_listeners(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Ingress from 0.0.0.0/0 or ::/0 is allowed only for single TCP ports on a security group attached
    to a load balancer of this stack that has a listener on that port (HTTPS, the mTLS listener, or
    the port-80 redirect that AWS-ALB-004 restricts)."""
    open_to_world = [ingress for ingress in ingress_of(res) if ingress.cidrs & WORLD]
    if not open_to_world:
        return
    groups = [res] if res.type == t.SECURITY_GROUP else stack.targets(res, "securityGroupId", (t.SECURITY_GROUP,))
    load_balancers = [lb for group in groups for lb in stack.referrers(group, t.LOAD_BALANCERS, "securityGroups")]
    listener_ports = _listener_ports(load_balancers, stack)
    for ingress in open_to_world:
        single_tcp_port = ingress.protocol in _TCP and ingress.from_port == ingress.to_port
        if not (single_tcp_port and ingress.from_port in listener_ports):
            yield (
                f"ingress {ingress.describe} is open to the internet but is not a listener port of a load "
                f"balancer using this group (listener ports: {sorted(listener_ports) or 'none'})"
            )


@resource_rule(
    RuleMetadata(
        id="AWS-ALB-001",
        title="The load balancer drops invalid HTTP header fields",
        requirements=("RFC9700-4.13", "HIPAA-164.312(e)(1)"),
        severity=Severity.MEDIUM,
        risk="Headers with invalid names can smuggle values past the proxy that Keycloak or the backend "
        "then treat as trusted (e.g. mTLS client-certificate headers).",
        remediation="Set drop_invalid_header_fields=True on application load balancers.",
    ),
    types=t.LOAD_BALANCERS,
)
def alb_drops_invalid_headers(res: Res, _env: Environment) -> Iterator[str]:
    """Application load balancers set dropInvalidHeaderFields=true."""
    if _is_application_lb(res) and not is_true(get(res.props, "dropInvalidHeaderFields")):
        yield "dropInvalidHeaderFields is not true"


@resource_rule(
    RuleMetadata(
        id="AWS-ALB-002",
        title="The load balancer writes access logs",
        requirements=("HIPAA-164.312(b)",),
        severity=Severity.MEDIUM,
        risk="Without access logs, token-endpoint abuse and admin-console access cannot be reconstructed "
        "after an incident.",
        remediation="Set access_logs with enabled=True and the kit's SSE-S3 log bucket.",
    ),
    types=t.LOAD_BALANCERS,
)
def alb_access_logs(res: Res, _env: Environment) -> Iterator[str]:
    """Application load balancers enable access logs to an S3 bucket."""
    if not _is_application_lb(res):
        return
    if not (is_true(get(res.props, "accessLogs", "enabled")) and present(res.props, "accessLogs", "bucket")):
        yield "accessLogs is not enabled with a bucket"


def _protocol(listener: Res) -> str:
    # The provider defaults listeners without a protocol to HTTP (ALB) or TCP (NLB).
    return str(get(listener.props, "protocol") or "HTTP").upper()


@resource_rule(
    RuleMetadata(
        id="AWS-ALB-003",
        title="TLS listeners use the kit's TLS 1.3/1.2 post-quantum policy",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)", "FAPI2-SP-5.2.1", "RFC9325-BCP195"),
        severity=Severity.HIGH,
        risk="The provider default (ELBSecurityPolicy-2016-08) still offers TLS 1.0/1.1 and CBC suites "
        "that BCP 195 and FAPI 2.0 forbid.",
        remediation="Set ssl_policy to ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (or its FIPS variant "
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09).",
    ),
    types=t.LISTENERS,
)
def listener_tls_policy(res: Res, _env: Environment) -> Iterator[str]:
    """HTTPS and TLS listeners set sslPolicy to ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 or
    ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09."""
    if _protocol(res) in ("HTTPS", "TLS"):
        policy = get(res.props, "sslPolicy")
        if policy not in ALLOWED_TLS_POLICIES:
            yield f"sslPolicy is {policy!r}, not one of {sorted(ALLOWED_TLS_POLICIES)}"


@resource_rule(
    RuleMetadata(
        id="AWS-ALB-004",
        title="Plain-HTTP listeners only redirect to HTTPS",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"),
        severity=Severity.HIGH,
        risk="A listener on port 80 that forwards would carry authorization codes, tokens and session "
        "cookies in clear text.",
        remediation="Give HTTP listeners a single default action of type 'redirect' with protocol HTTPS.",
    ),
    types=t.LISTENERS,
)
def http_listener_redirects(res: Res, _env: Environment) -> Iterator[str]:
    """HTTP listeners (port 80) have only redirect-to-HTTPS default actions."""
    if _protocol(res) != "HTTP":
        return
    actions = items(res.props, "defaultActions")
    if not actions:
        yield "HTTP listener has no default action"
    for action in actions:
        if get(action, "type") != "redirect" or str(get(action, "redirect", "protocol")).upper() != "HTTPS":
            yield f"HTTP listener default action {get(action, 'type')!r} does not redirect to HTTPS"


@resource_rule(
    RuleMetadata(
        id="AWS-ALB-005",
        title="Listeners with mutual TLS verify client certificates at the load balancer",
        requirements=("RFC8705", "RFC9700-4.13", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Passthrough mode forwards any certificate, unverified, in a header Keycloak must then trust; "
        "ignoring expiry accepts revoked-by-expiry client credentials.",
        remediation="Use mutual_authentication mode='verify' with a trust_store_arn and leave "
        "ignore_client_certificate_expiry false.",
    ),
    types=t.LISTENERS,
)
def listener_mtls_verify(res: Res, _env: Environment) -> Iterator[str]:
    """Listeners that configure mutualAuthentication use mode verify with a trust store and do not
    ignore client certificate expiry; passthrough is never allowed."""
    if not present(res.props, "mutualAuthentication"):
        return
    mode = get(res.props, "mutualAuthentication", "mode")
    if mode == "passthrough":
        yield "mutualAuthentication.mode is passthrough; the load balancer would not verify client certificates"
    if mode == "verify" and not present(res.props, "mutualAuthentication", "trustStoreArn"):
        yield "mutualAuthentication.mode is verify without a trustStoreArn"
    if is_true(get(res.props, "mutualAuthentication", "ignoreClientCertificateExpiry")):
        yield "mutualAuthentication.ignoreClientCertificateExpiry is true"


@stack_rule(
    RuleMetadata(
        id="AWS-ALB-006",
        title="Each application load balancer has a machine listener in mTLS verify mode",
        requirements=("RFC8705", "RFC9700-2.2.1", "FAPI2-SP-5.3.3", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Without a verifying listener, certificate-bound tokens and tls_client_auth for backend "
        "services cannot be offered, and machine clients fall back to bearer tokens.",
        remediation="Add the machine (m2m) HTTPS listener with mutual_authentication mode='verify'.",
    ),
    subjects=t.LOAD_BALANCERS,
)
def alb_has_mtls_listener(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every application load balancer has at least one listener of this stack in mTLS verify mode."""
    if not _is_application_lb(res):
        return
    listeners = stack.referrers(res, t.LISTENERS, "loadBalancerArn")
    if not any(get(listener.props, "mutualAuthentication", "mode") == "verify" for listener in listeners):
        yield "has no listener with mutualAuthentication.mode = verify (the machine listener)"


@stack_rule(
    RuleMetadata(
        id="AWS-WAF-001",
        title="Each application load balancer is protected by a WAF web ACL",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Without WAF there is no rate limit on the token and login endpoints and no managed "
        "protection against credential stuffing and known-bad inputs.",
        remediation="Create an aws.wafv2.WebAclAssociation with resource_arn set to the load balancer ARN.",
    ),
    subjects=t.LOAD_BALANCERS,
)
def alb_has_waf(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every application load balancer has a wafv2 WebAclAssociation in this stack."""
    if _is_application_lb(res) and not stack.referrers(res, (t.WAF_ASSOCIATION,), "resourceArn"):
        yield "has no aws:wafv2/webAclAssociation"


RULES = (
    no_ssh_ingress,
    world_ingress_only_to_listeners,
    alb_drops_invalid_headers,
    alb_access_logs,
    listener_tls_policy,
    http_listener_redirects,
    listener_mtls_verify,
    alb_has_mtls_listener,
    alb_has_waf,
)
