"""Network ACLs and flow logs of the stacks: every flow the security groups allow passes both ACLs, both ways.

The flows are derived from the program's own security group rules (who may reach whom on which port), not
listed by hand; each is evaluated as a stateless ACL evaluates it (entries in rule-number order, first match
wins, anything unmatched denied), in both directions: the connection, and its replies to the client's
ephemeral port. Then flows no rule allows must not pass either.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_stack_graphs import describe, graphs, params, stack_params

from components.network_acls import TIERS, tier_blocks
from idpkit.aws_graph import Resource, StackGraph

ACL = "aws:ec2/networkAcl:NetworkAcl"
INTERNET = "1.2.3.4"
S3_ADDRESS = "52.216.10.10"
"""An address in S3's us-east-1 ranges (what the gateway endpoint route leads to)."""
CLIENT_PORTS = {"internet": (50000, 1025), "public": (2000, 60000), "private": (40000, 32768), "s3": (443,)}
"""Source ports each kind of client uses: browsers anything, the ALB 1024-65535, Linux hosts 32768-60999."""
GROUP_TIER = {"alb": "public", "hosts": "private", "db": "database", "endpoints": "private"}


@dataclass(frozen=True)
class Entry:
    number: int
    allow: bool
    protocol: str
    ports: tuple[int, int]
    network: ipaddress.IPv4Network

    def matches(self, address: str, port: int) -> bool:
        in_range = self.protocol == "-1" or (self.protocol in ("6", "tcp") and self.ports[0] <= port <= self.ports[1])
        return in_range and ipaddress.ip_address(address) in self.network


def _entries(acl: Resource, direction: str) -> list[Entry]:
    found = [
        Entry(
            e["ruleNo"],
            e["action"] == "allow",
            str(e["protocol"]),
            (e["fromPort"], e["toPort"]),
            ipaddress.IPv4Network(e["cidrBlock"]),
        )
        for e in acl.inputs.get(direction) or []
    ]
    return sorted(found, key=lambda entry: entry.number)


def _allows(acl: Resource, direction: str, address: str, port: int) -> bool:
    first = next((entry for entry in _entries(acl, direction) if entry.matches(address, port)), None)
    return first is not None and first.allow


def tier_acl(graph: StackGraph, tier: str) -> Resource:
    (acl,) = [a for a in graph.of_type(ACL) if a.inputs["tags"]["tier"] == tier]
    return acl


def address_in(graph: StackGraph, tier: str) -> str:
    """A host address in the tier's first subnet."""
    subnet = next(s for s in graph.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == tier)
    return str(next(ipaddress.ip_network(subnet.inputs["cidrBlock"]).hosts()) + 9)


@dataclass(frozen=True)
class Flow:
    source: str
    """A tier, `internet` or `s3`."""
    destination: str
    port: int
    why: str

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}:{self.port} ({self.why})"


def _group_kind(graph: StackGraph, group_id: str) -> str:
    (group,) = [g for g in graph.of_type("aws:ec2/securityGroup:SecurityGroup") if g.id == group_id]
    return group.name.rsplit("-", 1)[-1]


def allowed_flows(graph: StackGraph) -> list[Flow]:
    """What the security groups let through, tier to tier (the ACLs must carry all of it)."""
    flows = []
    for rule in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        destination = GROUP_TIER[_group_kind(graph, rule.inputs["securityGroupId"])]
        referenced = rule.inputs.get("referencedSecurityGroupId")
        source = GROUP_TIER[_group_kind(graph, referenced)] if referenced else "internet"
        flows.append(Flow(source, destination, int(rule.inputs["fromPort"]), rule.inputs.get("description", "")))
    for rule in graph.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
        if rule.inputs.get("prefixListId"):
            flows.append(Flow("private", "s3", int(rule.inputs["fromPort"]), "S3 gateway endpoint"))
    return flows


def _address(graph: StackGraph, place: str) -> str:
    return {"internet": INTERNET, "s3": S3_ADDRESS}.get(place) or address_in(graph, place)


def passes(graph: StackGraph, source: str, destination: str, port: int, source_port: int) -> list[str]:
    """Why the connection or its replies would be dropped (empty: both pass every ACL on the way)."""
    problems = []
    src, dst = _address(graph, source), _address(graph, destination)
    if source in TIERS and not _allows(tier_acl(graph, source), "egress", dst, port):
        problems.append(f"{source} ACL egress drops the connection")
    if destination in TIERS and not _allows(tier_acl(graph, destination), "ingress", src, port):
        problems.append(f"{destination} ACL ingress drops the connection")
    if destination in TIERS and not _allows(tier_acl(graph, destination), "egress", src, source_port):
        problems.append(f"{destination} ACL egress drops the replies to port {source_port}")
    if source in TIERS and not _allows(tier_acl(graph, source), "ingress", dst, source_port):
        problems.append(f"{source} ACL ingress drops the replies to port {source_port}")
    return problems


FLOW_CASES = [
    pytest.param(stack, flow, id=f"{stack}:{flow}")
    for stack in ("dev", "prod")
    for flow in allowed_flows(graphs()[stack])
]


@pytest.mark.parametrize(("stack", "flow"), FLOW_CASES)
def test_every_flow_the_security_groups_allow_passes_the_acls(stack: str, flow: Flow) -> None:
    graph = graphs()[stack]
    for source_port in CLIENT_PORTS[flow.source]:
        problems = passes(graph, flow.source, flow.destination, flow.port, source_port)
        assert not problems, f"{stack}: {flow} from port {source_port}: {problems}"


@pytest.mark.parametrize(
    ("source", "destination", "port"),
    [
        ("internet", "private", 22),
        ("internet", "private", 3389),
        ("internet", "private", 8443),
        ("internet", "private", 7800),
        ("internet", "database", 5432),
        ("public", "private", 22),
        ("public", "private", 7800),
        ("public", "private", 5432),
        ("public", "database", 5432),
        ("internet", "public", 22),
        ("internet", "public", 9000),
    ],
)
@pytest.mark.parametrize("stack", stack_params())
def test_flows_no_rule_allows_are_dropped(stack: str, source: str, destination: str, port: int) -> None:
    graph = graphs()[stack]
    src = _address(graph, source)
    assert not _allows(tier_acl(graph, destination), "ingress", src, port), (
        f"{stack}: the {destination} tier's ACL admits {source} on port {port}"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_subnets_lie_in_their_tier_block_and_use_its_acl(stack: str) -> None:
    graph = graphs()[stack]
    (vpc,) = graph.of_type("aws:ec2/vpc:Vpc")
    blocks = tier_blocks(vpc.inputs["cidrBlock"])
    for subnet in graph.of_type("aws:ec2/subnet:Subnet"):
        tier = subnet.inputs["tags"]["tier"]
        assert ipaddress.IPv4Network(subnet.inputs["cidrBlock"]).subnet_of(ipaddress.IPv4Network(blocks[tier])), (
            f"{describe(subnet)}: outside the {tier} tier's block {blocks[tier]}, so its ACL entries miss it"
        )
        assert subnet.id in tier_acl(graph, tier).inputs["subnetIds"], f"{describe(subnet)}: not on the {tier} ACL"


@pytest.mark.parametrize(("stack", "acl"), params("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"))
def test_default_acl_denies_everything(stack: str, acl: Resource) -> None:
    (vpc,) = graphs()[stack].of_type("aws:ec2/vpc:Vpc")
    assert acl.inputs["defaultNetworkAclId"] == vpc.outputs["defaultNetworkAclId"], f"{describe(acl)}: not the VPC's"
    assert not acl.inputs.get("ingress") and not acl.inputs.get("egress"), f"{describe(acl)}: must have no entries"


@pytest.mark.parametrize(("stack", "flow_log"), params("aws:ec2/flowLog:FlowLog"))
def test_flow_log_records_all_traffic_into_the_encrypted_group(stack: str, flow_log: Resource) -> None:
    graph = graphs()[stack]
    (group,) = [g for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("-flow-logs")]
    assert (flow_log.inputs["trafficType"], flow_log.inputs["logDestination"]) == ("ALL", group.outputs["arn"])
    assert group.inputs["kmsKeyId"].endswith("-kms-logs"), f"{describe(group)}: flow logs name internal addresses"
    (role,) = [r for r in graph.of_type("aws:iam/role:Role") if r.outputs["arn"] == flow_log.inputs["iamRoleArn"]]
    trust: dict[str, Any] = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"} and "aws:SourceAccount" in str(trust), (
        f"{describe(role)}: only this account's flow logs may use the delivery role"
    )
