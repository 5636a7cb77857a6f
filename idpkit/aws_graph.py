"""Run the AWS Pulumi program offline, under Pulumi's mocks, and return the resources it declares.

No AWS account and no Pulumi CLI are needed: the real `__main__.py` runs against the stack's
`stacks/Pulumi.<stack>.yaml`, every resource registration is recorded (type, name, URN, inputs), and
the stack outputs are resolved. Tests, policy checks and `idpkit review` read the same graph.

    >>> graph = capture("prod")                       # doctest: +SKIP
    >>> [r.name for r in graph.of_type("aws:kms/key:Key")]   # doctest: +SKIP

Each capture runs in a fresh Python process (`python -m idpkit.aws_graph <stack> <out.json>`): Pulumi's runtime
keeps global state (root stack, config, RPC manager) that a second program run in one process would
inherit. Inputs are recorded as the engine sees them (camelCase keys); secret values are replaced by
`{"__secret__": true}` and assets by `{"__asset__": kind, ...}`, so a graph never holds a secret.

Secrets and PEM values that the stack files cannot hold (they are set with `pulumi config set`, see
docs/aws.md) are replaced by clearly fake stand-ins, so the program can be checked before they exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from idpkit import paths
from idpkit.aws_config import NAMESPACE, SECRET_KEYS
from idpkit.certificates import private_key_pem, self_signed_pem
from idpkit.constants.aws import POSTGRES_PORT

PROJECT = "idpkit"
OVERRIDES_ENV = "IDPKIT_GRAPH_OVERRIDES"
# Fake values for keys the stack files leave to `pulumi config set` (never used outside mocks).
STAND_IN_PASSWORD = "mock-only-not-a-password"  # noqa: S105  # never leaves a mock run


def stand_ins() -> dict[str, str]:
    """Fake values for keys the stack files leave to `pulumi config set`: a throwaway key pair made now
    (never used outside mocks, never written to disk) so no key material lives in the repository."""
    key = ec.generate_private_key(ec.SECP256R1())
    return {
        "idpkit:bootstrapAdminPassword": STAND_IN_PASSWORD,
        "idpkit:hostTlsKey": private_key_pem(key),
        "idpkit:hostTlsCertificate": self_signed_pem(key, "localhost", dt.timedelta(days=1)),
    }


# How the engine marks a secret value in deserialized properties (pulumi.runtime.rpc).
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105  # a protocol constant, not a secret
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105  # a protocol constant, not a secret


@dataclass(frozen=True)
class Resource:
    """One registered resource."""

    type: str
    """Pulumi type token, e.g. `aws:kms/key:Key` or `idpkit:aws:KeyRing`."""
    name: str
    """Logical name, e.g. `idpkit-prod-kms-logs`."""
    urn: str
    """Full URN (stack, project, parent type chain, name)."""
    parent: str
    """URN of the parent resource ('' for the stack's direct children)."""
    custom: bool
    """`True` for cloud resources, `False` for components."""
    inputs: dict[str, Any]
    """Inputs as sent to the engine (camelCase keys, secrets/assets replaced by markers). An input fed by
    another resource's output holds that output's mock value (its `id`, an `outputs` entry)."""
    id: str | None = None
    """The id the mocks gave a cloud resource (`None` for components), shaped like AWS's: the physical
    name, an ARN (load balancers, listeners, target groups, trust stores, secrets) or `sg-…`, `subnet-…`."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The resource's state as the mocks return it: the inputs plus computed attributes (`arn`, `name`…)."""


@dataclass(frozen=True)
class StackGraph:
    """What the program declared for one stack."""

    stack: str
    resources: tuple[Resource, ...]
    outputs: dict[str, Any]
    """Resolved stack outputs (secret outputs replaced by the secret marker)."""
    warnings: tuple[str, ...]
    """Messages the program logged at warning level (e.g. announced weakenings)."""
    invokes: tuple[str, ...]
    """Data-source tokens the program called."""
    error: str | None = None
    """`None`, or `"<ExceptionType>: <message>"` when the program failed."""

    def of_type(self, type_token: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def named(self, name: str) -> Resource:
        matches = [resource for resource in self.resources if resource.name == name]
        if len(matches) != 1:
            raise KeyError(f"{name}: {len(matches)} resources have this name")
        return matches[0]

    def children_of(self, parent: Resource) -> list[Resource]:
        return [resource for resource in self.resources if resource.parent == parent.urn]


class GraphError(RuntimeError):
    """The capture itself failed (not the program: program errors are in `StackGraph.error`)."""


def capture(
    stack: str, overrides: Mapping[str, Any] | None = None, project_dir: Path | None = None, timeout: float = 180
) -> StackGraph:
    """Run the program for `stack` in a fresh process; `overrides` replace (or, with `None`, remove)
    config keys such as `{"idpkit:minInstances": 1}`."""
    root = project_dir or paths.project_root()
    env = dict(os.environ, **{OVERRIDES_ENV: json.dumps(dict(overrides or {}))})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="idpkit-graph-") as scratch:
        result = Path(scratch) / "graph.json"
        completed = subprocess.run(
            [sys.executable, "-m", "idpkit.aws_graph", stack, str(result)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0 or not result.exists():
            raise GraphError(f"graph capture for {stack!r} failed:\n{completed.stderr[-4000:]}")
        return _from_json(json.loads(result.read_text()))


def capture_all(stacks: Iterable[str], project_dir: Path | None = None) -> dict[str, StackGraph]:
    """`capture` for several stacks in parallel processes."""
    names = list(stacks)
    with ThreadPoolExecutor(max_workers=max(len(names), 1)) as pool:
        graphs = list(pool.map(lambda stack: capture(stack, project_dir=project_dir), names))
    return dict(zip(names, graphs, strict=True))


def stack_config(
    stack: str, project_dir: Path, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The flat config map (`namespace:key` -> string, as the Pulumi CLI passes it) and secret keys."""
    settings = yaml.safe_load((project_dir / "stacks" / f"Pulumi.{stack}.yaml").read_text()) or {}
    raw: dict[str, Any] = dict(settings.get("config") or {})
    secret_keys = [key for key, value in raw.items() if isinstance(value, dict) and "secure" in value]
    for key in secret_keys:
        raw.pop(key)  # encrypted with the stack's secrets provider: not readable offline
    for key, value in stand_ins().items():
        raw.setdefault(key, value)
    for key, value in (overrides or {}).items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    secret_keys = sorted({*secret_keys, *(f"{NAMESPACE}:{key}" for key in SECRET_KEYS)})
    return {key: _config_string(value) for key, value in raw.items()}, secret_keys


def _config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _from_json(data: dict[str, Any]) -> StackGraph:
    return StackGraph(
        stack=data["stack"],
        resources=tuple(Resource(**resource) for resource in data["resources"]),
        outputs=data["outputs"],
        warnings=tuple(data["warnings"]),
        invokes=tuple(data["invokes"]),
        error=data["error"],
    )


def _run_here(stack: str, project_dir: Path, overrides: Mapping[str, Any]) -> StackGraph:
    """Run the program in this process: call once per process (see the module docstring)."""
    values, secret_keys = stack_config(stack, project_dir, overrides)
    region = values.get("aws:region", "us-east-1")
    accounts = json.loads(values.get("aws:allowedAccountIds", "[]") or "[]") or ["111122223333"]
    recorder = _Recorder(region, str(accounts[0]))
    monitor = _RecordingMonitor(recorder)
    log = _WarningLog()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False, monitor=monitor, logger=log)
    # Hand the config over exactly as the CLI's language host does (pulumi-language-python-exec).
    os.environ["PULUMI_CONFIG"] = json.dumps(values)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys)
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())

    error: str | None = None

    def program() -> None:
        runpy.run_path(str(project_dir), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as failure:  # the program's failure is the result being reported
        error = f"{type(failure).__name__}: {failure}"

    outputs: dict[str, Any] = {}
    root = pulumi.runtime.get_root_resource()
    if error is None and root is not None:
        outputs = _sync_await(_resolve_outputs(getattr(root, "outputs", {})))
    resources = tuple(
        Resource(
            type=type_,
            name=name,
            urn=urn,
            parent=parent,
            custom=custom,
            inputs=_plain(recorder.inputs[urn]),
            id=recorder.ids.get(urn),
            outputs=_plain(recorder.states.get(urn, {})),
        )
        for type_, name, urn, parent, custom in monitor.registrations
    )
    return StackGraph(
        stack=stack,
        resources=resources,
        outputs=outputs,
        warnings=tuple(log.messages),
        invokes=tuple(recorder.invokes),
        error=error,
    )


async def _resolve_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        secret = await output.is_secret()
        plain = await output.future()
        resolved[key] = {"__secret__": True} if secret else _plain(plain)
    return resolved


def _plain(value: Any) -> Any:
    """JSON-safe copy of deserialized inputs, with secrets and assets replaced by markers."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return {"__secret__": True}
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, pulumi.Asset):
        return _asset(value)
    if isinstance(value, pulumi.Resource):
        return {"__resource__": True}
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _asset(asset: pulumi.Asset) -> dict[str, Any]:
    if isinstance(asset, pulumi.RemoteAsset):
        return {"__asset__": "remote", "uri": asset.uri}
    if isinstance(asset, pulumi.FileAsset):
        return {"__asset__": "file", "path": str(asset.path)}
    if isinstance(asset, pulumi.StringAsset):
        return {"__asset__": "string", "text": asset.text}
    return {"__asset__": type(asset).__name__}


class _WarningLog(logging.Logger):
    def __init__(self) -> None:
        super().__init__("idpkit.aws_graph", logging.WARNING)
        self.messages: list[str] = []

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:  # noqa: ARG002
        self.messages.append(str(msg))


class _Recorder(Mocks):
    """Echoes inputs as state and adds the id and attributes AWS would compute, in AWS's shapes, so that
    inputs fed by another resource (`bucket=<bucket id>`, `loadBalancerArn=<ALB ARN>`) hold the values a
    real deployment would and policy rules can correlate them."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self.pending: dict[tuple[str, str], tuple[dict[str, Any], str, dict[str, Any]]] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, str] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.invokes: list[str] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        computed = self._computed(args.typ, args.name, args.inputs)
        resource_id = str(computed.pop("id", None) or _physical_name(args.typ, args.name, args.inputs))
        state.update(computed)
        state["id"] = resource_id
        self.pending[(args.typ, args.name)] = (dict(args.inputs), resource_id, state)
        return resource_id, state

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]  # a dict is allowed
        self.invokes.append(args.token)
        subnet = args.args.get("subnetId")
        results: dict[str, dict[str, Any]] = {
            # us-east-1's ELB log delivery account (ELB docs).
            "aws:elb/getServiceAccount:getServiceAccount": {
                "id": "127311923021",
                "arn": "arn:aws:iam::127311923021:root",
            },
            "aws:ec2/getRouteTable:getRouteTable": {"id": f"rtb-for-{subnet}", "routeTableId": f"rtb-for-{subnet}"},
            "aws:ec2/getPrefixList:getPrefixList": {"id": "pl-63a5400a", "name": args.args.get("name", "")},
        }
        return results.get(args.token, {})

    def _computed(self, typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Computed attributes (and `id` where AWS's differs from the physical name) for `typ`."""
        region, account = self.region, self.account
        physical = _physical_name(typ, name, inputs)
        module, _, kind = typ.split(":")[1].partition("/")
        kind = kind or typ.rsplit(":", 1)[-1]
        computed: dict[str, Any] = {"name": inputs.get("name", name)}
        # Most resources: arn:aws:<service>:<region>:<account>:<kind>/<name>.
        computed["arn"] = f"arn:aws:{_SERVICES.get(module, module)}:{region}:{account}:{kind.lower()}/{physical}"
        if module == "iam":
            computed.update(_iam(typ, physical, inputs, account))
        elif module in ("lb", "wafv2"):
            computed.update(_edge(typ, name, physical, inputs, f"{region}:{account}"))
        elif typ in _EC2_ID_PREFIXES:
            resource_id = f"{_EC2_ID_PREFIXES[typ]}-{physical}"
            computed.update(id=resource_id, arn=f"arn:aws:ec2:{region}:{account}:{kind.lower()}/{resource_id}")
            if typ == "aws:ec2/vpc:Vpc":
                computed["defaultNetworkAclId"] = f"acl-default-{physical}"
        elif typ == "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl":
            # AWS identifies the default ACL by its own ACL id, which the VPC reports.
            computed["id"] = str(inputs.get("defaultNetworkAclId", physical))
        else:
            computed.update(_data(typ, name, physical, inputs, region, account))
        return computed


# Pulumi module -> ARN service name, where they differ.
_SERVICES = {"cloudwatch": "logs", "lb": "elasticloadbalancing", "vpc": "ec2", "autoscaling": "autoscaling"}
# EC2 ids carry the resource kind's prefix; the logical name after it keeps tests readable.
_EC2_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/networkAcl:NetworkAcl": "acl",
    "aws:ec2/flowLog:FlowLog": "fl",
}


def _physical_name(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The name AWS would know the resource by: its explicit name input, else the logical name (the
    mocks do not add Pulumi's random auto-naming suffix)."""
    explicit = {
        "aws:s3/bucket:Bucket": "bucket",
        "aws:rds/instance:Instance": "identifier",
        "aws:kms/alias:Alias": "name",
    }.get(typ, "name")
    value = inputs.get(explicit)
    return value if isinstance(value, str) and value else name


def _hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _uuid(value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _data(typ: str, name: str, physical: str, inputs: Mapping[str, Any], region: str, account: str) -> dict[str, Any]:
    """Storage, keys, logs, secrets, databases and the few EC2 resources with their own id shape."""
    host = f"{physical}.cmock.{region}.rds.amazonaws.com"
    secret_arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{physical}-AbCdEf"
    master_secret = {
        "secretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:rds!db-{physical}-XyZ123",
        "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
        "secretStatus": "active",
    }
    table: dict[str, dict[str, Any]] = {
        "aws:s3/bucket:Bucket": {
            "bucket": physical,
            "arn": f"arn:aws:s3:::{physical}",
            "bucketDomainName": f"{physical}.s3.amazonaws.com",
        },
        "aws:s3/bucketObjectv2:BucketObjectv2": {"id": str(inputs.get("key", name)), "versionId": f"v-{name}"},
        "aws:kms/key:Key": {"id": physical, "keyId": physical, "arn": f"arn:aws:kms:{region}:{account}:key/{physical}"},
        "aws:kms/alias:Alias": {"arn": f"arn:aws:kms:{region}:{account}:{physical}"},
        "aws:cloudwatch/logGroup:LogGroup": {"arn": f"arn:aws:logs:{region}:{account}:log-group:{physical}"},
        "aws:secretsmanager/secret:Secret": {"id": secret_arn, "arn": secret_arn},
        "aws:rds/instance:Instance": {
            "arn": f"arn:aws:rds:{region}:{account}:db:{physical}",
            "address": host,
            "endpoint": f"{host}:{POSTGRES_PORT}",
            "masterUserSecrets": [master_secret],
        },
        "aws:rds/parameterGroup:ParameterGroup": {"arn": f"arn:aws:rds:{region}:{account}:pg:{physical}"},
        "aws:rds/subnetGroup:SubnetGroup": {"arn": f"arn:aws:rds:{region}:{account}:subgrp:{physical}"},
        "aws:ec2/launchTemplate:LaunchTemplate": {"latestVersion": 1, "id": f"lt-{physical}"},
        "aws:ec2/vpcEndpoint:VpcEndpoint": {"id": f"vpce-{physical}", "prefixListId": "pl-63a5400a"},
        "aws:sns/topic:Topic": {
            "id": f"arn:aws:sns:{region}:{account}:{physical}",
            "arn": f"arn:aws:sns:{region}:{account}:{physical}",
        },
        "aws:cloudwatch/metricAlarm:MetricAlarm": {"arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{physical}"},
        "aws:scheduler/scheduleGroup:ScheduleGroup": {
            "arn": f"arn:aws:scheduler:{region}:{account}:schedule-group/{physical}"
        },
    }
    return table.get(typ, {})


def _edge(typ: str, name: str, physical: str, inputs: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """Load balancing and WAF: ELBv2 resources are identified by their ARN (`scope` is region:account)."""
    elb = f"arn:aws:elasticloadbalancing:{scope}"
    arn = ""
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        arn = f"{elb}:loadbalancer/app/{physical}/{_hex(physical)}"
        return {
            "id": arn,
            "arn": arn,
            "arnSuffix": f"app/{physical}/{_hex(physical)}",
            "dnsName": f"{physical}-{_hex(physical)[:8]}.{scope.split(':', maxsplit=1)[0]}.elb.amazonaws.com",
        }
    if typ == "aws:lb/listener:Listener":
        arn = f"{str(inputs.get('loadBalancerArn', '')).replace(':loadbalancer/', ':listener/')}/{_hex(name)}"
    elif typ == "aws:lb/listenerRule:ListenerRule":
        arn = f"{str(inputs.get('listenerArn', '')).replace(':listener/', ':listener-rule/')}/{_hex(name)}"
    elif typ == "aws:lb/targetGroup:TargetGroup":
        arn = f"{elb}:targetgroup/{physical}/{_hex(physical)}"
    elif typ == "aws:lb/trustStore:TrustStore":
        arn = f"{elb}:truststore/{physical}/{_hex(physical)}"
    elif typ == "aws:lb/trustStoreRevocation:TrustStoreRevocation":
        return {"id": f"{inputs.get('trustStoreArn', '')},1", "revocationId": 1}
    elif typ == "aws:wafv2/webAcl:WebAcl":
        acl_id = _uuid(physical)
        return {"id": acl_id, "arn": f"arn:aws:wafv2:{scope}:regional/webacl/{physical}/{acl_id}"}
    elif typ == "aws:wafv2/webAclAssociation:WebAclAssociation":
        return {"id": f"{inputs.get('webAclArn', '')},{inputs.get('resourceArn', '')}"}
    elif typ == "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration":
        return {"id": str(inputs.get("resourceArn", ""))}
    computed = {"id": arn, "arn": arn} if arn else {}
    if typ == "aws:lb/targetGroup:TargetGroup":
        # What CloudWatch names a target group by (the dimension of its metrics).
        computed["arnSuffix"] = arn.split(":", 5)[5]
    return computed


def _iam(typ: str, physical: str, inputs: Mapping[str, Any], account: str) -> dict[str, Any]:
    if typ == "aws:iam/serviceLinkedRole:ServiceLinkedRole":
        service = inputs.get("awsServiceName", "")
        role = f"AWSServiceRoleForAutoScaling_{inputs.get('customSuffix', '')}"
        return {"id": role, "name": role, "arn": f"arn:aws:iam::{account}:role/aws-service-role/{service}/{role}"}
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{account}:role/{physical}", "uniqueId": f"AROA{_hex(physical).upper()}"}
    if typ == "aws:iam/instanceProfile:InstanceProfile":
        return {"arn": f"arn:aws:iam::{account}:instance-profile/{physical}"}
    if typ == "aws:iam/rolePolicy:RolePolicy":
        return {"id": f"{inputs.get('role', '')}:{physical}"}
    if typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        return {"id": f"{inputs.get('role', '')}/{inputs.get('policyArn', '')}"}
    return {"arn": f"arn:aws:iam::{account}:{typ.rsplit(':', 1)[-1].lower()}/{physical}"}


class _RecordingMonitor(MockMonitor):
    """Keeps registration order, parents and custom/component flags next to the mock's state."""

    def __init__(self, mocks: _Recorder) -> None:
        super().__init__(mocks)
        self.recorder = mocks
        self.registrations: list[tuple[str, str, str, str, bool]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  # the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append((request.type, request.name, response.urn, request.parent, bool(request.custom)))
            inputs, resource_id, state = self.recorder.pending.pop((request.type, request.name))
            self.recorder.inputs[response.urn] = inputs
            if request.custom:  # components have neither an id nor state of their own
                self.recorder.ids[response.urn] = resource_id
                self.recorder.states[response.urn] = state
        return response


def _main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m idpkit.aws_graph <stack> <output.json>", file=sys.stderr)
        return 2
    overrides = json.loads(os.environ.get(OVERRIDES_ENV, "{}"))
    asyncio.set_event_loop(asyncio.new_event_loop())
    graph = _run_here(argv[0], Path.cwd(), overrides)
    Path(argv[1]).write_text(json.dumps(asdict(graph)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
