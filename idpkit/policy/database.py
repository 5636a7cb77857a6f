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


ENHANCED_MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
ENHANCED_MONITORING_SERVICE = "monitoring.rds.amazonaws.com"


@stack_rule(
    RuleMetadata(
        id="AWS-RDS-006",
        title="Databases have Enhanced Monitoring through a role only RDS of this account assumes",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.308(a)(1)(ii)(D)"),
        severity=Severity.LOW,
        risk="Without OS-level metrics (processes, memory, I/O), a database slowing every login, or a runaway "
        "process on it, is diagnosed blind during an outage.",
        remediation="Set monitoring_interval (1-60 s) and monitoring_role_arn to a role of the stack trusted by "
        "monitoring.rds.amazonaws.com with aws:SourceAccount.",
    ),
    subjects=(t.RDS_INSTANCE, t.RDS_CLUSTER_INSTANCE),
)
def rds_enhanced_monitoring(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """RDS instances set monitoringInterval to one of 1, 5, 10, 15, 30 or 60 and monitoringRoleArn to a role
    of the stack whose trust admits monitoring.rds.amazonaws.com."""
    interval = get(res.props, "monitoringInterval")
    if interval not in ENHANCED_MONITORING_INTERVALS:
        yield f"monitoringInterval is {interval!r}: Enhanced Monitoring is off"
        return
    roles = stack.targets(res, "monitoringRoleArn", (t.IAM_ROLE,))
    if not roles:
        yield "monitoringRoleArn does not name a role of the stack"
    for role in roles:
        if ENHANCED_MONITORING_SERVICE not in str(get(role.props, "assumeRolePolicy")):
            yield f"role '{role.name}' is not trusted by {ENHANCED_MONITORING_SERVICE}"


@resource_rule(
    RuleMetadata(
        id="AWS-RDS-007",
        title="Databases have Performance Insights",
        requirements=("HIPAA-164.312(b)",),
        severity=Severity.LOW,
        risk="Without Performance Insights, the query that locks Keycloak's tables during an incident cannot be "
        "found afterwards (AWS-RDS-002 keeps its SQL text under a customer key).",
        remediation="Set performance_insights_enabled=True with performance_insights_kms_key_id.",
    ),
    types=(t.RDS_INSTANCE, t.RDS_CLUSTER_INSTANCE),
)
def rds_performance_insights(res: Res, _env: Environment) -> Iterator[str]:
    """RDS instances enable Performance Insights (AWS-RDS-002 requires its customer-managed key)."""
    if not is_true(get(res.props, "performanceInsightsEnabled")):
        yield "performanceInsightsEnabled is not true"


RULES = (rds_not_public, rds_force_ssl, rds_prod_durability, rds_enhanced_monitoring, rds_performance_insights)
