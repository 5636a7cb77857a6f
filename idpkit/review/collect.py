"""Gather everything a review shows for one stack: rules, settings, findings, exceptions, smoke runs.

Runs offline: the realm comes from realm-config/, the AWS resources from the Pulumi program run
under mocks (the three AWS stacks captured once, in parallel, and reused for the comparison).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
from typing import Any

from idpkit.aws_graph import StackGraph, capture_all
from idpkit.errors import IdpkitError
from idpkit.policy import RULES as POLICY_RULES
from idpkit.policy.core import Environment
from idpkit.realm import codified_settings, loader, master_rules
from idpkit.realm.loader import ConfigError, LoadedConfig
from idpkit.realm.master_settings import master_source, shared_with_phi
from idpkit.realm.rules import EXPIRED_EXCEPTION
from idpkit.realm.rules import RULES as REALM_RULES
from idpkit.realm.rules import evaluate as evaluate_realm
from idpkit.review import aws_settings, signing_key, smoke, traceability
from idpkit.review.model import (
    EnvironmentRow,
    ExceptionEntry,
    Family,
    Finding,
    NotApplicableEntry,
    Review,
    Rule,
    Setting,
    SigningKeyLocation,
)
from idpkit.smoke.codified import HELD_SOURCE, class_of, held_settings

AWS_ENVIRONMENTS = tuple(environment.value for environment in Environment)


def realm_rules() -> list[Rule]:
    listed = (*(m for m, _ in REALM_RULES), *(m for m, _ in master_rules.MASTER_RULES), EXPIRED_EXCEPTION)
    return [Rule(Family.REALM, metadata) for metadata in listed]


def policy_rules() -> list[Rule]:
    return [Rule(Family.AWS, rule.metadata) for rule in POLICY_RULES]


def collect(stack: str, today: dt.date | None = None) -> Review:
    """The review of `stack`, whose realm-config environment has the stack's name."""
    if stack not in loader.ENVIRONMENTS:
        raise IdpkitError(f"unknown stack {stack!r}; expected one of {', '.join(loader.ENVIRONMENTS)}")
    today = today or dt.date.today()
    configs = {environment: loader.load(environment) for environment in loader.ENVIRONMENTS}
    loaded = configs[stack]
    exceptions = _exceptions(loaded)
    findings = _realm_findings(loaded, exceptions, today)
    settings = _realm_settings(loaded)

    evaluations = aws_evaluations()
    aws_note = None
    if stack in evaluations:
        evaluation = evaluations[stack]
        settings += [
            Setting(Family.AWS, f"{s.resource}.{s.path}", s.value, s.type, s.rules) for s in evaluation.settings
        ]
        findings += [
            Finding(Family.AWS, violation.rule_id, resource, violation.message.split(": ", 1)[-1])
            for violation, resource in evaluation.violations
        ]
    else:
        aws_note = f"The {stack} stack runs on this machine; it has no AWS resources."

    rows = _realm_rows(configs) + _aws_rows(evaluations)
    return Review(
        stack=stack,
        environment=stack,
        generated=dt.datetime.now(dt.UTC),
        today=today,
        rules=realm_rules() + policy_rules() + smoke.catalog(stack),
        settings=settings,
        findings=findings,
        exceptions=exceptions,
        smoke_run=smoke.latest_run(stack),
        realm_environments=loader.ENVIRONMENTS,
        aws_environments=AWS_ENVIRONMENTS,
        environment_rows=rows,
        aws_note=aws_note,
        signing_keys=signing_keys(),
        not_applicable=[
            NotApplicableEntry(entry.credential, entry.owner, entry.reason, loaded.file_of("smokeNotApplicable"))
            for entry in loaded.document.smoke_not_applicable or []
        ],
    )


def signing_keys() -> dict[str, SigningKeyLocation | None]:
    """Where each stack's realm signing key lives: the local stack's saved choice, the AWS stacks' graphs."""
    graphs = aws_graphs()
    return {
        stack: signing_key.of_graph(graphs[stack]) if stack in graphs else signing_key.of_local(stack)
        for stack in loader.ENVIRONMENTS
    }


@functools.cache
def aws_graphs() -> dict[str, StackGraph]:
    """The AWS stacks' mock-run graphs, captured once per process (a few seconds each, in parallel)."""
    return capture_all(AWS_ENVIRONMENTS)


@functools.cache
def aws_evaluations() -> dict[str, aws_settings.AwsEvaluation]:
    """The AWS stacks' hardened properties and violations."""
    evaluations = {}
    for name, graph in aws_graphs().items():
        if graph.error:
            raise IdpkitError(f"the AWS program fails for stack {name} under mocks: {graph.error}")
        evaluations[name] = aws_settings.evaluate(graph, name, POLICY_RULES)
    return evaluations


def _exceptions(loaded: LoadedConfig) -> list[ExceptionEntry]:
    return [
        ExceptionEntry(e.rule, e.path, e.owner, e.reason, e.expires, loaded.file_of(f"exceptions[{index}]"))
        for index, e in enumerate(loaded.document.exceptions or [])
    ]


def _realm_findings(loaded: LoadedConfig, exceptions: list[ExceptionEntry], today: dt.date) -> list[Finding]:
    """The verdict of `idpkit.realm.rules.evaluate` and `idpkit.realm.master_rules.evaluate` (which `realm apply`
    obeys), with the waived findings."""
    failing = []
    for evaluate in (
        functools.partial(evaluate_realm, loaded, today),
        functools.partial(master_rules.evaluate, loaded),
    ):
        try:
            evaluate()
        except ConfigError as error:
            failing += [Finding(Family.REALM, p.rule, f"{p.file}: {p.path}", p.message) for p in error.problems]
    waived = []
    for metadata, check in REALM_RULES:
        for path, message in check(loaded):
            entry = next(
                (
                    e
                    for e in exceptions
                    if e.rule_id == metadata.id and not e.expired(today) and fnmatch.fnmatchcase(path, e.path)
                ),
                None,
            )
            if entry:
                waived.append(Finding(Family.REALM, metadata.id, f"{loaded.file_of(path)}: {path}", message, entry))
    return failing + waived


def _realm_settings(loaded: LoadedConfig) -> list[Setting]:
    """realm-config's settings with the rules enforcing them; the secure defaults of the fields it leaves out, one
    row per field across objects (`clients[*].webOrigins`); the master realm's settings (those it takes from the PHI
    realm enforced by the rules enforcing the PHI value) and kit admin client."""
    enforced = codified_settings.enforcing_rules(loaded)
    hardening = master_rules.codified(loaded)
    master_enforced = master_rules.enforcing_rules(hardening)
    held = {class_of(path): value for path, value in held_settings(loaded).items()}
    defaults = [Setting(Family.REALM, path, value, HELD_SOURCE, ()) for path, value in held.items()]
    master = [
        Setting(
            Family.REALM,
            path,
            value,
            loaded.file_of(shared) if (shared := shared_with_phi(path)) else master_source(path),
            tuple(sorted({*enforced.get(shared or "", ()), *master_enforced[path]})),
        )
        for path, value in hardening.settings.items()
    ]
    return (
        [
            Setting(
                Family.REALM,
                s.path,
                s.value,
                loaded.file_of(s.path),
                enforced[s.path],
                None if enforced[s.path] else traceability.supporting(s.path, enforced),
                traceability.descriptive(s.path),
            )
            for s in codified_settings.settings(loaded)
        ]
        + defaults
        + master
    )


def _realm_rows(configs: dict[str, LoadedConfig]) -> list[EnvironmentRow]:
    values = {env: {s.path: s.value for s in codified_settings.settings(c)} for env, c in configs.items()}
    return _rows(Family.REALM, values)


def _aws_rows(evaluations: dict[str, aws_settings.AwsEvaluation]) -> list[EnvironmentRow]:
    # Resource names carry the stack name (idpkit-prod-kms-logs); the comparison lines them up without it.
    values = {
        env: {f"{s.resource.replace(f'-{env}-', '-*-', 1)}.{s.path}": s.value for s in evaluation.settings}
        for env, evaluation in evaluations.items()
    }
    return _rows(Family.AWS, values)


def _rows(family: Family, values: dict[str, dict[str, Any]]) -> list[EnvironmentRow]:
    paths = list(dict.fromkeys(path for per_env in values.values() for path in per_env))
    return [EnvironmentRow(family, path, {env: per_env.get(path) for env, per_env in values.items()}) for path in paths]
