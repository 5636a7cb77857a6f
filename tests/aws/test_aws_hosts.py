"""Keycloak hosts: launch template, user data, Auto Scaling, patching, instance role."""

from __future__ import annotations

import base64
import json
import re

import pytest
from aws_stack_graphs import describe, graphs, params, policy, stack_params

from components.host_bootstrap import HOST_KIT_COMMAND, OS_PACKAGES, USER_DATA_LIMIT, WHEELHOUSE_DIR
from idpkit.aws_graph import Resource
from idpkit.constants.keycloak import HEALTH_CHECK_PATH, MANAGEMENT_PORT, PROXY_SOURCE_ADDRESS
from idpkit.host import render
from idpkit.host.config import HostConfig, parse_host_config
from idpkit.host.layout import AWS_HOST
from idpkit.host.services import keycloak_unit
from idpkit.host.user_data import HOST_CONFIG_FILE, decode_user_data, embedded_host_config
from idpkit.host.wheelhouse import install_commands
from idpkit.keycloak_server import release
from idpkit.keycloak_server.host_proxy import render_haproxy_conf
from idpkit.keycloak_server.options import discovery_override, render_keycloak_conf, server_options
from idpkit.realm.declared import realm_name

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SECRET = "aws:secretsmanager/secret:Secret"
SYSTEMD_HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectHome=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "CapabilityBoundingSet=",
    "User=keycloak",
)


def user_data(template: Resource) -> str:
    return decode_user_data(template.inputs["userData"])


def host_config(template: Resource) -> HostConfig:
    return parse_host_config(json.loads(embedded_host_config(user_data(template))), describe(template))


def keycloak_conf(template: Resource) -> str:
    return render_keycloak_conf(render.server_settings(host_config(template), AWS_HOST))


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_host_config_names_the_stacks_own_resources(stack: str, template: Resource) -> None:
    graph = graphs()[stack]
    config = host_config(template)
    (database,) = graph.of_type("aws:rds/instance:Instance")
    assert config.db_host.startswith(f"{database.inputs['identifier']}."), (
        f"{describe(template)}: Keycloak must connect to the stack's RDS instance"
    )
    secret_ids = {secret.id for secret in graph.of_type(SECRET)}
    for name in (
        "db_app_secret_arn",
        "bootstrap_admin_secret_arn",
        "admin_credentials_secret_arn",
        "host_tls_secret_arn",
    ):
        assert getattr(config, name) in secret_ids, f"{describe(template)}: {name} is no secret of the stack"
    assert config.realm == realm_name(stack) == graph.outputs["realm"], (
        f"{describe(template)}: hosts must serve realm-config's realm"
    )
    assert f"https://{config.public_hostname}" == graph.outputs["base_url"], f"{describe(template)}: public hostname"
    assert config.m2m_url == graph.outputs["m2m_url"], f"{describe(template)}: mTLS listener URL"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("http-enabled", "false"),
        ("http-host", "127.0.0.1"),
        ("cache-stack", "jdbc-ping"),
        ("db", "postgres"),
        ("proxy-trusted-addresses", PROXY_SOURCE_ADDRESS),
        ("spi-x509cert-lookup--provider", "rfc9440"),
        ("truststore-paths", str(AWS_HOST.client_ca_bundle)),
        ("spi-well-known--openid-configuration--openid-configuration-override", str(AWS_HOST.discovery_override)),
        ("spi-events-listener--jboss-logging--success-level", "info"),
        ("http-management-port", str(MANAGEMENT_PORT)),
    ],
)
def test_host_keycloak_option(stack: str, template: Resource, option: str, value: str) -> None:
    conf = keycloak_conf(template)
    assert f"\n{option}={value}\n" in conf, f"{describe(template)}: keycloak.conf must set {option}={value}"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_database_connection_verifies_the_rds_certificate(stack: str, template: Resource) -> None:
    conf = keycloak_conf(template)
    assert f"db-url-properties=?sslmode=verify-full&sslrootcert={AWS_HOST.rds_ca_bundle}\n" in conf, (
        f"{describe(template)}: JDBC must use sslmode=verify-full with the RDS CA bundle (HIPAA 164.312(e)(1))"
    )
    assert "\ndb-username=" not in conf, (
        f"{describe(template)}: the database role comes from the application secret (alternating users), "
        "never a fixed user in keycloak.conf"
    )


def test_host_options_cover_every_rendered_key() -> None:
    config = host_config(params(LAUNCH_TEMPLATE)[0].values[1])
    settings = render.server_settings(config, AWS_HOST)
    rendered = render_keycloak_conf(settings).splitlines()[1:]
    assert [line.split("=", 1)[0] for line in rendered] == list(server_options(settings)), (
        "render_keycloak_conf and server_options disagree: the conf is not the shared definition"
    )


@pytest.mark.parametrize(
    ("stack", "obj"),
    params("aws:s3/bucketObjectv2:BucketObjectv2", where=lambda r: r.name.endswith("-keycloak")),
)
def test_staged_archive_comes_from_the_pinned_download_url(stack: str, obj: Resource) -> None:
    assert obj.inputs["source"] == {"__asset__": "remote", "uri": release.DOWNLOAD_URL}, (
        f"{describe(obj)}: the staged archive must be release.DOWNLOAD_URL"
    )
    assert obj.inputs["key"] == f"keycloak/{release.ARCHIVE_NAME}", f"{describe(obj)}: unexpected object key"


@pytest.mark.parametrize("directive", SYSTEMD_HARDENING)
def test_keycloak_unit_is_sandboxed(directive: str) -> None:
    assert f"\n{directive}\n" in keycloak_unit(AWS_HOST), f"keycloak.service lacks {directive}"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_user_data_fits_ec2_limit(stack: str, template: Resource) -> None:
    size = len(base64.b64decode(template.inputs["userData"]))
    assert size <= USER_DATA_LIMIT, f"{describe(template)}: user data is {size} bytes, EC2 allows {USER_DATA_LIMIT}"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_user_data_holds_no_secret_values(stack: str, template: Resource) -> None:
    script = user_data(template)
    assert "PRIVATE KEY-----\n" not in script and "mock-only-not-a-password" not in script, (
        f"{describe(template)}: secrets must be fetched from Secrets Manager at boot, never embedded"
    )


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_os_packages_come_only_from_the_distribution(stack: str, template: Resource) -> None:
    """No package whose integrity the kit cannot pin: dnf installs Amazon Linux's own signed packages only."""
    installs = [line for line in user_data(template).splitlines() if line.startswith("dnf ")]
    assert installs == [f"dnf install -y {' '.join(OS_PACKAGES)}"], f"{describe(template)}: {installs}"
    assert not re.search(r"\.rpm\b|nginx", user_data(template)), (
        f"{describe(template)}: no third-party RPM (and no nginx/njs) may be installed on a host"
    )


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_user_data_installs_the_pinned_wheelhouse_then_runs_host_up(stack: str, template: Resource) -> None:
    graph = graphs()[stack]
    (wheelhouse,) = [
        obj for obj in graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if obj.name.endswith("-host-wheelhouse")
    ]
    lines = user_data(template).splitlines()
    expected = install_commands(
        wheelhouse.inputs["bucket"],
        wheelhouse.inputs["key"],
        wheelhouse.outputs["versionId"],
        str(AWS_HOST.kit_dir),
        WHEELHOUSE_DIR,
    )
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected, f"{describe(template)}: wheelhouse install steps"
    assert lines[-1] == f"{HOST_KIT_COMMAND} host up --config {HOST_CONFIG_FILE} --supervisor systemd", (
        f"{describe(template)}: the last step must be `idpkit host up` (everything else is kit code)"
    )


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_host_proxy_listens_where_the_target_groups_send(stack: str, template: Resource) -> None:
    haproxy = render_haproxy_conf(render.proxy_settings(AWS_HOST))
    ports = sorted(int(port) for port in re.findall(r"bind [0-9.]+:(\d+) ssl", haproxy))
    targets = sorted(int(group.inputs["port"]) for group in graphs()[stack].of_type(TARGET_GROUP))
    assert ports == targets, f"{describe(template)}: the host proxy listens on {ports}, target groups send to {targets}"


def test_host_proxy_reaches_keycloak_from_the_trusted_address() -> None:
    haproxy = render_haproxy_conf(render.proxy_settings(AWS_HOST))
    assert f" source {PROXY_SOURCE_ADDRESS} " in haproxy, "the host proxy must connect from PROXY_SOURCE_ADDRESS"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_discovery_advertises_the_mtls_listener(stack: str, template: Resource) -> None:
    outputs = graphs()[stack].outputs
    config = host_config(template)
    assert discovery_override(config.m2m_url, config.realm) == discovery_override(
        outputs["m2m_url"], outputs["realm"]
    ), f"{describe(template)}: discovery's mTLS aliases must name the stack's M2M listener and realm"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_client_ca_bundle_is_the_trust_store_version(stack: str, template: Resource) -> None:
    graph = graphs()[stack]
    (trust_store,) = graph.of_type("aws:lb/trustStore:TrustStore")
    config = host_config(template)
    pinned = (
        trust_store.inputs["caCertificatesBundleS3Bucket"],
        trust_store.inputs["caCertificatesBundleS3Key"],
        trust_store.inputs["caCertificatesBundleS3ObjectVersion"],
    )
    assert (config.artifacts_bucket, config.client_ca_object_key, config.client_ca_object_version) == pinned, (
        f"{describe(template)}: Keycloak must get exactly the CA bundle version the ALB trust store verifies with"
    )


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_imdsv2_required_with_hop_limit_one(stack: str, template: Resource) -> None:
    metadata = template.inputs["metadataOptions"]
    assert metadata["httpTokens"] == "required", f"{describe(template)}: IMDSv2 must be required"
    assert metadata["httpPutResponseHopLimit"] == 1, f"{describe(template)}: IMDS hop limit must be 1"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_no_key_pair(stack: str, template: Resource) -> None:
    assert not template.inputs.get("keyName"), f"{describe(template)}: hosts must have no SSH key pair"


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_root_volume_encrypted_with_the_ebs_key(stack: str, template: Resource) -> None:
    (mapping,) = template.inputs["blockDeviceMappings"]
    assert mapping["ebs"]["encrypted"] == "true", f"{describe(template)}: root volume not encrypted"
    assert mapping["ebs"]["kmsKeyId"].endswith(f"idpkit-{stack}-kms-ebs"), (
        f"{describe(template)}: root volume must use the stack's EBS customer-managed key"
    )


@pytest.mark.parametrize(("stack", "group"), params(ASG))
def test_hosts_only_in_private_subnets(stack: str, group: Resource) -> None:
    subnets = {subnet.id: subnet for subnet in graphs()[stack].of_type("aws:ec2/subnet:Subnet")}
    names = [
        subnets[subnet_id].name if subnet_id in subnets else subnet_id
        for subnet_id in group.inputs["vpcZoneIdentifiers"]
    ]
    assert names and all("-private-" in name for name in names), (
        f"{describe(group)}: hosts must run in private subnets only, got {names}"
    )


@pytest.mark.parametrize(("stack", "group"), params(ASG))
def test_instance_refresh_keeps_full_capacity(stack: str, group: Resource) -> None:
    preferences = group.inputs["instanceRefresh"]["preferences"]
    assert preferences["minHealthyPercentage"] == 100, f"{describe(group)}: refresh must keep 100% healthy"
    assert group.inputs["healthCheckType"] == "ELB", f"{describe(group)}: replace hosts the LB finds unhealthy"


@pytest.mark.parametrize(("stack", "group"), params(ASG, stacks=("prod",)))
def test_prod_runs_at_least_two_hosts(stack: str, group: Resource) -> None:
    assert group.inputs["minSize"] >= 2, f"{describe(group)}: prod needs >= 2 Keycloak hosts"


@pytest.mark.parametrize(("stack", "target_group"), params(TARGET_GROUP))
def test_targets_use_https_and_management_health_checks(stack: str, target_group: Resource) -> None:
    check = target_group.inputs["healthCheck"]
    assert target_group.inputs["protocol"] == "HTTPS", f"{describe(target_group)}: no plain HTTP in the VPC"
    assert (check["protocol"], check["port"], check["path"]) == ("HTTPS", str(MANAGEMENT_PORT), HEALTH_CHECK_PATH), (
        f"{describe(target_group)}: health check must be HTTPS :{MANAGEMENT_PORT}{HEALTH_CHECK_PATH}"
    )


# IAM authorizes these on no resource ARN (the key does not exist yet; a listing), so "*" is their only resource;
# tags given to CreateKey are authorized with it, before the key has an ARN. AWS-IAM-003 checks their conditions.
WITHOUT_RESOURCE_ARN = {"kms:CreateKey", "kms:ListAliases"}
TAGGED_AT_CREATION = {"kms:TagResource"}


@pytest.mark.parametrize(("stack", "role_policy"), params("aws:iam/rolePolicy:RolePolicy"))
def test_instance_role_names_its_resources(stack: str, role_policy: Resource) -> None:
    for statement in policy(role_policy)["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" not in resources:
            continue
        actions = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        allowed = WITHOUT_RESOURCE_ARN | (TAGGED_AT_CREATION if "kms:CreateKey" in actions else set())
        assert actions <= allowed, (
            f"{describe(role_policy)}: {statement['Sid']} grants {actions - allowed} on every resource"
        )
        assert "kms:CreateKey" not in actions or statement.get("Condition"), (
            f"{describe(role_policy)}: {statement['Sid']} creates KMS keys without conditions"
        )


def is_host_policy(resource: Resource) -> bool:
    return resource.name.endswith("-hosts-least-privilege")


def host_policy(stack: str) -> Resource:
    found: list[Resource] = [r for r in graphs()[stack].of_type("aws:iam/rolePolicy:RolePolicy") if is_host_policy(r)]
    (policy_resource,) = found
    return policy_resource


@pytest.mark.parametrize(("stack", "role_policy"), params("aws:iam/rolePolicy:RolePolicy", where=is_host_policy))
def test_instance_role_reads_only_its_own_secrets(stack: str, role_policy: Resource) -> None:
    (statement,) = [s for s in policy(role_policy)["Statement"] if s["Sid"] == "OwnSecrets"]
    (admin_credentials,) = [
        s for s in graphs()[stack].of_type("aws:secretsmanager/secret:Secret") if s.name.endswith("-admin-credentials")
    ]
    assert statement["Action"] == "secretsmanager:GetSecretValue", f"{describe(role_policy)}: read only"
    assert len(statement["Resource"]) == 5 and all(":secret:" in arn for arn in statement["Resource"]), (
        f"{describe(role_policy)}: the hosts read exactly the database master and application, bootstrap admin, "
        "host TLS and kit admin secrets"
    )
    assert admin_credentials.id in statement["Resource"], (
        f"{describe(role_policy)}: the rotation on the host logs in with the kit's admin credentials"
    )


@pytest.mark.parametrize("stack", stack_params())
def test_patch_manager_baseline_and_window(stack: str) -> None:
    graph = graphs()[stack]
    (task,) = graph.of_type("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
    assert graph.of_type("aws:ssm/patchBaseline:PatchBaseline"), f"{stack}: no patch baseline"
    assert task.inputs["taskArn"] == "AWS-RunPatchBaseline", f"{describe(task)}: must run the patch baseline"
    assert task.inputs["maxConcurrency"] == "1", f"{describe(task)}: patch one host at a time"


@pytest.mark.parametrize("stack", stack_params())
def test_session_manager_policy_attached(stack: str) -> None:
    graph = graphs()[stack]
    (host_role,) = [r for r in graph.of_type("aws:iam/role:Role") if r.name.endswith("-hosts-role")]
    attachments = [
        a
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == host_role.outputs["name"]
    ]
    assert [a.inputs["policyArn"] for a in attachments] == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"], (
        f"{stack}: the host role gets SSM core and no other managed policy"
    )


@pytest.mark.parametrize(("stack", "role_policy"), params("aws:iam/rolePolicy:RolePolicy", where=is_host_policy))
def test_instance_role_writes_only_the_database_application_secret(stack: str, role_policy: Resource) -> None:
    (statement,) = [s for s in policy(role_policy)["Statement"] if s["Sid"] == "DatabaseApplicationCredentials"]
    (app_secret,) = [s for s in graphs()[stack].of_type(SECRET) if s.name.endswith("-app-credentials")]
    assert (statement["Action"], statement["Resource"]) == ("secretsmanager:PutSecretValue", [app_secret.id]), (
        f"{describe(role_policy)}: the hosts may write Keycloak's database application secret and nothing else"
    )


@pytest.mark.parametrize(("stack", "template"), params(LAUNCH_TEMPLATE))
def test_instance_role_may_read_every_object_the_host_fetches(stack: str, template: Resource) -> None:
    script = user_data(template)
    config = host_config(template)
    fetched = set(re.findall(r"aws s3api get-object --bucket (\S+) --key (\S+) ", script))
    fetched |= {
        (config.artifacts_bucket, key)
        for key in (config.keycloak_object_key, config.rds_ca_object_key, config.client_ca_object_key)
    }
    role_policy = host_policy(stack)
    (statement,) = [s for s in policy(role_policy)["Statement"] if s["Sid"] == "Artifacts"]
    (bucket,) = [b for b in graphs()[stack].of_type("aws:s3/bucket:Bucket") if b.name.endswith("-artifacts-s3-bucket")]
    allowed = {arn.removeprefix(f"{bucket.outputs['arn']}/") for arn in statement["Resource"]}
    assert fetched and {name for name, _ in fetched} == {bucket.id}, f"{describe(template)}: fetches {fetched}"
    missing = sorted(key for _, key in fetched if key not in allowed)
    assert not missing, f"{describe(role_policy)}: the host fetches {missing} but may not read them"
