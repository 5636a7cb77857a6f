"""The program as a whole: config validation, outputs contract, component structure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_stack_graphs import graphs, stack_params

from idpkit.aws_graph import StackGraph, capture
from idpkit.constants.aws import DEFAULT_M2M_PORT, GATEWAY_ENDPOINT_SERVICES, HOST_API_ENDPOINT_SERVICES
from idpkit.outputs import ADMIN_CA_CERTIFICATE_OUTPUT, REQUIRED_KEYS, SECRETS_MANAGER_ARN_PREFIX, StackOutputs
from idpkit.policy import RULES, run_rules
from idpkit.review.aws_settings import stack_resources

BAD_CONFIGS: dict[str, tuple[str, dict[str, Any], str]] = {
    "bad-integer": ("dev", {"idpkit:minInstances": "two"}, "idpkit:minInstances"),
    "unknown-key": ("dev", {"idpkit:instanceTyp": "m7i.large"}, "idpkit:instanceTyp"),
    "missing-required": ("staging", {"idpkit:certificateArn": None}, "idpkit:certificateArn"),
    "missing-secret": ("staging", {"idpkit:bootstrapAdminPassword": None}, "idpkit:bootstrapAdminPassword"),
    "prod-weakening": ("prod", {"idpkit:dbMultiAz": False}, "idpkit:dbMultiAz"),
    "cert-in-other-region": ("prod", {"aws:region": "us-west-2"}, "idpkit:certificateArn"),
    "bad-az": ("dev", {"idpkit:availabilityZones": ["us-east-2a"]}, "idpkit:availabilityZones"),
    # realm-config owns the realm's name: a stack file naming one (even its own) is refused.
    "realm-in-stack-file": ("dev", {"idpkit:realm": "healthcare"}, "idpkit:realm"),
    # Partner networks of the machine listener: public IPv4 networks only, each once, at most 10.
    **{
        f"partner-{case}": ("dev", {"idpkit:m2mAllowedCidrs": cidrs}, "idpkit:m2mAllowedCidrs")
        for case, cidrs in {
            "host-bits": ["52.94.0.1/22"],
            "private": ["10.20.0.0/16"],
            "anywhere": ["0.0.0.0/0"],
            "ipv6": ["2600:1f18::/36"],
            "not-a-cidr": ["partner-a"],
            "duplicate": ["52.94.0.0/22", "52.94.0.0/22"],
            "too-many": [f"52.{n}.0.0/16" for n in range(11)],
        }.items()
    },
}
PARTNER_NETWORKS = ["52.94.0.0/22", "3.248.0.0/16"]
NEW_REGION = {
    "aws:region": "ca-west-1",
    "idpkit:availabilityZones": ["ca-west-1a", "ca-west-1b"],
    "idpkit:certificateArn": "arn:aws:acm:ca-west-1:444455556666:certificate/1b2c3d4e-2222-4b6c-9d0e-1f2a3b4c5d6e",
}
EXISTING_VPC = {
    "idpkit:vpcId": "vpc-0a1b2c3d4e5f60718",
    "idpkit:vpcCidr": None,
    "idpkit:availabilityZones": None,
    "idpkit:publicSubnetIds": ["subnet-0a000000000000001", "subnet-0a000000000000002"],
    "idpkit:privateSubnetIds": ["subnet-0b000000000000001", "subnet-0b000000000000002"],
    "idpkit:databaseSubnetIds": ["subnet-0c000000000000001", "subnet-0c000000000000002"],
}


@pytest.fixture(scope="module")
def variants() -> dict[str, StackGraph]:
    """Every non-default run of the program, captured in parallel processes."""
    runs = {case: (stack, overrides) for case, (stack, overrides, _) in BAD_CONFIGS.items()}
    runs["new-region"] = ("staging", NEW_REGION)
    runs["existing-vpc"] = ("staging", EXISTING_VPC)
    runs["partner-networks"] = ("prod", {"idpkit:m2mAllowedCidrs": PARTNER_NETWORKS})
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {case: pool.submit(capture, stack, overrides) for case, (stack, overrides) in runs.items()}
    return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_invalid_config_names_the_key_and_declares_nothing(case: str, variants: dict[str, StackGraph]) -> None:
    graph, key = variants[case], BAD_CONFIGS[case][2]
    assert graph.error and key in graph.error, f"{case}: error {graph.error!r} does not name {key}"
    assert graph.error.startswith(("ValueError", "ConfigMissingError")), f"{case}: unexpected {graph.error}"
    assert graph.resources == (), f"{case}: {len(graph.resources)} resources declared before the config failed"


def test_unknown_key_suggests_the_right_one(variants: dict[str, StackGraph]) -> None:
    assert "did you mean idpkit:instanceType?" in (variants["unknown-key"].error or "")


def test_newer_region_uses_the_log_delivery_service_principal(variants: dict[str, StackGraph]) -> None:
    graph = variants["new-region"]
    assert graph.error is None, graph.error
    assert "aws:elb/getServiceAccount:getServiceAccount" not in graph.invokes, (
        "ca-west-1 opened after August 2022: ALB logs come from logdelivery.elasticloadbalancing.amazonaws.com"
    )
    (bucket_policy,) = [p for p in graph.of_type("aws:s3/bucketPolicy:BucketPolicy") if "-logs-alb-" in p.name]
    assert "logdelivery.elasticloadbalancing.amazonaws.com" in bucket_policy.inputs["policy"]


def test_existing_vpc_creates_no_network(variants: dict[str, StackGraph]) -> None:
    graph = variants["existing-vpc"]
    assert graph.error is None, graph.error
    assert not graph.of_type("aws:ec2/vpc:Vpc") and not graph.of_type("aws:ec2/subnet:Subnet")
    (group,) = graph.of_type("aws:autoscaling/group:Group")
    assert group.inputs["vpcZoneIdentifiers"] == EXISTING_VPC["idpkit:privateSubnetIds"]
    expected = len(HOST_API_ENDPOINT_SERVICES) + len(GATEWAY_ENDPOINT_SERVICES)
    assert len(graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")) == expected, "endpoints are still created"


def test_partner_networks_alone_reach_the_machine_listener(variants: dict[str, StackGraph]) -> None:
    graph = variants["partner-networks"]
    assert graph.error is None, graph.error
    port = DEFAULT_M2M_PORT
    world = [
        (r.inputs["fromPort"], r.inputs["cidrIpv4"])
        for r in graph.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4")
    ]
    assert sorted(world) == sorted([(80, "0.0.0.0/0"), (443, "0.0.0.0/0"), *((port, c) for c in PARTNER_NETWORKS)]), (
        f"the load balancer must admit the M2M port from {PARTNER_NETWORKS} only, the browser ports from anywhere"
    )
    (public_acl,) = [a for a in graph.of_type("aws:ec2/networkAcl:NetworkAcl") if a.inputs["tags"]["tier"] == "public"]
    m2m_entries = sorted(e["cidrBlock"] for e in public_acl.inputs["ingress"] if e["fromPort"] == port)
    assert m2m_entries == sorted(PARTNER_NETWORKS), f"the public ACL admits the M2M port from {m2m_entries}"


def test_partner_networks_stack_passes_every_rule(variants: dict[str, StackGraph]) -> None:
    violations = run_rules(stack_resources(variants["partner-networks"]), "prod", RULES)
    assert not violations, [v.message for v in violations]


@pytest.mark.parametrize("stack", stack_params())
def test_outputs_match_the_local_contract(stack: str) -> None:
    outputs = graphs()[stack].outputs
    missing = set(REQUIRED_KEYS) - set(outputs)
    assert not missing, f"{stack}: outputs lack {missing}"
    assert ADMIN_CA_CERTIFICATE_OUTPUT in outputs, f"{stack}: no trust anchor for the admin tunnel"
    contract = StackOutputs(**{name: outputs[name] for name in REQUIRED_KEYS})
    assert contract.issuer == f"{contract.base_url}/realms/{contract.realm}", f"{stack}: issuer mismatch"
    assert contract.admin_credentials.startswith(SECRETS_MANAGER_ARN_PREFIX), f"{stack}: admin_credentials"
    assert contract.admin_url.startswith("https://localhost:"), f"{stack}: admin is reached via the SSM tunnel only"


@pytest.mark.parametrize("stack", stack_params())
def test_weakenings_announced_and_none_in_prod(stack: str) -> None:
    warnings = [w for w in graphs()[stack].warnings if w.startswith("weakened on purpose:")]
    assert bool(warnings) is (stack != "prod"), f"{stack}: announced weakenings {warnings}"


@pytest.mark.parametrize("stack", stack_params())
def test_every_resource_belongs_to_a_component(stack: str) -> None:
    graph = graphs()[stack]
    components = {r.urn: r for r in graph.resources if not r.custom}
    for resource in graph.resources:
        if resource.custom:
            parent = components.get(resource.parent)
            assert parent is not None, f"{resource.urn}: declared outside any component"
            assert resource.name.startswith(f"{parent.name}-"), f"{resource.urn}: not named after {parent.name}"
