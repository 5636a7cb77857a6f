"""Network ACLs of the created VPC: what each subnet tier may send and receive, as data.

Security groups are the first filter (stateful, group to group); the ACLs are the second, per tier, and
stateless, so every allowed connection needs its return path too (TCP 1024-65535, the ephemeral ports).
Each tier's subnets lie inside one aligned block of the VPC (public, private, database: the first three
quarters, `tier_blocks`), so a rule names a whole tier with one CIDR.

  public (load balancer)   in:  443, 80 from anywhere; the m2m port from the partner CIDRs; replies from
                                the private tier
                           out: replies to clients and connections to the hosts (all in 1024-65535)
  private (hosts, the      in:  8443, 8445, 9000 from the public tier and nothing else from it; 443 from
  interface endpoints)          the private tier (endpoint ENIs live here); replies and cluster traffic from
                                the private and database tiers; replies to the hosts' own ephemeral ports
                                (Linux: 32768-60999) from anywhere, because S3's gateway endpoint answers from
                                S3's public addresses, which an ACL cannot name as a prefix list (no route
                                leads anywhere else, and SSH/RDP ports stay closed to every outside address)
                           out: 443 to anywhere (endpoints, S3), 5432 to the database tier, replies and
                                cluster traffic (7800, 57800) to the public and private tiers
  database (RDS)           in:  5432 from the private tier; RDS's own traffic inside the tier
                           out: replies to the private tier; RDS's own traffic inside the tier

The VPC's default ACL, which no subnet uses, denies everything. The ACLs never filter the Amazon DNS
resolver, instance metadata or the time service (AWS excludes that link-local traffic from ACLs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from idpkit.constants.aws import ANYWHERE_IPV4 as ANYWHERE
from idpkit.constants.aws import HTTP_PORT, HTTPS_PORT, POSTGRES_PORT
from idpkit.constants.keycloak import BROWSER_PROXY_PORT, M2M_PROXY_PORT, MANAGEMENT_PORT

EPHEMERAL = (1024, 65535)
HOST_EPHEMERAL = (32768, 65535)
"""Where replies to the hosts' own connections arrive: Linux's default `ip_local_port_range` (32768-60999)."""
TCP = "6"
"""IANA protocol number of TCP: what the EC2 API stores, so the declared entries never show a diff."""
ALL_PROTOCOLS = "-1"
Tier = Literal["public", "private", "database"]
TIERS: tuple[Tier, ...] = ("public", "private", "database")


@dataclass(frozen=True)
class AclRule:
    """One ACL entry: rule number, direction, action, protocol, ports, peer CIDR and why it exists."""

    number: int
    egress: bool
    allow: bool
    protocol: str
    ports: tuple[int, int]
    cidr: str
    why: str

    def to_input(self) -> dict[str, Any]:
        """The inline `ingress`/`egress` entry of `aws.ec2.NetworkAcl`."""
        return {
            "rule_no": self.number,
            "action": "allow" if self.allow else "deny",
            "protocol": self.protocol,
            "from_port": self.ports[0],
            "to_port": self.ports[1],
            "cidr_block": self.cidr,
        }


def tier_blocks(vpc_cidr: str) -> dict[Tier, str]:
    """The aligned quarter of the VPC each tier's subnets are carved from (components/network.py)."""
    quarters = list(ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=2))
    return {tier: str(quarters[index]) for index, tier in enumerate(TIERS)}


def _port(number: int, port: int, cidr: str, why: str, *, egress: bool = False) -> AclRule:
    return AclRule(number, egress, True, TCP, (port, port), cidr, why)


def _replies(number: int, cidr: str, why: str, *, egress: bool) -> AclRule:
    return AclRule(number, egress, True, TCP, EPHEMERAL, cidr, why)


def tier_rules(vpc_cidr: str, m2m_port: int, m2m_cidrs: Sequence[str]) -> dict[Tier, list[AclRule]]:
    """Every entry of each tier's ACL."""
    blocks = tier_blocks(vpc_cidr)
    public, private, database = blocks["public"], blocks["private"], blocks["database"]
    partner_rules = [
        _port(120 + index, m2m_port, cidr, "mutual-TLS listener from a partner network")
        for index, cidr in enumerate(m2m_cidrs)
    ]
    return {
        "public": [
            _port(100, HTTPS_PORT, ANYWHERE, "browser listener"),
            _port(110, HTTP_PORT, ANYWHERE, "redirect to HTTPS"),
            *partner_rules,
            _replies(200, private, "replies from the Keycloak hosts", egress=False),
            _replies(100, ANYWHERE, "replies to clients; connections to the host ports, all >= 1024", egress=True),
        ],
        "private": [
            _port(100, BROWSER_PROXY_PORT, public, "browser traffic from the load balancer"),
            _port(110, M2M_PROXY_PORT, public, "mutual-TLS traffic from the load balancer"),
            _port(120, MANAGEMENT_PORT, public, "health checks from the load balancer"),
            AclRule(130, False, False, ALL_PROTOCOLS, (0, 0), public, "nothing else from the load balancer tier"),
            _port(140, HTTPS_PORT, private, "interface VPC endpoints (their ENIs are in this tier)"),
            _replies(200, private, "replies from endpoints and peers; JGroups 7800 and 57800", egress=False),
            _replies(210, database, "replies from PostgreSQL", egress=False),
            AclRule(220, False, True, TCP, HOST_EPHEMERAL, ANYWHERE, "replies from S3 to the hosts' ephemeral ports"),
            _port(100, HTTPS_PORT, ANYWHERE, "VPC endpoints and S3 (no route leads elsewhere)", egress=True),
            _port(110, POSTGRES_PORT, database, "PostgreSQL", egress=True),
            _replies(120, public, "replies to the load balancer", egress=True),
            _replies(130, private, "replies to peers and endpoint clients; JGroups 7800 and 57800", egress=True),
        ],
        "database": [
            _port(100, POSTGRES_PORT, private, "PostgreSQL from the Keycloak hosts"),
            AclRule(110, False, True, TCP, (0, 65535), database, "RDS traffic inside the database tier (Multi-AZ)"),
            _replies(100, private, "replies to the Keycloak hosts", egress=True),
            AclRule(110, True, True, TCP, (0, 65535), database, "RDS traffic inside the database tier (Multi-AZ)"),
        ],
    }
