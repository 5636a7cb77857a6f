"""Where the realm's signing keys live (`idpkit:signing`), and who may use and administer them in KMS.

The keys themselves are created at run time by the rotation, each with a key policy that names the two
roles (idpkit.keys.kms_policy); the stack declares those roles. A production stack signs inside KMS (the
signer role exists); the other rules keep the roles to their jobs: the hosts' signer role can do nothing but
what each key's policy grants it (sign), and the rotation role's own KMS rights stop at creating tagged
signing keys and naming them by alias.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import (
    PURPOSE_TAG_KEY,
    ROTATION_ROLE_PURPOSE,
    SIGNER_ROLE_PURPOSE,
    SIGNING_KEY_PURPOSE,
    SIGNING_KEY_SPECS,
    STACK_TAG_KEY,
)
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, Stack, as_list, get, policy_document, stack_rule

MAX_SIGNER_SESSION_SECONDS = 3600
"""The refresher renews every 15 minutes; a stolen copy of Keycloak's credentials file expires within the hour."""
_VIA_SECRETS_MANAGER = "kms:viaservice"
_CREATE_CONDITIONS = {
    "kms:keyusage": {"SIGN_VERIFY"},
    "kms:keyspec": set(SIGNING_KEY_SPECS.values()),
    f"aws:requesttag/{PURPOSE_TAG_KEY}": {SIGNING_KEY_PURPOSE},
}
_ALIAS_ACTIONS = {"kms:createalias", "kms:updatealias"}
_CREATE_ACTIONS = {"kms:createkey", "kms:tagresource"}
_KEY_STORE_ACTIONS = {"kms:decrypt", "kms:generatedatakey"}


def _tag(res: Res, key: str) -> object:
    tags = get(res.props, "tags")
    return tags.get(key) if isinstance(tags, Mapping) else None


def _conditions(statement: Mapping[str, Any]) -> dict[str, set[str]]:
    """Condition key (lower case) -> the values it admits, across the operators that require a value: a negated
    operator (`StringNotEquals`) admits everything else, an `…IfExists` one also a request without the key."""
    found: dict[str, set[str]] = {}
    condition = statement.get("Condition")
    for operator, block in condition.items() if isinstance(condition, Mapping) else ():
        if "not" in str(operator).lower() or str(operator).lower().endswith("ifexists"):
            continue
        for key, value in block.items() if isinstance(block, Mapping) else ():
            found.setdefault(str(key).lower(), set()).update(str(item) for item in as_list(value))
    return found


def _inline_policies(role: Res, stack: Stack) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, document) of every inline policy of `role`: its own `inlinePolicies` and its RolePolicy resources."""
    documents = [
        (f"inline policy {entry.get('name', index)}", policy_document(entry.get("policy")))
        for index, entry in enumerate(as_list(get(role.props, "inlinePolicies")))
        if isinstance(entry, Mapping)
    ]
    documents += [
        (f"{policy.label}", policy_document(get(policy.props, "policy")))
        for policy in stack.referrers(role, (t.IAM_ROLE_POLICY,), "role")
    ]
    return documents


@stack_rule(
    RuleMetadata(
        id="AWS-IAM-002",
        title="The hosts' KMS signer role can only sign, and only the hosts' instance role in the VPC becomes it",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(c)(1)", "HIPAA-164.312(d)", "FAPI2-SP-5.4"),
        severity=Severity.HIGH,
        risk="Keycloak signs every token as this role. A policy of its own (inline or managed) would let a "
        "compromised Keycloak process do more than sign: read secrets, change or disable the signing keys; a "
        "trust wider than the hosts' instance role in the stack's VPC would let anyone with those credentials "
        "elsewhere mint tokens the realm's resource servers accept.",
        remediation="Declare the signer role with no inline or managed policy (each signing key's own policy "
        "grants it kms:Sign and kms:GetPublicKey), a trust admitting only the hosts' instance role with "
        "aws:Ec2InstanceSourceVPC, and a maximum session of one hour.",
    ),
    subjects=(t.IAM_ROLE,),
)
def signer_role_signs_only(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """The IAM role tagged idpkit:purpose=realm-signing-signer: no inline policy (the role's `inlinePolicies`
    or a RolePolicy), no managed policy (`managedPolicyArns` or a RolePolicyAttachment), a trust whose only
    statements let AWS principals sts:AssumeRole with aws:Ec2InstanceSourceVPC, and maxSessionDuration of at
    most one hour."""
    if _tag(res, PURPOSE_TAG_KEY) != SIGNER_ROLE_PURPOSE:
        return
    for label, _policy in _inline_policies(res, stack):
        yield f"has {label}: the signer role may only use what each signing key's policy grants"
    managed = as_list(get(res.props, "managedPolicyArns")) + [
        get(attachment.props, "policyArn")
        for attachment in stack.referrers(res, (t.IAM_ROLE_POLICY_ATTACHMENT,), "role")
    ]
    for arn in managed:
        yield f"has the managed policy {arn}: the signer role may only use what each signing key's policy grants"
    duration = get(res.props, "maxSessionDuration")
    # The engine sends numbers as floats.
    if not isinstance(duration, int | float) or isinstance(duration, bool) or duration > MAX_SIGNER_SESSION_SECONDS:
        yield f"maxSessionDuration {duration} is not set to at most {MAX_SIGNER_SESSION_SECONDS} s"
    for index, statement in enumerate(as_list(policy_document(get(res.props, "assumeRolePolicy")).get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"statement {index}"
        principal = statement.get("Principal")
        if not isinstance(principal, Mapping) or set(principal) != {"AWS"} or "*" in as_list(principal["AWS"]):
            yield f"trust {label} admits {principal!r}: only the hosts' instance role may assume the signer role"
        if set(as_list(statement.get("Action"))) != {"sts:AssumeRole"}:
            yield f"trust {label} allows {statement.get('Action')!r}: only sts:AssumeRole"
        if "aws:ec2instancesourcevpc" not in _conditions(statement):
            yield f"trust {label} is not bound to instance credentials delivered in the VPC (aws:Ec2InstanceSourceVPC)"


def _kms_problems(label: str, statement: Mapping[str, Any], stack_name: str) -> Iterator[str]:
    actions = {str(action).lower() for action in as_list(statement.get("Action"))}
    kms = {action for action in actions if action.startswith("kms:")}
    if not kms:
        return
    sid = statement.get("Sid") or "a statement"
    conditions = _conditions(statement)
    resources = [str(resource) for resource in as_list(statement.get("Resource"))]
    if any("*" in action.removeprefix("kms:") for action in kms):
        yield f"{label} {sid} allows {sorted(kms)}: no wildcard KMS actions"
        return
    if kms & _CREATE_ACTIONS:
        for key, allowed in _CREATE_CONDITIONS.items():
            if not conditions.get(key) or not conditions[key] <= allowed:
                yield f"{label} {sid} creates keys without {key} limited to {sorted(allowed)}"
        if conditions.get(f"aws:requesttag/{STACK_TAG_KEY}") != {stack_name}:
            yield f"{label} {sid} creates keys not tagged {STACK_TAG_KEY}={stack_name}"
        if conditions.get("kms:bypasspolicylockoutsafetycheck") != {"false"}:
            yield f"{label} {sid} may create keys bypassing KMS's policy lockout safety check"
    if kms & _KEY_STORE_ACTIONS and not any(
        v.startswith("secretsmanager.") for v in conditions.get(_VIA_SECRETS_MANAGER, ())
    ):
        yield f"{label} {sid} allows {sorted(kms & _KEY_STORE_ACTIONS)} outside Secrets Manager (kms:ViaService)"
    if kms & _ALIAS_ACTIONS and not all(":alias/" in resource for resource in resources):
        yield f"{label} {sid} may point aliases outside its own (Resource {resources})"
    others = kms - _CREATE_ACTIONS - _KEY_STORE_ACTIONS - _ALIAS_ACTIONS - {"kms:listaliases"}
    if others:
        yield (
            f"{label} {sid} allows {sorted(others)} by IAM: the rotation role signs nothing, and administers "
            "only the keys whose own policy names it"
        )


@stack_rule(
    RuleMetadata(
        id="AWS-IAM-003",
        title="The signing key rotation role's own KMS rights stop at creating tagged signing keys and their aliases",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(c)(1)", "HIPAA-164.312(b)"),
        severity=Severity.HIGH,
        risk="The rotation runs on the hosts. KMS rights in its identity policy beyond creating the stack's "
        "signing keys (signing, disabling or deleting other keys, policies of keys it did not create, decrypting "
        "outside the key store) would make a compromised host, or the scheduled command, a KMS administrator "
        "of the account.",
        remediation="Give the rotation role kms:CreateKey/kms:TagResource only with kms:KeyUsage SIGN_VERIFY, "
        "kms:KeySpec of the JWS specs, the idpkit:purpose and idpkit:stack request tags and "
        "kms:BypassPolicyLockoutSafetyCheck false; kms:CreateAlias/UpdateAlias on its alias ARNs; "
        "kms:Decrypt/GenerateDataKey only via Secrets Manager; nothing else (each key's policy grants the rest).",
    ),
    subjects=(t.IAM_ROLE,),
)
def rotation_role_kms_rights(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """The IAM role tagged idpkit:purpose=realm-signing-rotation: in each of its inline policies, every
    statement allowing KMS actions names no wildcard action; kms:CreateKey/kms:TagResource carry conditions
    (positive operators, not …IfExists) limiting kms:KeyUsage to SIGN_VERIFY, kms:KeySpec to the JWS key
    specs, the idpkit:purpose request tag to realm-signing and the idpkit:stack request tag to the role's own
    idpkit:stack tag, and kms:BypassPolicyLockoutSafetyCheck false; kms:Decrypt/GenerateDataKey carry
    kms:ViaService Secrets Manager; alias actions name alias ARNs only; no other KMS action than
    kms:ListAliases; no NotAction."""
    if _tag(res, PURPOSE_TAG_KEY) != ROTATION_ROLE_PURPOSE:
        return
    stack_name = _tag(res, STACK_TAG_KEY)
    if not isinstance(stack_name, str):
        yield f"is not tagged {STACK_TAG_KEY}: the keys it creates cannot be held to its stack"
        return
    for label, document in _inline_policies(res, stack):
        for statement in as_list(document.get("Statement")):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                yield f"{label} {statement.get('Sid') or 'a statement'} allows every action but some (NotAction)"
            yield from _kms_problems(label, statement, stack_name)


def _roles(stack: Stack, purpose: str, stack_name: object) -> list[Res]:
    return [
        role
        for role in stack.of_type((t.IAM_ROLE,))
        if _tag(role, PURPOSE_TAG_KEY) == purpose and _tag(role, STACK_TAG_KEY) == stack_name
    ]


@stack_rule(
    RuleMetadata(
        id="AWS-KMS-003",
        title="Production signs realm tokens inside KMS: no private signing key in Keycloak's database or memory",
        requirements=("HIPAA-164.312(c)(1)", "HIPAA-164.312(d)", "FAPI2-SP-5.4"),
        severity=Severity.HIGH,
        risk="With imported keys (`idpkit:signing: imported`) the realm's private signing keys sit in the database "
        "and in every node's memory: a database snapshot, a backup or a host image lets its holder mint access "
        "and ID tokens every resource server accepts, for any patient, until the key is rotated out.",
        remediation="Keep `idpkit:signing` at its default `kms` in production: the stack then declares the hosts' "
        "sign-only role (tagged idpkit:purpose=realm-signing-signer) next to the rotation role, and the rotation "
        "creates non-exportable SIGN_VERIFY keys in KMS that Keycloak signs with through the kit's provider.",
    ),
    subjects=(t.IAM_ROLE,),
)
def production_signs_in_kms(res: Res, stack: Stack, env: Environment) -> Iterator[str]:
    """In prod, for the IAM role tagged idpkit:purpose=realm-signing-rotation: the stack also holds the signer
    role (tagged idpkit:purpose=realm-signing-signer with the same idpkit:stack tag), and one of the rotation
    role's inline policies allows kms:CreateKey (the rotation creates the signing keys in KMS)."""
    if env is not Environment.PROD or _tag(res, PURPOSE_TAG_KEY) != ROTATION_ROLE_PURPOSE:
        return
    stack_name = _tag(res, STACK_TAG_KEY)
    if not _roles(stack, SIGNER_ROLE_PURPOSE, stack_name):
        yield (
            f"has no signer role tagged {PURPOSE_TAG_KEY}={SIGNER_ROLE_PURPOSE}, {STACK_TAG_KEY}={stack_name}: "
            "Keycloak would sign with imported private keys"
        )
    creates = any(
        "kms:createkey" in {str(action).lower() for action in as_list(statement.get("Action"))}
        for _label, document in _inline_policies(res, stack)
        for statement in as_list(document.get("Statement"))
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow"
    )
    if not creates:
        yield "cannot create signing keys in KMS (no kms:CreateKey): the rotation would import key material"


RULES = (production_signs_in_kms, signer_role_signs_only, rotation_role_kms_rights)
