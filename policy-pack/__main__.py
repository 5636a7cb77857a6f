"""The idpkit policy pack: `pulumi preview --policy-pack policy-pack`.

Constructing the PolicyPack starts the analyzer's gRPC server and blocks, so this file only
builds it; the rules live in `idpkit.policy`, where tests and reports import them.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from idpkit.policy import policies

PolicyPack(
    name="idpkit-aws",
    policies=policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="idpkit rules for a hardened Keycloak on AWS serving PHI APIs",
)
