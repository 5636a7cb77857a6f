"""Where a stack's realm signing key lives: a reviewer's first question about token integrity.

An AWS stack answers from its graph: the hosts' sign-only role (tagged idpkit:purpose=realm-signing-signer)
exists only when the stack signs inside KMS (`idpkit:signing: kms`, components/signing_keys.py), and
AWS-KMS-003 holds production to it. The local stack answers from the choice `idpkit local up --signing` saved.
"""

from __future__ import annotations

from collections.abc import Mapping

from idpkit.aws_graph import StackGraph
from idpkit.constants.aws import PURPOSE_TAG_KEY, SIGNER_ROLE_PURPOSE, SIGNING_KEY_SPECS
from idpkit.keycloak_server.kms_provider import PROVIDER_ID, SigningChoice
from idpkit.local.layout import LocalLayout
from idpkit.local.stack import saved_signing
from idpkit.policy import resource_types as t
from idpkit.review.model import SigningKeyLocation

_SPECS = ", ".join(f"{algorithm} {spec}" for algorithm, spec in SIGNING_KEY_SPECS.items())


def _in_kms(signer: str, service: str) -> SigningKeyLocation:
    return SigningKeyLocation(
        service,
        exportable=False,
        detail=f"SIGN_VERIFY keys ({_SPECS}) created by the rotation; Keycloak signs through the {PROVIDER_ID} "
        f"provider as {signer} and its database holds only key ARNs and public keys",
    )


_IMPORTED = SigningKeyLocation(
    "Keycloak's database",
    exportable=True,
    detail="kit-generated keys imported into Keycloak: the private key is in the database and every node's memory",
)


def of_graph(graph: StackGraph) -> SigningKeyLocation:
    """An AWS stack's: KMS when it declares the hosts' signer role, else imported."""
    for resource in graph.resources:
        tags = resource.inputs.get("tags")
        if (
            resource.type == t.IAM_ROLE
            and isinstance(tags, Mapping)
            and tags.get(PURPOSE_TAG_KEY) == SIGNER_ROLE_PURPOSE
        ):
            return _in_kms(f"the role {resource.inputs.get('name', resource.name)}", "AWS KMS")
    return _IMPORTED


def of_local(stack: str) -> SigningKeyLocation | None:
    """The local stack's, as `idpkit local up --signing` last chose it; `None` before the stack was ever up."""
    choice: SigningChoice | None = saved_signing(LocalLayout.for_stack(stack))
    if choice is None:
        return None
    if choice == "kms":
        return _in_kms("the emulation's credentials", "KMS emulation (moto, server mode)")
    return _IMPORTED
