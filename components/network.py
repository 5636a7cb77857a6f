"""The VPC: public subnets for the load balancer, private subnets for the hosts, isolated database subnets.

Hosts have no route to the internet. Everything they reach goes through VPC endpoints: Systems Manager
(Session Manager, Patch Manager), CloudWatch Logs, KMS, Secrets Manager, STS (the signing key rotation
assumes its role from a host), and S3 through a gateway
endpoint whose policy admits only the stack's artifacts bucket and the AWS-owned buckets that serve
Amazon Linux packages and the SSM agent. Keycloak itself is staged from Maven Central into the
artifacts bucket at deploy time (components/artifacts.py), so no NAT gateway is needed.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

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
            private_route_table_ids = self._create_vpc(settings)
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

    def _create_vpc(self, settings: NetworkSettings) -> list[pulumi.Output[str]]:
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
        return [private_routes.id]

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
