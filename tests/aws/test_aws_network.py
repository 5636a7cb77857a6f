"""Network and security groups: no internet egress for hosts, nothing open but the public listeners."""

from __future__ import annotations

import pytest
from aws_stack_graphs import describe, graphs, params, stack_params

from components.network import INTERFACE_ENDPOINTS
from idpkit.aws_graph import Resource

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PUBLIC_LISTENER_PORTS = {80, 443, 8443}


def group_name(graph_stack: str, suffix: str) -> str:
    return f"sg-idpkit-{graph_stack}-sg-{suffix}"


@pytest.mark.parametrize("stack", stack_params())
def test_vpc_endpoints_replace_internet_egress(stack: str) -> None:
    endpoints = graphs()[stack].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    services = {endpoint.inputs["serviceName"].rsplit(".", 1)[1]: endpoint for endpoint in endpoints}
    assert set(services) == {*INTERFACE_ENDPOINTS, "s3"}, f"{stack}: endpoints are {sorted(services)}"
    assert services["s3"].inputs["vpcEndpointType"] == "Gateway", f"{stack}: S3 must be a gateway endpoint"


@pytest.mark.parametrize("stack", stack_params())
def test_no_nat_gateway(stack: str) -> None:
    assert not graphs()[stack].of_type("aws:ec2/natGateway:NatGateway"), f"{stack}: hosts must not reach the internet"


@pytest.mark.parametrize(
    ("stack", "table"),
    params("aws:ec2/routeTable:RouteTable", where=lambda r: not r.name.endswith("-public")),
)
def test_private_and_database_subnets_have_no_default_route(stack: str, table: Resource) -> None:
    assert table.inputs.get("routes", []) == [], f"{describe(table)}: private/isolated route table has routes"


@pytest.mark.parametrize(("stack", "rule"), params(INGRESS, where=lambda r: r.inputs.get("cidrIpv4") is not None))
def test_only_public_listeners_are_open_to_the_internet(stack: str, rule: Resource) -> None:
    assert rule.inputs["securityGroupId"] == group_name(stack, "alb"), (
        f"{describe(rule)}: only the load balancer may admit {rule.inputs['cidrIpv4']}"
    )
    assert rule.inputs["fromPort"] in PUBLIC_LISTENER_PORTS, f"{describe(rule)}: port is not a public listener"


@pytest.mark.parametrize(
    ("stack", "rule"), params(INGRESS, where=lambda r: r.inputs["securityGroupId"].endswith("-sg-hosts"))
)
def test_hosts_admit_only_the_load_balancer_and_cluster_peers(stack: str, rule: Resource) -> None:
    source, port = rule.inputs["referencedSecurityGroupId"], rule.inputs["fromPort"]
    allowed = {group_name(stack, "alb"): {8443, 8445, 9000}, group_name(stack, "hosts"): {7800, 57800}}
    assert port in allowed.get(source, set()), f"{describe(rule)}: hosts must not admit {source}:{port}"


@pytest.mark.parametrize(
    ("stack", "rule"), params(INGRESS, where=lambda r: r.inputs["securityGroupId"].endswith("-sg-db"))
)
def test_database_admits_only_postgres_from_hosts(stack: str, rule: Resource) -> None:
    assert (rule.inputs["fromPort"], rule.inputs["referencedSecurityGroupId"]) == (5432, group_name(stack, "hosts")), (
        f"{describe(rule)}: the database admits 5432 from the Keycloak hosts only"
    )


@pytest.mark.parametrize(("stack", "default_group"), params("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"))
def test_default_security_group_allows_nothing(stack: str, default_group: Resource) -> None:
    assert not default_group.inputs.get("ingress") and not default_group.inputs.get("egress"), (
        f"{describe(default_group)}: CIS 5.4 - the default security group must have no rules"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_subnets_span_two_or_more_zones(stack: str) -> None:
    zones = {s.inputs["availabilityZone"] for s in graphs()[stack].of_type("aws:ec2/subnet:Subnet")}
    assert len(zones) >= 2, f"{stack}: subnets span {zones}"
