"""The VPC: flow logs, and network ACLs that are a second, stateless filter behind the security groups."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, Stack, get, is_true, items, resource_rule, stack_rule

_ALL_PROTOCOLS = frozenset({"-1", "all"})
_TCP = frozenset({"6", "tcp"})
ADMINISTRATION_PORTS = (22, 3389)
"""SSH and RDP (AWS Foundational Security Best Practices EC2.21)."""
# Public addresses a network ACL entry would admit "from the internet"; none lies in a private range.
_INTERNET_PROBES = tuple(ipaddress.IPv4Address(a) for a in ("1.2.3.4", "100.20.0.1", "200.1.1.1"))


@resource_rule(
    RuleMetadata(
        id="AWS-VPC-001",
        title="VPC flow logs record all traffic to an encrypted log destination of the stack",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.308(a)(1)(ii)(D)"),
        severity=Severity.MEDIUM,
        risk="Without flow logs, a connection from a compromised host to an unexpected address, or a scan of "
        "the database subnet, leaves no record to investigate.",
        remediation="Add an aws.ec2.FlowLog on the VPC with traffic_type='ALL', log_destination_type "
        "'cloud-watch-logs', an iam_role_arn and the stack's encrypted, retained flow log group.",
    ),
    types=(t.FLOW_LOG,),
)
def flow_log_settings(res: Res, _env: Environment) -> Iterator[str]:
    """Flow logs record ALL traffic (accepted and rejected) and name a destination; CloudWatch Logs
    destinations also name the delivery role."""
    if get(res.props, "trafficType") != "ALL":
        yield f"trafficType is {get(res.props, 'trafficType')!r}, not ALL (rejected traffic would go unrecorded)"
    if not get(res.props, "logDestination"):
        yield "logDestination is not set"
    kind = get(res.props, "logDestinationType") or "cloud-watch-logs"
    if kind == "cloud-watch-logs" and not get(res.props, "iamRoleArn"):
        yield "iamRoleArn is not set (CloudWatch Logs delivery needs a role)"


@stack_rule(
    RuleMetadata(
        id="AWS-VPC-002",
        title="Each VPC has a flow log into a log group of the stack",
        requirements=("HIPAA-164.312(b)",),
        severity=Severity.MEDIUM,
        risk="A VPC without a flow log, or one writing to a group outside the stack, has no network audit "
        "record that the stack's encryption and retention rules (AWS-LOG-001/002) cover.",
        remediation="Declare an aws.ec2.FlowLog with vpc_id set to the VPC and log_destination set to a log "
        "group this stack declares.",
    ),
    subjects=(t.VPC,),
)
def vpc_has_flow_log(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every VPC the stack creates has a flow log (AWS-VPC-001 checks its settings) whose destination is a
    CloudWatch log group declared by the stack, so AWS-LOG-001 and AWS-LOG-002 apply to it."""
    flow_logs = stack.referrers(res, (t.FLOW_LOG,), "vpcId")
    if not flow_logs:
        yield "has no flow log"
    for flow_log in flow_logs:
        if (get(flow_log.props, "logDestinationType") or "cloud-watch-logs") != "cloud-watch-logs":
            continue
        if not stack.targets(flow_log, "logDestination", (t.LOG_GROUP,)):
            yield f"flow log '{flow_log.name}' writes to a log group the stack does not declare"


def _entries(res: Res) -> list[tuple[bool, Mapping[str, Any]]]:
    """(egress, entry) for each entry an ACL resource declares, in the shape of its inline entries."""
    if res.type == t.NETWORK_ACL_RULE:
        entry = {
            "ruleNo": get(res.props, "ruleNumber"),
            "action": get(res.props, "ruleAction"),
            **{key: get(res.props, key) for key in ("protocol", "cidrBlock", "ipv6CidrBlock", "fromPort", "toPort")},
        }
        return [(is_true(get(res.props, "egress")), entry)]
    return [(False, e) for e in items(res.props, "ingress")] + [(True, e) for e in items(res.props, "egress")]


@dataclass(frozen=True)
class _Entry:
    number: int
    allow: bool
    protocol: str
    ports: tuple[int, int]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> _Entry:
        cidr = get(entry, "cidrBlock") or get(entry, "ipv6CidrBlock")
        return cls(
            int(get(entry, "ruleNo") or 0),
            str(get(entry, "action")).lower() == "allow",
            str(get(entry, "protocol")).lower(),
            (int(get(entry, "fromPort") or 0), int(get(entry, "toPort") or 0)),
            ipaddress.ip_network(str(cidr), strict=False) if cidr else None,
        )

    @property
    def anywhere(self) -> bool:
        return self.network is not None and self.network.prefixlen == 0

    def admits(self, address: ipaddress.IPv4Address, port: int) -> bool:
        """Whether this entry matches a TCP packet from `address` to `port`."""
        if self.network is None or address not in self.network:
            return False
        return self.protocol in _ALL_PROTOCOLS or (self.protocol in _TCP and self.ports[0] <= port <= self.ports[1])


@resource_rule(
    RuleMetadata(
        id="AWS-VPC-003",
        title="Network ACLs allow neither all traffic nor SSH/RDP from anywhere",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="An allow-all entry makes the ACL no filter at all, and an ACL that admits SSH or RDP from the "
        "internet leaves only the security groups between a scan and an administration port.",
        remediation="Replace protocol -1 entries for 0.0.0.0/0 or ::/0 by per-port TCP entries; deny or leave out "
        "ports 22 and 3389 for outside addresses (reply ranges from anywhere can start above them, e.g. 32768).",
    ),
    types=(t.NETWORK_ACL, t.DEFAULT_NETWORK_ACL, t.NETWORK_ACL_RULE),
)
def acl_not_allow_all(res: Res, _env: Environment) -> Iterator[str]:
    """Network ACLs (explicit, default and standalone entries) have no allow entry for all protocols from or
    to 0.0.0.0/0 or ::/0, and, evaluated in rule-number order, admit no TCP packet from an internet address
    to port 22 or 3389 (AWS FSBP EC2.21)."""
    inbound: list[_Entry] = []
    for egress, raw in _entries(res):
        entry = _Entry.of(raw)
        if entry.allow and entry.anywhere and entry.protocol in _ALL_PROTOCOLS:
            direction = "egress" if egress else "ingress"
            yield f"{direction} entry {entry.number} allows all traffic {'to' if egress else 'from'} {entry.network}"
        if not egress:
            inbound.append(entry)
    inbound.sort(key=lambda entry: entry.number)
    for port in ADMINISTRATION_PORTS:
        for address in _INTERNET_PROBES:
            first = next((entry for entry in inbound if entry.admits(address, port)), None)
            if first is not None and first.allow:
                yield f"ingress entry {first.number} admits TCP port {port} from the internet ({first.network})"
                break


@stack_rule(
    RuleMetadata(
        id="AWS-VPC-004",
        title="The default network ACL denies everything and every subnet has an explicit ACL",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.MEDIUM,
        risk="The default network ACL allows all traffic in both directions: a subnet left on it, or added "
        "later, has no second filter behind its security groups (CIS AWS 5.x, AWS FSBP EC2.2 for ACLs).",
        remediation="Manage the VPC's default ACL with aws.ec2.DefaultNetworkAcl and no ingress or egress entries, "
        "and associate every subnet with an aws.ec2.NetworkAcl of its tier.",
    ),
    subjects=(t.VPC,),
)
def default_acl_denies_all(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every VPC the stack creates manages its default network ACL with no entries (only the implicit deny)
    and associates each of its subnets with an explicit network ACL of the stack."""
    own_default = res.props.get("defaultNetworkAclId")
    defaults = [
        acl
        for acl in stack.of_type((t.DEFAULT_NETWORK_ACL,))
        if stack.linked(acl, "defaultNetworkAclId", res, lambda value: bool(value) and value == own_default)
    ]
    if not defaults:
        yield "does not manage its default network ACL (AWS creates it allowing all traffic)"
    for acl in defaults:
        if items(acl.props, "ingress") or items(acl.props, "egress"):
            yield f"default network ACL '{acl.name}' has entries; it must deny everything"
    acls = stack.referrers(res, (t.NETWORK_ACL,), "vpcId")
    for subnet in stack.referrers(res, (t.SUBNET,), "vpcId"):
        explicit = any(stack.refers_to(acl, "subnetIds", subnet) for acl in acls) or stack.referrers(
            subnet, (t.NETWORK_ACL_ASSOCIATION,), "subnetId"
        )
        if not explicit:
            yield f"subnet '{subnet.name}' has no network ACL of its own and falls back to the default ACL"


RULES = (flow_log_settings, vpc_has_flow_log, acl_not_allow_all, default_acl_denies_all)
