"""Where the Pulumi program meets the rest of the kit: each seam checked with both parts together.

- The outputs the program exports (under mocks) are the outputs contract the commands read, and they
  agree with realm-config (the realm, the issuer), as `realm validate`, `realm plan` and the smoke
  suite's preconditions need.
- Every AWS API the kit calls from a host (derived from the code: every boto3 client it creates, and
  every `aws` CLI call in the user data) is reachable through a VPC endpoint of the stack.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aws_stack_graphs import describe, graphs, stack_params

from idpkit.host.user_data import decode_user_data
from idpkit.outputs import OUTPUTS_FILE_ENV, REQUIRED_KEYS, load_outputs
from idpkit.realm import loader
from idpkit.realm.declared import realm_name

PACKAGE = Path(__file__).resolve().parents[2] / "idpkit"
# Runs only on the operator's machine: it stands in for AWS, it is not a client of it.
OPERATOR_ONLY = ("rehearsal",)
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def outputs_file(stack: str, directory: Path) -> Path:
    """The program's outputs, as `pulumi stack output --json` prints them, in a file commands can read."""
    target = directory / f"{stack}-outputs.json"
    target.write_text(json.dumps({"stack": stack, **graphs()[stack].outputs}))
    return target


@pytest.mark.parametrize("stack", stack_params())
def test_program_outputs_are_the_outputs_contract(stack: str, tmp_path: Path) -> None:
    exported = graphs()[stack].outputs
    assert set(REQUIRED_KEYS) <= set(exported), f"{stack}: outputs lack {set(REQUIRED_KEYS) - set(exported)}"
    with mock.patch.dict(os.environ, {OUTPUTS_FILE_ENV: str(outputs_file(stack, tmp_path))}):
        outputs = load_outputs(stack)
    assert outputs.bootstrap_admin_credentials, f"{stack}: the first apply needs the bootstrap admin's secret"
    assert outputs.admin_ca_bundle and Path(outputs.admin_ca_bundle).read_text().startswith("-----BEGIN"), (
        f"{stack}: admin_ca_certificate must verify the admin tunnel"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_program_outputs_agree_with_realm_config(stack: str) -> None:
    exported = graphs()[stack].outputs
    settings = loader.load(stack).document.realm
    assert settings and exported["realm"] == settings.realm == realm_name(stack), (
        f"{stack}: the stack serves realm {exported['realm']!r}, realm-config declares "
        f"{settings.realm if settings else None!r}"
    )
    assert exported["issuer"] == f"{exported['base_url']}/realms/{exported['realm']}", f"{stack}: issuer"


@pytest.mark.parametrize("stack", stack_params())
def test_realm_validate_accepts_the_stack(stack: str, tmp_path: Path) -> None:
    completed = _idpkit(["realm", "validate", "--env", stack], outputs_file(stack, tmp_path))
    assert completed.returncode == 0, f"{stack}: realm validate refused it:\n{completed.stderr[-2000:]}"


@pytest.mark.parametrize("stack", stack_params())
def test_realm_plan_gets_past_the_realm_check_offline(stack: str, tmp_path: Path) -> None:
    """Offline, plan must fail only where it needs Keycloak: after the files and the stack agree."""
    completed = _idpkit(["realm", "plan", "--stack", stack], outputs_file(stack, tmp_path))
    assert completed.returncode == 1, f"{stack}: plan without a reachable admin API must fail"
    assert "serves realm" not in completed.stderr and "Traceback" not in completed.stderr, (
        f"{stack}: plan refused the stack's outputs before reaching Keycloak:\n{completed.stderr[-2000:]}"
    )


def _idpkit(arguments: list[str], outputs: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        OUTPUTS_FILE_ENV: str(outputs),
        # Nothing answers here: the command fails fast where it first needs AWS or Keycloak.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_MAX_ATTEMPTS": "1",
    }
    command = [sys.executable, "-m", "idpkit", *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=180, check=False)


# --- AWS APIs the hosts call ---------------------------------------------------------------------------


def _boto3_services() -> Iterator[tuple[str, str]]:
    """(module, service) for every `...client("<service>", ...)` call in the kit's host-side code, where
    `<service>` is an AWS API botocore knows (boto3.client, or the host's wrapper `idpkit.host.aws.client`)."""
    import boto3  # noqa: PLC0415

    known = set(boto3.session.Session().get_available_services())
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in OPERATOR_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if name == "client" and isinstance(first, ast.Constant) and first.value in known:
                yield str(relative), str(first.value)


def _cli_services(script: str) -> set[str]:
    """Services the user data calls with the AWS CLI (`aws s3api …`, `aws secretsmanager …`)."""
    return {match.removesuffix("api") for match in re.findall(r"\baws ([a-z0-9-]+) ", script)}


SERVICES = sorted({service for _module, service in _boto3_services()})


def test_the_scan_finds_the_clients_the_kit_creates() -> None:
    assert {"s3", "secretsmanager", "sts"} <= set(SERVICES), f"found {SERVICES}: the scan that derives them is broken"


@pytest.mark.parametrize("stack", stack_params())
def test_every_aws_api_the_hosts_call_has_a_vpc_endpoint(stack: str) -> None:
    graph = graphs()[stack]
    reachable = {str(e.inputs["serviceName"]).rsplit(".", 1)[1] for e in graph.of_type(ENDPOINT)}
    (template,) = graph.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    called = set(SERVICES) | _cli_services(decode_user_data(str(template.inputs["userData"])))
    missing = sorted(called - reachable)
    assert not missing, (
        f"{stack}: hosts call {missing} but the VPC has no endpoint for them (hosts have no other route): "
        f"endpoints {sorted(reachable)}; calls derived from {sorted(_call_sites(missing))}"
    )


def _call_sites(services: list[str]) -> set[str]:
    return {f"{module}:{service}" for module, service in _boto3_services() if service in services}


def _endpoint_policy(graph: Any) -> dict[str, Any]:
    (gateway,) = [e for e in graph.of_type(ENDPOINT) if e.inputs.get("vpcEndpointType") == "Gateway"]
    loaded: dict[str, Any] = json.loads(gateway.inputs["policy"])
    return loaded


@pytest.mark.parametrize("stack", stack_params())
def test_the_s3_endpoint_admits_the_artifacts_the_hosts_read(stack: str) -> None:
    graph = graphs()[stack]
    (bucket,) = [b for b in graph.of_type("aws:s3/bucket:Bucket") if b.name.endswith("-artifacts-s3-bucket")]
    resources = [r for s in _endpoint_policy(graph)["Statement"] for r in _as_list(s["Resource"])]
    assert f"{bucket.outputs['arn']}/*" in resources, (
        f"{describe(bucket)}: the S3 gateway endpoint's policy must admit the artifacts the hosts install"
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
