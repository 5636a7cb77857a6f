"""The policy pack as the Pulumi CLI runs it: a process serving the analyzer gRPC protocol.

No Pulumi CLI here, so the test plays the engine: it starts `policy-pack/__main__.py`, reads the
port it prints, and sends the requests `pulumi preview --policy-pack policy-pack` would send.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from idpkit.policy import RULES
from idpkit.policy import resource_types as t

PACK = Path(__file__).resolve().parents[2] / "policy-pack"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = os.environ | {"PULUMI_STACK": "prod", "PULUMI_CONFIG": "{}"}
    process = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=PACK, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not print its port: {port!r} {process.stderr and process.stderr.read()}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::idpkit::{type_}::{name}"


@pytest.mark.timeout(60)
def test_pack_registers_every_rule_as_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "idpkit-aws"
    assert sorted(policy.name for policy in info.policies) == sorted(rule.metadata.id for rule in RULES)
    levels = {policy.name: analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel) for policy in info.policies}
    assert set(levels.values()) == {"MANDATORY"}, levels


@pytest.mark.timeout(60)
def test_pack_rejects_a_resource_violation(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    request = analyzer_pb2.AnalyzeRequest(
        type=t.EC2_LAUNCH_TEMPLATE,
        name="hosts",
        urn=_urn(t.EC2_LAUNCH_TEMPLATE, "hosts"),
        properties=_struct({"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}}),
    )
    diagnostics = analyzer.Analyze(request).diagnostics
    imds = [d for d in diagnostics if d.policyName == "AWS-EC2-001"]
    assert len(imds) == 1, diagnostics
    assert analyzer_pb2.EnforcementLevel.Name(imds[0].enforcementLevel) == "MANDATORY"
    assert "AWS-EC2-001" in imds[0].message
    assert "'hosts'" in imds[0].message


@pytest.mark.timeout(60)
def test_pack_correlates_preview_resources_by_property_dependency(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    """A first preview: the bucket's name is unknown; only the dependency ties the block to it."""
    bucket_urn = _urn(t.BUCKETS[0], "audit")
    flags = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=t.BUCKETS[0], name="audit", urn=bucket_urn, properties=_struct({"bucket": UNKNOWN_STRING_VALUE})
            ),
            analyzer_pb2.AnalyzerResource(
                type=t.BUCKET_PUBLIC_ACCESS_BLOCK[0],
                name="audit-pab",
                urn=_urn(t.BUCKET_PUBLIC_ACCESS_BLOCK[0], "audit-pab"),
                properties=_struct({"bucket": UNKNOWN_STRING_VALUE, **flags}),
                propertyDependencies={"bucket": analyzer_pb2.AnalyzerPropertyDependencies(urns=[bucket_urn])},
            ),
        ]
    )
    diagnostics = analyzer.AnalyzeStack(request).diagnostics
    failed = {d.policyName for d in diagnostics if d.urn == bucket_urn}
    assert "AWS-S3-002" not in failed, [d.message for d in diagnostics]
    assert {"AWS-S3-001", "AWS-S3-003", "AWS-S3-004"} <= failed
