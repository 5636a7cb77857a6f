"""Security groups: the only open doors are the public listeners; everything else is group to group.

internet --80/443/m2m--> ALB --8443/8445/9000--> hosts --5432--> database
                                                 hosts <--7800/57800--> hosts (cluster)
                                                 hosts --443--> VPC endpoints, S3 prefix list
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from idpkit.constants.aws import ANYWHERE_IPV4 as ANYWHERE
from idpkit.constants.aws import HTTP_PORT as HTTP
from idpkit.constants.aws import HTTPS_PORT as HTTPS
from idpkit.constants.aws import POSTGRES_PORT
from idpkit.constants.keycloak import (
    BROWSER_PROXY_PORT,
    JGROUPS_FD_PORT,
    JGROUPS_PORT,
    M2M_PROXY_PORT,
    MANAGEMENT_PORT,
)


@dataclass(frozen=True)
class SecurityGroupsArgs:
    """The network the groups live in."""

    vpc_id: pulumi.Input[str]
    """VPC of every group."""
    endpoint_security_group_id: pulumi.Input[str]
    """The VPC endpoints' group (components/network.py); the hosts get HTTPS to it."""
    s3_prefix_list_id: pulumi.Input[str]
    """Managed prefix list of the S3 gateway endpoint."""
    m2m_port: int
    """Public port of the mutual-TLS listener (not 80/443)."""
    m2m_cidrs: Sequence[str] = (ANYWHERE,)
    """Networks the mutual-TLS listener admits (`idpkit:m2mAllowedCidrs`); default anywhere."""


class SecurityGroups(pulumi.ComponentResource):
    """Load balancer, host and database security groups and their rules."""

    load_balancer: aws.ec2.SecurityGroup
    hosts: aws.ec2.SecurityGroup
    database: aws.ec2.SecurityGroup

    def __init__(self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.m2m_port in (HTTP, HTTPS) or not 1 <= args.m2m_port <= 65535:
            raise ValueError(f"m2m_port: {args.m2m_port} is not a free TCP port (80 and 443 are taken)")
        if not args.m2m_cidrs:
            raise ValueError("m2m_cidrs: at least one network (0.0.0.0/0 for anywhere)")
        super().__init__("idpkit:aws:SecurityGroups", name, {}, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        # Groups are created without rules; the provider removes AWS's default allow-all egress.
        self.load_balancer = aws.ec2.SecurityGroup(
            f"{name}-alb", vpc_id=args.vpc_id, description="idpkit load balancer", opts=self._child
        )
        self.hosts = aws.ec2.SecurityGroup(
            f"{name}-hosts", vpc_id=args.vpc_id, description="idpkit Keycloak hosts", opts=self._child
        )
        self.database = aws.ec2.SecurityGroup(
            f"{name}-db", vpc_id=args.vpc_id, description="idpkit PostgreSQL", opts=self._child
        )
        alb, hosts, db = self.load_balancer.id, self.hosts.id, self.database.id

        # The public listeners are the only rules open to the internet; HTTP only redirects. The machine
        # listener may be limited to partner networks.
        for port, why in ((HTTPS, "browser HTTPS"), (HTTP, "redirect to HTTPS")):
            self._ingress(f"alb-in-{port}", alb, port, why, cidr=ANYWHERE)
        for cidr in args.m2m_cidrs:
            suffix = (
                f"alb-in-{args.m2m_port}" if cidr == ANYWHERE else f"alb-in-{args.m2m_port}-{cidr.replace('/', '-')}"
            )
            self._ingress(suffix, alb, args.m2m_port, "mutual TLS", cidr=cidr)
        # HIPAA 164.312(e)(1): the load balancer reaches the hosts over HTTPS only, plus health checks.
        for port, why in (
            (BROWSER_PROXY_PORT, "browser traffic (HTTPS)"),
            (M2M_PROXY_PORT, "mutual-TLS traffic (HTTPS)"),
            (MANAGEMENT_PORT, "health checks (HTTPS)"),
        ):
            self._egress(f"alb-out-{port}", alb, port, why, group=hosts)
            self._ingress(f"hosts-in-{port}", hosts, port, why, group=alb)
        # Keycloak clustering (jdbc-ping): JGroups and its failure detection, host to host only.
        for port, why in ((JGROUPS_PORT, "JGroups cluster"), (JGROUPS_FD_PORT, "JGroups failure detection")):
            self._ingress(f"hosts-in-{port}", hosts, port, why, group=hosts)
            self._egress(f"hosts-out-{port}", hosts, port, why, group=hosts)
        self._egress(f"hosts-out-{POSTGRES_PORT}", hosts, POSTGRES_PORT, "PostgreSQL", group=db)
        self._ingress(f"db-in-{POSTGRES_PORT}", db, POSTGRES_PORT, "PostgreSQL from Keycloak hosts", group=hosts)
        self._egress(
            "hosts-out-endpoints", hosts, HTTPS, "VPC interface endpoints", group=args.endpoint_security_group_id
        )
        self._ingress(
            "endpoints-in-hosts", args.endpoint_security_group_id, HTTPS, "AWS APIs from Keycloak hosts", group=hosts
        )
        self._egress("hosts-out-s3", hosts, HTTPS, "S3 gateway endpoint", prefix_list=args.s3_prefix_list_id)
        self.register_outputs({"load_balancer": alb, "hosts": hosts, "database": db})

    def _ingress(
        self,
        suffix: str,
        group_id: pulumi.Input[str],
        port: int,
        description: str,
        group: pulumi.Input[str] | None = None,
        cidr: str | None = None,
    ) -> None:
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{suffix}",
            security_group_id=group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=group,
            cidr_ipv4=cidr,
            description=description,
            opts=self._child,
        )

    def _egress(
        self,
        suffix: str,
        group_id: pulumi.Input[str],
        port: int,
        description: str,
        group: pulumi.Input[str] | None = None,
        prefix_list: pulumi.Input[str] | None = None,
    ) -> None:
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-{suffix}",
            security_group_id=group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=group,
            prefix_list_id=prefix_list,
            description=description,
            opts=self._child,
        )
