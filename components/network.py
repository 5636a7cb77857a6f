"""The VPC: public subnets for the load balancer, private subnets for the hosts, isolated database subnets.

Hosts have no route to the internet. Everything they reach goes through VPC endpoints: Systems Manager
(Session Manager, Patch Manager), CloudWatch Logs, KMS, Secrets Manager, STS (the signing key rotation
assumes its role from a host), and S3 through a gateway
endpoint whose policy admits only the stack's artifacts bucket and the AWS-owned buckets that serve
Amazon Linux packages and the SSM agent. Keycloak itself is staged from Maven Central into the
artifacts bucket at deploy time (components/artifacts.py), so no NAT gateway is needed.

A created VPC gets a network ACL per subnet tier (components/network_acls.py) and a default ACL that denies
everything; an existing VPC keeps its owner's ACLs. Every VPC's traffic, accepted and rejected, is recorded
by a flow log into the stack's encrypted flow log group (HIPAA 164.312(b)).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.network_acls import TIERS, Tier, tier_rules
from idpkit.aws_config import MAX_AVAILABILITY_ZONES, NetworkSettings
from idpkit.constants.aws import HOST_API_ENDPOINT_SERVICES

INTERFACE_ENDPOINTS = HOST_API_ENDPOINT_SERVICES
MAX_AZS = MAX_AVAILABILITY_ZONES
# Amazon Linux 2023 package repositories are S3 buckets named per region.
AL2023_REPOSITORY_BUCKET = "al2023-repos-{region}-de612dc2"
# Buckets the SSM agent and Patch Manager read (AWS Systems Manager docs, "VPC endpoint policies").
SSM_BUCKETS = (
    "aws-ssm-{region}",
    "aws-windows-downloads-{region}",
    "amazon-ssm-{region}",
    "amazon-ssm-packages-{region}",
    "{region}-birdwatcher-prod",
    "aws-ssm-distributor-file-{region}",
    "aws-ssm-document-attachments-{region}",
    "patch-baseline-snapshot-{region}",
    "amazoncloudwatch-agent-{region}",
)


@dataclass(frozen=True)
class NetworkArgs:
    """Where the stack's network comes from."""

    settings: NetworkSettings
    """Created-VPC CIDR and AZs, or an existing VPC's id and subnets (idpkit.aws_config)."""
    region: str
    """The stack's region (endpoint service names)."""
    artifacts_bucket_arn: pulumi.Input[str]
    """The stack's artifacts bucket, the only customer bucket the S3 endpoint admits."""
    account_id: str
    """The stack's account (the flow log role trusts only this account's flow logs)."""
    flow_log_group_arn: pulumi.Input[str]
    """The encrypted, retained log group the VPC flow log writes to (components/log_archive.py)."""
    m2m_port: int
    """Port of the mutual-TLS listener: the public tier's ACL admits it from `m2m_cidrs`."""
    m2m_cidrs: Sequence[str]
    """Networks the mutual-TLS listener admits (`idpkit:m2mAllowedCidrs`; anywhere by default)."""


class Network(pulumi.ComponentResource):
    """VPC, subnets, routes and endpoints."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    database_subnet_ids: list[pulumi.Output[str]]
    endpoint_security_group_id: pulumi.Output[str]
    s3_prefix_list_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:Network", name, {}, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        if settings.vpc_id is None:
            private_route_table_ids = self._create_vpc(settings, args)
        else:
            self.vpc_id = pulumi.Output.from_input(settings.vpc_id)
            self.public_subnet_ids = [pulumi.Output.from_input(i) for i in settings.public_subnet_ids]
            self.private_subnet_ids = [pulumi.Output.from_input(i) for i in settings.private_subnet_ids]
            self.database_subnet_ids = [pulumi.Output.from_input(i) for i in settings.database_subnet_ids]
            private_route_table_ids = [
                aws.ec2.get_route_table_output(subnet_id=subnet_id).route_table_id
                for subnet_id in settings.private_subnet_ids
            ]

        endpoint_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=self.vpc_id,
            description="VPC interface endpoints; ingress rules are added per client security group",
            opts=self._child,
        )
        self.endpoint_security_group_id = endpoint_group.id
        self._flow_log(args)
        if settings.create_vpc_endpoints:
            s3 = self._create_endpoints(args, endpoint_group, private_route_table_ids)
            self.s3_prefix_list_id = s3.prefix_list_id
        else:
            self.s3_prefix_list_id = aws.ec2.get_prefix_list_output(name=f"com.amazonaws.{args.region}.s3").id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "database_subnet_ids": self.database_subnet_ids,
            }
        )

    def _create_vpc(self, settings: NetworkSettings, args: NetworkArgs) -> list[pulumi.Output[str]]:
        name, child = self._name, self._child
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.vpc_cidr,
            # Private DNS of interface endpoints needs both.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
            opts=child,
        )
        self.vpc_id = vpc.id
        # CIS AWS 5.4: the default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)
        blocks = list(ipaddress.ip_network(settings.vpc_cidr).subnets(prefixlen_diff=4))
        zones = settings.availability_zones
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], opts=child
        )
        # No default route: the hosts reach AWS services only through endpoints.
        private_routes = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, routes=[], opts=child)
        # Isolated: the database subnets route nowhere beyond the VPC.
        database_routes = aws.ec2.RouteTable(f"{name}-database", vpc_id=vpc.id, routes=[], opts=child)
        self.public_subnet_ids, self.private_subnet_ids, self.database_subnet_ids = [], [], []
        for tier, offset, routes, ids in (
            ("public", 0, public_routes, self.public_subnet_ids),
            ("private", MAX_AZS, private_routes, self.private_subnet_ids),
            ("database", 2 * MAX_AZS, database_routes, self.database_subnet_ids),
        ):
            for index, zone in enumerate(zones):
                subnet = aws.ec2.Subnet(
                    f"{name}-{tier}-{zone}",
                    vpc_id=vpc.id,
                    cidr_block=str(blocks[offset + index]),
                    availability_zone=zone,
                    # Nothing gets a public address implicitly; the ALB manages its own.
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{name}-{tier}-{zone}", "tier": tier},
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{zone}", subnet_id=subnet.id, route_table_id=routes.id, opts=child
                )
                ids.append(subnet.id)
        self._network_acls(vpc, settings, args)
        return [private_routes.id]

    def _network_acls(self, vpc: aws.ec2.Vpc, settings: NetworkSettings, args: NetworkArgs) -> None:
        name, child = self._name, self._child
        # No subnet uses the default ACL; it denies everything, so a subnet added later is closed until it
        # is given a tier's ACL (CIS AWS 5.x, AWS FSBP EC2.2 spirit for ACLs).
        aws.ec2.DefaultNetworkAcl(
            f"{name}-default-acl",
            default_network_acl_id=vpc.default_network_acl_id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default (deny all)"},
            opts=child,
        )
        rules = tier_rules(settings.vpc_cidr, args.m2m_port, args.m2m_cidrs)
        subnets: dict[Tier, list[pulumi.Output[str]]] = {
            "public": self.public_subnet_ids,
            "private": self.private_subnet_ids,
            "database": self.database_subnet_ids,
        }
        for tier in TIERS:
            aws.ec2.NetworkAcl(
                f"{name}-{tier}-acl",
                vpc_id=vpc.id,
                subnet_ids=subnets[tier],
                ingress=[rule.to_input() for rule in rules[tier] if not rule.egress],
                egress=[rule.to_input() for rule in rules[tier] if rule.egress],
                tags={"Name": f"{name}-{tier}", "tier": tier},
                opts=child,
            )

    def _flow_log(self, args: NetworkArgs) -> None:
        name, child = self._name, self._child
        role = aws.iam.Role(
            f"{name}-flow-log",
            description="idpkit: VPC flow log delivery to the stack's flow log group",
            assume_role_policy=json.dumps(_flow_log_trust(args)),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-log",
            role=role.id,
            policy=pulumi.Output.from_input(args.flow_log_group_arn).apply(
                lambda arn: json.dumps(_flow_log_policy(arn))
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc_id,
            # HIPAA 164.312(b): accepted and rejected traffic, one-minute aggregation.
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=args.flow_log_group_arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": name},
            opts=child,
        )

    def _create_endpoints(
        self,
        args: NetworkArgs,
        endpoint_group: aws.ec2.SecurityGroup,
        private_route_table_ids: list[pulumi.Output[str]],
    ) -> aws.ec2.VpcEndpoint:
        name, child = self._name, self._child
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_group.id],
                opts=child,
            )
        return aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=private_route_table_ids,
            policy=pulumi.Output.from_input(args.artifacts_bucket_arn).apply(
                lambda arn: _s3_endpoint_policy(arn, args.region)
            ),
            opts=child,
        )


def _validate(args: NetworkArgs) -> None:
    settings = args.settings
    if settings.vpc_id is None:
        if not 2 <= len(settings.availability_zones) <= MAX_AZS:
            raise ValueError(f"settings.availability_zones: between 2 and {MAX_AZS} zones are required")
        for zone in settings.availability_zones:
            if not zone.startswith(args.region):
                raise ValueError(f"settings.availability_zones: {zone} is not in {args.region}")


def _flow_log_trust(args: NetworkArgs) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                # Confused-deputy guard: only this account's flow logs.
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": args.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{args.region}:{args.account_id}:vpc-flow-log/*"},
                },
            }
        ],
    }


def _flow_log_policy(log_group_arn: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
            {
                # Flow log delivery checks that its destination exists (an account-wide listing).
                "Sid": "FindTheLogGroup",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": log_group_arn.split(":log-group:", 1)[0] + ":log-group:*",
            },
        ],
    }


def _s3_endpoint_policy(artifacts_bucket_arn: str, region: str) -> str:
    aws_buckets = [AL2023_REPOSITORY_BUCKET.format(region=region), *(b.format(region=region) for b in SSM_BUCKETS)]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StackArtifacts",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"{artifacts_bucket_arn}/*",
                },
                {
                    "Sid": "AwsPackagesAndAgents",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:aws:s3:::{bucket}/*" for bucket in aws_buckets],
                },
            ],
        }
    )
