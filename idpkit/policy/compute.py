"""Keycloak hosts: IMDSv2 only, no SSH key pairs (access goes through SSM Session Manager), no public address."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, as_list, get, is_true, present, resource_rule

_HOSTS = (t.EC2_LAUNCH_TEMPLATE, t.EC2_INSTANCE)


@resource_rule(
    RuleMetadata(
        id="AWS-EC2-001",
        title="Instances require IMDSv2 with a hop limit of 1",
        requirements=("HIPAA-164.312(a)(1)",),
        severity=Severity.HIGH,
        risk="With IMDSv1, or a hop limit above 1, an SSRF in Keycloak or a container on the host can "
        "fetch the instance role's credentials and reach the database secret and KMS keys.",
        remediation="Set metadata_options http_tokens='required' and http_put_response_hop_limit=1.",
    ),
    types=_HOSTS,
)
def imdsv2_required(res: Res, _env: Environment) -> Iterator[str]:
    """Launch templates and instances set metadataOptions.httpTokens=required and
    httpPutResponseHopLimit=1."""
    tokens = get(res.props, "metadataOptions", "httpTokens")
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {tokens!r}, not 'required'"
    hop_limit = get(res.props, "metadataOptions", "httpPutResponseHopLimit")
    if hop_limit != 1:
        yield f"metadataOptions.httpPutResponseHopLimit is {hop_limit!r}, not 1"


@resource_rule(
    RuleMetadata(
        id="AWS-EC2-002",
        title="Instances have no SSH key pair",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(a)(2)(i)"),
        severity=Severity.HIGH,
        risk="A shared key pair gives unaudited, non-attributable root access to the hosts that hold "
        "Keycloak's secrets in memory.",
        remediation="Remove key_name; operators use SSM Session Manager, which logs each IAM identity.",
    ),
    types=_HOSTS,
)
def no_key_pair(res: Res, _env: Environment) -> Iterator[str]:
    """Launch templates and instances do not set keyName."""
    if present(res.props, "keyName"):
        yield "keyName is set"


@resource_rule(
    RuleMetadata(
        id="AWS-EC2-004",
        title="Nothing is given a public IP address: not the hosts, not any subnet by default",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="A host with a public address is reachable around the load balancer (no WAF, no TLS policy, no "
        "mTLS) as soon as a security group or network ACL opens, and a subnet that hands out public "
        "addresses does so to everything launched in it later.",
        remediation="Launch hosts in private subnets without associate_public_ip_address; keep "
        "map_public_ip_on_launch=False on every subnet (the load balancer manages its own addresses).",
    ),
    types=(*_HOSTS, t.SUBNET),
)
def no_public_address(res: Res, _env: Environment) -> Iterator[str]:
    """Subnets do not map public IPs on launch; launch templates' network interfaces and instances do not
    ask for one."""
    if res.type == t.SUBNET:
        if is_true(get(res.props, "mapPublicIpOnLaunch")):
            yield "mapPublicIpOnLaunch is true: every instance launched in the subnet gets a public address"
        return
    if is_true(get(res.props, "associatePublicIpAddress")):
        yield "associatePublicIpAddress is true"
    for index, interface in enumerate(as_list(get(res.props, "networkInterfaces"))):
        if isinstance(interface, dict) and is_true(interface.get("associatePublicIpAddress")):
            yield f"networkInterfaces[{index}].associatePublicIpAddress is true"


RULES = (imdsv2_required, no_key_pair, no_public_address)
