"""Signing keys in the stacks: the key store, its KMS key policy, CloudTrail, and the rotation on the hosts."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aws_stack_graphs import describe, graphs, missing_wheelhouse_at_capture, params, policy, stack_params

from components.host_bootstrap import HOST_OUTPUTS_FILE, WHEELHOUSE_DIR
from components.keycloak_hosts import PATCH_GROUP_TAG, ROLE_TAG_KEY
from components.kms import ADMIN_ACTIONS
from idpkit.aws_config import host_wheelhouse_path
from idpkit.aws_graph import Resource, StackGraph
from idpkit.constants.keycloak import KEYCLOAK_HTTPS_PORT
from idpkit.constants.monitoring import ROTATION_FAILURE_MARKER
from idpkit.host import render
from idpkit.host.config import parse_host_config
from idpkit.host.layout import AWS_HOST
from idpkit.host.user_data import decode_user_data, embedded_host_config
from idpkit.host.wheelhouse import HOST_EXCLUDED, LOCK_FILE, PLATFORMS, REQUIREMENTS_FILE, host_requirements, read_lock
from idpkit.keys.kms import SIGNER_ROLE_ENV, SIGNING_ENV
from idpkit.outputs import OUTPUTS_FILE_ENV, REQUIRED_KEYS, load_outputs

PROJECT = Path(__file__).resolve().parents[2]
HOST_CERTIFICATE = str(AWS_HOST.host_certificate)
HOST_KIT_DIR = str(AWS_HOST.kit_dir)
TRAIL = "aws:cloudtrail/trail:Trail"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
CRYPTO = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant")


def one(graph: StackGraph, type_token: str, suffix: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_token) if r.name.endswith(suffix)]
    return found


def is_signing_key(resource: Resource) -> bool:
    return resource.name.endswith("-kms-signing")


def statements(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in document["Statement"] if s.get("Sid") == sid]
    (statement,) = found
    return statement


def signer_role(stack: str) -> Resource:
    return one(graphs()[stack], ROLE, "-signing-signer")


def rotation_role(stack: str) -> Resource:
    return one(graphs()[stack], ROLE, "-signing-rotation")


def send_command(stack: str) -> dict[str, Any]:
    (schedule,) = graphs()[stack].of_type(SCHEDULE)
    loaded: dict[str, Any] = json.loads(schedule.inputs["target"]["input"])
    return loaded


def command_environment(stack: str) -> tuple[dict[str, str], list[str]]:
    line, _report_failure = send_command(stack)["Parameters"]["commands"]
    words = shlex.split(line)
    count = next(i for i, word in enumerate(words) if "=" not in word)
    return dict(word.split("=", 1) for word in words[:count]), words[count:]


def user_data(stack: str) -> str:
    (template,) = graphs()[stack].of_type(LAUNCH_TEMPLATE)
    return decode_user_data(template.inputs["userData"])


def host_outputs(stack: str) -> dict[str, Any]:
    """What `idpkit host up` writes to HOST_OUTPUTS_FILE, from the host configuration in the user data."""
    config = parse_host_config(json.loads(embedded_host_config(user_data(stack))), stack)
    loaded: dict[str, Any] = json.loads(render.host_outputs(config, AWS_HOST))
    return loaded


# --- the key store --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_params())
def test_signing_keys_outputs_are_the_key_store_and_the_rotation_role(stack: str) -> None:
    graph = graphs()[stack]
    store = one(graph, SECRET, "-signing-store")
    assert (graph.outputs["signing_keys_secret_arn"], graph.outputs["signing_keys_rotation_role_arn"]) == (
        store.outputs["arn"],
        rotation_role(stack).outputs["arn"],
    ), f"{stack}: signing_keys_secret_arn / signing_keys_rotation_role_arn must name the SigningKeys resources"


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_only_the_key_store_is_encrypted_with_the_signing_key(stack: str, key: Resource) -> None:
    users = [s.name for s in graphs()[stack].of_type(SECRET) if s.inputs.get("kmsKeyId") == key.outputs["arn"]]
    assert users == [f"idpkit-{stack}-signing-store"], (
        f"{describe(key)}: the signing-material key encrypts the signing key store only, got {users}"
    )


# --- the signing-material key policy ---------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_is_used_only_by_the_rotation_role(stack: str, key: Resource) -> None:
    allow = statements(policy(key), "RotationRoleUseViaSecretsManager")
    assert allow["Condition"]["StringEquals"]["aws:PrincipalArn"] == [rotation_role(stack).outputs["arn"]], (
        f"{describe(key)}: only the rotation role ({rotation_role(stack).outputs['arn']}) may use the key"
    )


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_is_used_only_through_secrets_manager(stack: str, key: Resource) -> None:
    allow = statements(policy(key), "RotationRoleUseViaSecretsManager")
    region = graphs()[stack].outputs["signing_keys_secret_arn"].split(":")[3]
    assert allow["Condition"]["StringEquals"]["kms:ViaService"] == f"secretsmanager.{region}.amazonaws.com", (
        f"{describe(key)}: the rotation role may use the key through Secrets Manager only"
    )


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_denies_every_other_principal(stack: str, key: Resource) -> None:
    deny = statements(policy(key), "DenyUseByAnyOtherPrincipal")
    assert (deny["Effect"], deny["Principal"], sorted(deny["Action"]), deny["Condition"]) == (
        "Deny",
        "*",
        sorted(CRYPTO),
        {"StringNotEquals": {"aws:PrincipalArn": [rotation_role(stack).outputs["arn"]]}},
    ), f"{describe(key)}: every cryptographic use by any other principal must be denied"


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_denies_direct_kms_calls(stack: str, key: Resource) -> None:
    deny = statements(policy(key), "DenyUseOutsideSecretsManager")
    region = graphs()[stack].outputs["signing_keys_secret_arn"].split(":")[3]
    assert (deny["Effect"], sorted(deny["Action"]), deny["Condition"]) == (
        "Deny",
        sorted(CRYPTO),
        {"StringNotEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
    ), f"{describe(key)}: cryptographic use outside Secrets Manager must be denied, even to the rotation role"


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_administrators_cannot_use_it(stack: str, key: Resource) -> None:
    admin = statements(policy(key), "KeyAdministration")
    used = sorted({*admin["Action"]} - set(ADMIN_ACTIONS))
    assert not used and not [a for a in admin["Action"] if a in CRYPTO], (
        f"{describe(key)}: key administrators manage the key and never use it, got {used}"
    )


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=is_signing_key))
def test_signing_key_has_no_other_allow_statement(stack: str, key: Resource) -> None:
    allowed = sorted(s["Sid"] for s in policy(key)["Statement"] if s["Effect"] == "Allow")
    assert allowed == ["KeyAdministration", "RotationRoleUseViaSecretsManager"], (
        f"{describe(key)}: administrators and the rotation role are the key's only principals, got {allowed}"
    )


# --- CloudTrail records every decrypt -------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "trail"), params(TRAIL, stacks=("staging", "prod")))
def test_trail_records_every_management_event_kms_included(stack: str, trail: Resource) -> None:
    """kms:Decrypt is a read management event: a selector limited to writes or excluding KMS would lose it."""
    assert not trail.inputs.get("eventSelectors"), f"{describe(trail)}: advanced selectors only"
    management = [
        s["fieldSelectors"]
        for s in trail.inputs["advancedEventSelectors"]
        if {"field": "eventCategory", "equals": ["Management"]} in s["fieldSelectors"]
    ]
    assert management == [[{"field": "eventCategory", "equals": ["Management"]}]], (
        f"{describe(trail)}: one selector with every management event, reads and KMS included, nothing excluded"
    )


# --- the schedule targets the Keycloak hosts -------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_params())
def test_hosts_carry_the_keycloak_role_tag_from_the_auto_scaling_group(stack: str) -> None:
    (group,) = graphs()[stack].of_type(ASG)
    tags = {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in group.inputs["tags"]}
    assert tags.get(ROLE_TAG_KEY) == (f"keycloak-{stack}", True), (
        f"{describe(group)}: instances must carry {ROLE_TAG_KEY}=keycloak-{stack} (propagated at launch)"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_schedule_targets_the_keycloak_role_tag_not_the_patch_group(stack: str) -> None:
    targets = send_command(stack)["Targets"]
    assert targets == [{"Key": f"tag:{ROLE_TAG_KEY}", "Values": [f"keycloak-{stack}"]}], (
        f"{stack}: the rotation must target {ROLE_TAG_KEY}=keycloak-{stack}, not {PATCH_GROUP_TAG!r}: {targets}"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_rotation_role_sends_commands_only_to_that_tag(stack: str) -> None:
    (rotation_policy,) = [
        r for r in graphs()[stack].of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-signing-rotation")
    ]
    grant = statements(policy(rotation_policy), "RunOnKeycloakHosts")
    assert grant["Condition"] == {"StringEquals": {f"ssm:resourceTag/{ROLE_TAG_KEY}": f"keycloak-{stack}"}}, (
        f"{describe(rotation_policy)}: ssm:SendCommand only on instances tagged {ROLE_TAG_KEY}=keycloak-{stack}"
    )


# --- the rotation on a host ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_params())
def test_host_role_may_assume_exactly_the_rotation_and_signer_roles(stack: str) -> None:
    host_policy = one(graphs()[stack], "aws:iam/rolePolicy:RolePolicy", "-hosts-least-privilege")
    assumed = [s["Resource"] for s in policy(host_policy)["Statement"] if "sts:AssumeRole" in s["Action"]]
    expected = [rotation_role(stack).outputs["arn"], signer_role(stack).outputs["arn"]]
    assert assumed == [expected], (
        f"{describe(host_policy)}: the hosts may assume the rotation and signer roles and no other role, got {assumed}"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_rotation_role_trusts_the_host_role(stack: str) -> None:
    host_role = one(graphs()[stack], ROLE, "-hosts-role")
    trust = statements(json.loads(rotation_role(stack).inputs["assumeRolePolicy"]), "HostRunsTheRotation")
    assert trust["Principal"] == {"AWS": host_role.outputs["arn"]}, (
        f"{describe(rotation_role(stack))}: the Keycloak hosts' instance role must be able to assume it"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_scheduled_command_uses_the_stack_key_store_role_and_host_outputs(stack: str) -> None:
    environment, _ = command_environment(stack)
    graph = graphs()[stack]
    assert environment == {
        OUTPUTS_FILE_ENV: HOST_OUTPUTS_FILE,
        "IDPKIT_KEY_STORE": graph.outputs["signing_keys_secret_arn"],
        "IDPKIT_KEYS_ROLE_ARN": graph.outputs["signing_keys_rotation_role_arn"],
        SIGNING_ENV: "kms",
        "AWS_REGION": graph.outputs["signing_keys_secret_arn"].split(":")[3],
        SIGNER_ROLE_ENV: signer_role(stack).outputs["arn"],
    }, (
        f"{stack}: the scheduled command's environment must name the host outputs, key store, rotation role and, "
        "signing in KMS, the region and the signer role every new key's policy names"
    )


@pytest.mark.parametrize("stack", stack_params())
@pytest.mark.parametrize(("first_line", "status"), [("true", 0), ("sh -c 'exit 7'", 7), ("/nonexistent/idpkit", 127)])
def test_a_failed_rotation_leaves_the_marker_and_keeps_its_exit_status(
    stack: str, first_line: str, status: int
) -> None:
    """The scheduled script's second line, run by bash after a first line that succeeds or fails as the rotation
    could: the alarm's metric filter counts the marker, Run Command keeps the exit status."""
    _, report = send_command(stack)["Parameters"]["commands"]
    completed = subprocess.run(["bash", "-c", f"{first_line}\n{report}\n"], capture_output=True, text=True, check=False)
    assert completed.returncode == status, f"{stack}: the script must exit {status}, like its first line"
    assert (ROTATION_FAILURE_MARKER in completed.stderr) is (status != 0), (
        f"{stack}: stderr {completed.stderr!r}: the marker must appear exactly when the rotation failed"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_scheduled_command_output_is_logged_to_the_run_command_group(stack: str) -> None:
    graph = graphs()[stack]
    (group,) = [g for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("-logs-run-command")]
    assert send_command(stack)["CloudWatchOutputConfig"] == {
        "CloudWatchLogGroupName": group.inputs["name"],
        "CloudWatchOutputEnabled": True,
    }, f"{stack}: the rotation's output must be logged to {group.inputs['name']}"


@pytest.mark.parametrize("stack", stack_params())
def test_scheduled_command_runs_the_kit_the_user_data_installs(stack: str) -> None:
    _, argv = command_environment(stack)
    assert f"python3.11 -m venv {HOST_KIT_DIR}" in user_data(stack) and argv[0] == f"{HOST_KIT_DIR}/bin/idpkit", (
        f"{stack}: the schedule runs {argv[0]}, which the hosts' user data must install"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_host_outputs_file_holds_the_contract_as_seen_from_the_host(stack: str) -> None:
    outputs = host_outputs(stack)
    public = graphs()[stack].outputs
    expected = {
        key: public[key] for key in ("base_url", "m2m_url", "realm", "issuer", "ca_bundle", "admin_credentials")
    }
    expected |= {
        "stack": stack,
        "admin_url": f"https://localhost:{KEYCLOAK_HTTPS_PORT}",
        "admin_ca_bundle": HOST_CERTIFICATE,
    }
    assert outputs == expected, f"{stack}: {HOST_OUTPUTS_FILE} must be the outputs contract as the host sees it"


@pytest.mark.parametrize("stack", stack_params())
def test_host_outputs_file_is_accepted_by_the_outputs_loader(stack: str, tmp_path: Path) -> None:
    target = tmp_path / "outputs.json"
    target.write_text(json.dumps(host_outputs(stack)))
    with mock.patch.dict(os.environ, {OUTPUTS_FILE_ENV: str(target)}):
        loaded = load_outputs(stack)
    assert (loaded.admin_url, loaded.admin_tls_verify, loaded.realm) == (
        f"https://localhost:{KEYCLOAK_HTTPS_PORT}",
        HOST_CERTIFICATE,
        graphs()[stack].outputs["realm"],
    ), f"{stack}: idpkit.outputs.load_outputs must read the host's file ({sorted(REQUIRED_KEYS)})"


@pytest.mark.parametrize("stack", stack_params())
def test_hosts_install_the_pinned_wheelhouse_version(stack: str) -> None:
    graph = graphs()[stack]
    wheelhouse = one(graph, "aws:s3/bucketObjectv2:BucketObjectv2", "-host-wheelhouse")
    pinned = rf'--key {re.escape(wheelhouse.inputs["key"])} \S+ --query VersionId --output text\)" = "([^"]+)"'
    match = re.search(pinned, user_data(stack))
    assert match and match.group(1) == wheelhouse.outputs["versionId"], (
        f"{describe(wheelhouse)}: hosts must check they read exactly the uploaded wheelhouse version"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_hosts_install_the_kit_without_a_package_index(stack: str) -> None:
    installs = [line for line in user_data(stack).splitlines() if re.search(r"\bpip install\b", line)]
    assert len(installs) == 2 and all("--no-index" in line for line in installs), (
        f"{stack}: the hosts have no internet egress; every pip install must use the staged wheelhouse only"
    )
    assert f"-r {WHEELHOUSE_DIR}/{REQUIREMENTS_FILE}" in installs[0] and "--no-deps" in installs[1], (
        f"{stack}: dependencies from the wheelhouse's requirements, then the kit itself without its deploy-only deps"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_wheelhouse_is_uploaded_from_the_operator_build(stack: str) -> None:
    wheelhouse = one(graphs()[stack], "aws:s3/bucketObjectv2:BucketObjectv2", "-host-wheelhouse")
    expected = host_wheelhouse_path(PROJECT, "x86_64")
    assert wheelhouse.inputs["source"] == {"__asset__": "file", "path": str(expected)}, (
        f"{describe(wheelhouse)}: the object must be the archive `idpkit host wheelhouse` writes ({expected})"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_missing_wheelhouse_is_announced(stack: str) -> None:
    problem = missing_wheelhouse_at_capture()
    announced = [w for w in graphs()[stack].warnings if w.startswith("host wheelhouse")]
    assert announced == ([problem] if problem else []), f"{stack}: a missing wheelhouse must be announced by name"
    assert problem is None or "idpkit host wheelhouse --arch x86_64" in problem, "the message must name the step"


# --- the host wheelhouse's contents -----------------------------------------------------------------------


@pytest.mark.parametrize("architecture", sorted(PLATFORMS))
def test_host_requirements_leave_out_only_the_deploy_machine_dependencies(architecture: str) -> None:
    pinned = host_requirements(read_lock(PROJECT / LOCK_FILE), architecture)
    names = {package.name.lower() for package in pinned}
    assert not names & HOST_EXCLUDED and {"boto3", "click", "cryptography", "python-keycloak", "pg8000"} <= names, (
        f"host requirements {sorted(names)}: every runtime dependency of `idpkit keys` but {sorted(HOST_EXCLUDED)}"
    )
    assert all(package.hashes for package in pinned), f"{architecture}: every host package is pinned with hashes"


def test_keys_rotate_runs_without_the_deploy_machine_dependencies() -> None:
    blocked = sorted(name.replace("-", "_") for name in HOST_EXCLUDED)
    code = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({blocked!r}))\n"  # an import of these now raises ImportError
        "from idpkit.cli import cli\n"
        "import idpkit.keys.store, boto3\n"
        "cli.main(['keys', 'rotate', '--help'], standalone_mode=False)\n"
        "import idpkit.host.up, idpkit.host.database\n"
        "cli.main(['host', 'up', '--help'], standalone_mode=False)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert completed.returncode == 0 and "--stage" in completed.stdout and "--supervisor" in completed.stdout, (
        f"`idpkit keys rotate` and `idpkit host up` must run on a host without {blocked}:\n{completed.stderr[-2000:]}"
    )
