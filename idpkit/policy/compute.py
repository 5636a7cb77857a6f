"""Keycloak hosts: IMDSv2 only, no SSH key pairs (access goes through SSM Session Manager)."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, get, present, resource_rule

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


RULES = (imdsv2_required, no_key_pair)
