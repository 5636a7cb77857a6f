"""SigningKeys component under Pulumi mocks: key store encryption, least privilege, the schedule's command."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from collections.abc import Callable
from typing import Any
from unittest import mock

import pulumi
import pytest

ACCOUNT = "111122223333"
REGION = "us-east-1"
SIGNING_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HOST_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/idpkit-prod-hosts-role"
VPC_ID = "vpc-0123456789abcdef0"
COMMAND_LOG_GROUP = "/idpkit/prod/run-command"
TAG_KEY, TAG_VALUE = "idpkit:role", "keycloak"


class Mocks(pulumi.runtime.Mocks):
    """Echo inputs, and give secrets, roles and schedules ARNs as AWS would."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        arns = {
            "aws:secretsmanager/secret:Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{args.name}-AbCdEf",
            "aws:iam/role:Role": f"arn:aws:iam::{ACCOUNT}:role/{args.name}",
            "aws:scheduler/schedule:Schedule": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{args.name}",
        }
        if args.typ in arns:
            outputs["arn"] = arns[args.typ]
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:  # noqa: ARG002 - interface
        return {}, None


pulumi.runtime.set_mocks(Mocks(), project="idpkit", stack="prod", preview=False)

from components.signing_keys import (  # noqa: E402 - the mocks must be set before the component is imported
    SECRET_DATA_ACTIONS,
    SEND_COMMAND_TARGET,
    SESSION_NAME,
    SigningKeys,
    SigningKeysArgs,
    rotation_role_name,
    schedule_group_arn,
)
from idpkit.cli.keys import keys  # noqa: E402
from idpkit.outputs import OUTPUTS_FILE_ENV  # noqa: E402

# pulumi.runtime.test is untyped; typed once here so every test keeps its signature.
pulumi_test: Callable[[Callable[[], pulumi.Output[None]]], Callable[[], None]] = pulumi.runtime.test

ARGS = SigningKeysArgs(
    environment="prod",
    account_id=ACCOUNT,
    region=REGION,
    signing_key_arn=SIGNING_KEY_ARN,
    host_role_arn=HOST_ROLE_ARN,
    vpc_id=VPC_ID,
    instance_tag_key=TAG_KEY,
    instance_tag_value=TAG_VALUE,
    command_log_group=COMMAND_LOG_GROUP,
)
component = SigningKeys("idpkit-prod-signing", ARGS)


def statement(document: str, sid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in json.loads(document)["Statement"] if s["Sid"] == sid)
    return found


def send_command() -> pulumi.Output[dict[str, Any]]:
    def parse(target: Any) -> dict[str, Any]:
        # Output types are dicts underneath (plain dicts once passed through Output.all): index, don't getattr.
        loaded: dict[str, Any] = json.loads(target["input"])
        return loaded

    parsed: pulumi.Output[dict[str, Any]] = component.schedule.target.apply(parse)
    return parsed


@pulumi_test
def test_key_store_secret_is_encrypted_with_the_signing_material_key() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, key = values
        assert key == SIGNING_KEY_ARN, f"{urn}: kms_key_id must be the signing-material KMS key, got {key!r}"

    return pulumi.Output.all(component.secret.urn, component.secret.kms_key_id).apply(check)


@pulumi_test
def test_secret_policy_denies_key_material_to_everyone_but_the_rotation_role() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document, role_arn = values
        deny = statement(document, "OnlyTheRotationRoleTouchesKeyMaterial")
        assert (deny["Effect"], deny["Principal"], sorted(deny["Action"]), deny["Condition"]) == (
            "Deny",
            "*",
            sorted(SECRET_DATA_ACTIONS),
            {"StringNotEquals": {"aws:PrincipalArn": role_arn}},
        ), f"{urn}: the secret policy must deny reading/writing the value to every principal but {role_arn}"

    return pulumi.Output.all(
        component.secret_policy.urn, component.secret_policy.policy, component.rotation_role.arn
    ).apply(check)


@pulumi_test
def test_secret_policy_blocks_public_policies() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, block = values
        assert block is True, f"{urn}: block_public_policy must be true"

    return pulumi.Output.all(component.secret_policy.urn, component.secret_policy.block_public_policy).apply(check)


@pulumi_test
def test_rotation_role_reads_and_writes_only_its_secret() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document, secret_arn = values
        grant = statement(document, "KeyStore")
        assert grant["Resource"] == secret_arn, (
            f"{urn}: Secrets Manager access must be limited to the key store {secret_arn}, got {grant['Resource']!r}"
        )

    return pulumi.Output.all(
        component.rotation_policy.urn, component.rotation_policy.policy, component.secret.arn
    ).apply(check)


@pulumi_test
def test_rotation_role_uses_the_kms_key_only_through_secrets_manager() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document = values
        grant = statement(document, "KeyStoreEncryption")
        assert (grant["Resource"], sorted(grant["Action"]), grant["Condition"]) == (
            SIGNING_KEY_ARN,
            ["kms:Decrypt", "kms:GenerateDataKey"],
            {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
        ), f"{urn}: kms Decrypt/GenerateDataKey must be on the signing key only, via Secrets Manager only"

    return pulumi.Output.all(component.rotation_policy.urn, component.rotation_policy.policy).apply(check)


@pulumi_test
def test_rotation_role_sends_commands_only_to_tagged_keycloak_hosts() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document = values
        grant = statement(document, "RunOnKeycloakHosts")
        assert grant["Condition"] == {"StringEquals": {f"ssm:resourceTag/{TAG_KEY}": TAG_VALUE}}, (
            f"{urn}: ssm:SendCommand on instances must require the tag {TAG_KEY}={TAG_VALUE}"
        )

    return pulumi.Output.all(component.rotation_policy.urn, component.rotation_policy.policy).apply(check)


@pulumi_test
def test_rotation_policy_grants_no_wildcard_actions() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document = values
        actions = [
            a
            for s in json.loads(document)["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        ]
        assert not [a for a in actions if "*" in a], f"{urn}: the rotation role must list its actions, got {actions}"

    return pulumi.Output.all(component.rotation_policy.urn, component.rotation_policy.policy).apply(check)


@pulumi_test
def test_scheduler_assumes_the_rotation_role_only_for_this_stacks_schedule_group() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document, group_name = values
        trust = statement(document, "SchedulerSendsTheCommand")
        expected_group = schedule_group_arn(REGION, ACCOUNT, "idpkit-prod-signing")
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnEquals": {"aws:SourceArn": expected_group},
        }, f"{urn}: scheduler.amazonaws.com must be bound to this stack's schedule group (confused deputy)"
        assert expected_group.endswith(f"/{group_name}"), f"{urn}: the schedule group is {group_name}"

    return pulumi.Output.all(
        component.rotation_role.urn, component.rotation_role.assume_role_policy, component.schedule_group.name
    ).apply(check)


@pulumi_test
def test_hosts_assume_the_rotation_role_only_with_credentials_delivered_in_the_stack_vpc() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, document = values
        trust = statement(document, "HostRunsTheRotation")
        assert (trust["Principal"], trust["Condition"]) == (
            {"AWS": HOST_ROLE_ARN},
            {"StringEquals": {"aws:Ec2InstanceSourceVPC": VPC_ID, "sts:RoleSessionName": SESSION_NAME}},
        ), f"{urn}: the host role may assume the rotation role only from an instance in {VPC_ID}"

    return pulumi.Output.all(component.rotation_role.urn, component.rotation_role.assume_role_policy).apply(check)


@pulumi_test
def test_scheduled_command_output_goes_to_the_run_command_log_group() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, command, group = values
        assert command["CloudWatchOutputConfig"] == {
            "CloudWatchLogGroupName": COMMAND_LOG_GROUP,
            "CloudWatchOutputEnabled": True,
        }, f"{urn}: the rotation's output must be logged to {COMMAND_LOG_GROUP}"
        assert group, f"{urn}: the schedule must run in its own schedule group"

    return pulumi.Output.all(component.schedule.urn, send_command(), component.schedule.group_name).apply(check)


@pulumi_test
def test_schedule_invokes_ssm_send_command_with_the_rotation_role() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, target, role_arn = values
        assert (target["arn"], target["role_arn"]) == (SEND_COMMAND_TARGET, role_arn), (
            f"{urn}: the target must be {SEND_COMMAND_TARGET} run as the rotation role {role_arn}"
        )

    return pulumi.Output.all(component.schedule.urn, component.schedule.target, component.rotation_role.arn).apply(
        check
    )


@pulumi_test
def test_schedule_runs_on_tagged_keycloak_hosts_one_at_a_time() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, command = values
        assert (command["DocumentName"], command["Targets"], command["MaxConcurrency"]) == (
            "AWS-RunShellScript",
            [{"Key": f"tag:{TAG_KEY}", "Values": [TAG_VALUE]}],
            "1",
        ), f"{urn}: SendCommand must run AWS-RunShellScript on {TAG_KEY}={TAG_VALUE} hosts, one at a time"

    return pulumi.Output.all(component.schedule.urn, send_command()).apply(check)


def split_command(line: str) -> tuple[dict[str, str], list[str]]:
    """The leading `NAME=value` assignments of a shell command line, and the command itself."""
    words = shlex.split(line)
    assignments = words[: next(i for i, w in enumerate(words) if "=" not in w)]
    return dict(w.split("=", 1) for w in assignments), words[len(assignments) :]


@pulumi_test
def test_scheduled_command_is_a_valid_idpkit_keys_rotate_auto_invocation() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, command, secret_arn, role_arn = values
        line, _report = command["Parameters"]["commands"]
        environment, argv = split_command(line)
        # The real option parser, with the command's environment: --key-store and --assume-role come from
        # IDPKIT_KEY_STORE / IDPKIT_KEYS_ROLE_ARN.
        with mock.patch.dict(os.environ, environment):
            context = keys.commands["rotate"].make_context("rotate", argv[3:])
        assert (argv[1:3], {k: context.params[k] for k in ("stage", "stack", "key_store", "role_arn")}) == (
            ["keys", "rotate"],
            {"stage": "auto", "stack": "prod", "key_store": secret_arn, "role_arn": role_arn},
        ), f"{urn}: the scheduled command must be `idpkit keys rotate --stage auto` on this stack's key store"

    return pulumi.Output.all(
        component.schedule.urn, send_command(), component.secret.arn, component.rotation_role.arn
    ).apply(check)


@pulumi_test
def test_scheduled_command_reads_the_hosts_outputs_file() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, command = values
        line, _report = command["Parameters"]["commands"]
        environment, _ = split_command(line)
        assert environment.get(OUTPUTS_FILE_ENV) == "/etc/idpkit/outputs.json", (
            f"{urn}: the command must set {OUTPUTS_FILE_ENV} to the outputs file the host's user data writes"
        )

    return pulumi.Output.all(component.schedule.urn, send_command()).apply(check)


@pulumi_test
def test_rotation_role_has_the_name_the_key_policy_expects() -> pulumi.Output[None]:
    def check(values: list[Any]) -> None:
        urn, role_name = values
        assert role_name == rotation_role_name("idpkit-prod-signing"), (
            f"{urn}: the role must be named {rotation_role_name('idpkit-prod-signing')} (the signing key policy "
            "and the host role name it before it exists)"
        )

    return pulumi.Output.all(component.rotation_role.urn, component.rotation_role.name).apply(check)


@pulumi_test
def test_every_child_is_parented_to_the_component() -> pulumi.Output[None]:
    children = [
        component.secret,
        component.secret_policy,
        component.rotation_role,
        component.rotation_policy,
        component.schedule,
    ]

    def check(urns: list[str]) -> None:
        orphans = [urn for urn in urns if "idpkit:aws:SigningKeys$" not in urn]
        assert not orphans, f"{orphans}: children must be created with parent=self"

    return pulumi.Output.all(*(child.urn for child in children)).apply(check)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("environment", "prod env"),
        ("account_id", "12345"),
        ("region", "useast1"),
        ("instance_tag_key", ""),
        ("schedule_expression", "every day"),
        ("rotation_days", 0),
        ("idpkit_command", "idpkit"),
        ("outputs_file", "outputs.json"),
    ],
)
def test_invalid_args_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^{field}"):
        SigningKeys(f"invalid-{field}", dataclasses.replace(ARGS, **{field: value}))
