"""The Keycloak database: private, TLS-only and, in production, durable."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.policy import resource_types as t
from idpkit.policy.core import Environment, Res, Stack, get, is_true, items, resource_rule, stack_rule

MIN_PROD_BACKUP_RETENTION_DAYS = 7


@resource_rule(
    RuleMetadata(
        id="AWS-RDS-003",
        title="Databases are not publicly accessible",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
        severity=Severity.CRITICAL,
        risk="A public endpoint exposes the identity database to password spraying and to any future "
        "PostgreSQL pre-authentication vulnerability from the internet.",
        remediation="Set publicly_accessible=False and place the database in private subnets.",
    ),
    types=(t.RDS_INSTANCE, t.RDS_CLUSTER, t.RDS_CLUSTER_INSTANCE),
)
def rds_not_public(res: Res, _env: Environment) -> Iterator[str]:
    """RDS instances, clusters and cluster instances do not set publiclyAccessible."""
    if is_true(get(res.props, "publiclyAccessible")):
        yield "publiclyAccessible is true"


_PARAMETER_GROUP_INPUT = {
    t.RDS_INSTANCE: ("parameterGroupName", (t.RDS_PARAMETER_GROUP,)),
    t.RDS_CLUSTER: ("dbClusterParameterGroupName", (t.RDS_CLUSTER_PARAMETER_GROUP,)),
}


@stack_rule(
    RuleMetadata(
        id="AWS-RDS-004",
        title="PostgreSQL rejects non-TLS connections (rds.force_ssl=1)",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"),
        severity=Severity.HIGH,
        risk="Without rds.force_ssl a misconfigured client (or a downgrade) sends credentials and ePHI "
        "in clear text inside the VPC.",
        remediation="Attach a parameter group (cluster parameter group for Aurora) created by the stack "
        "with parameter rds.force_ssl = 1.",
    ),
    subjects=tuple(_PARAMETER_GROUP_INPUT),
)
def rds_force_ssl(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every RDS PostgreSQL instance or cluster uses a parameter group from this stack that sets
    rds.force_ssl=1. Relying on the engine default (1 only from PostgreSQL 15) is not enough; other
    engines fail: the kit supports PostgreSQL only."""
    engine = str(get(res.props, "engine") or "")
    if "postgres" not in engine:
        yield f"engine {engine or '(unset)'} is not PostgreSQL, the only engine whose TLS enforcement the kit checks"
        return
    prop, group_types = _PARAMETER_GROUP_INPUT[res.type]
    groups = stack.targets(res, prop, group_types)
    if not groups:
        yield f"{prop} does not name a parameter group of this stack, so rds.force_ssl cannot be verified"
    for group in groups:
        values = {str(p.get("value")) for p in items(group.props, "parameters") if p.get("name") == "rds.force_ssl"}
        if values != {"1"}:
            yield f"parameter group '{group.name}' does not set rds.force_ssl = 1"


@resource_rule(
    RuleMetadata(
        id="AWS-RDS-005",
        title="Production databases are Multi-AZ, deletion-protected and keep >= 7 days of backups",
        requirements=("HIPAA-164.312(c)(1)",),
        severity=Severity.HIGH,
        risk="A single-AZ or unprotected database, or one with short backups, can lose or destroy the "
        "identity store (and its audit events) in one failure or one mistaken `pulumi destroy`.",
        remediation="In prod set multi_az=True (instances), deletion_protection=True and backup_retention_period >= 7.",
    ),
    types=(t.RDS_INSTANCE, t.RDS_CLUSTER),
)
def rds_prod_durability(res: Res, env: Environment) -> Iterator[str]:
    """In production, RDS instances are Multi-AZ and RDS instances and clusters have deletion protection
    and at least 7 days of automated backups. Aurora clusters get Multi-AZ from their instances, which
    this rule does not count."""
    if env is not Environment.PROD:
        return
    if res.type == t.RDS_INSTANCE and not is_true(get(res.props, "multiAz")):
        yield "multiAz is not true in prod"
    if not is_true(get(res.props, "deletionProtection")):
        yield "deletionProtection is not true in prod"
    retention = get(res.props, "backupRetentionPeriod")
    if not isinstance(retention, int | float) or retention < MIN_PROD_BACKUP_RETENTION_DAYS:
        yield f"backupRetentionPeriod is {retention}, below {MIN_PROD_BACKUP_RETENTION_DAYS} days in prod"


RULES = (rds_not_public, rds_force_ssl, rds_prod_durability)
