"""Authentication flows the kit owns, their executions and configurations, and the realm's browser binding.

A top-level flow is compared as a whole tree (its sub-flows inline), one line per execution:
`idpkit-browser-second-factor[0] auth-otp-form: ALTERNATIVE`. When only requirements differ (a step
switched to DISABLED by hand), each differing execution is updated in place; any other difference (a step
added, removed, moved, or its configuration changed) rebuilds the flow's executions from the files, so the
live flow is exactly the declared one. The flow object itself stays, so a realm binding never dangles.
Keycloak reads a flow's tree in one GET (`.../flows/{alias}/executions`, flattened with levels).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import EXECUTION, EXECUTION_INFO, Change, Write, execution_name, ref
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.kinds.base import OWNED_DESCRIPTION_PREFIX, Context, Rep
from idpkit.realm.kinds.realm import carried
from idpkit.realm.model import AuthenticationExecution, AuthenticationFlow

BASIC_FLOW = "basic-flow"
# Keycloak's sub-flow "type" for form-less sub-flows of a basic flow (what the admin console sends).
_SUBFLOW_PROVIDER = "registration-page-form"
BINDINGS = ("browserFlow",)
"""Realm fields that bind a flow; planned here, after the flows exist."""


def _owned(flow: Rep) -> bool:
    return str(flow.get("description") or "").startswith(OWNED_DESCRIPTION_PREFIX)


def execution_key(execution: AuthenticationExecution) -> str:
    """How paths name an execution within its flow: its authenticator, or its sub-flow's alias."""
    return execution.flow or execution.authenticator or ""


def config_alias(flow: str, position: int) -> str:
    """The alias of the configuration of the execution at `position` of `flow` (unique in the realm)."""
    return f"{flow}-{position}"


def declared(ctx: Context) -> dict[str, AuthenticationFlow]:
    return {flow.alias: flow for flow in ctx.document.authentication_flows or []}


def _desired_lines(flows: dict[str, AuthenticationFlow], alias: str) -> Iterator[tuple[str, Any]]:
    for position, execution in enumerate(flows[alias].executions):
        yield f"{alias}[{position}] {execution_key(execution)}", execution.requirement
        if execution.config is not None:
            yield f"{alias}[{position}] {execution_key(execution)} config", dict(execution.config)
        if execution.flow is not None:
            yield from _desired_lines(flows, execution.flow)


def _live_lines(ctx: Context, alias: str) -> dict[str, Any]:
    """The live tree of a top-level flow as lines (sub-flows by their alias, configurations read by id)."""
    entries: list[Rep] = ctx.once(f"flowExecutions:{alias}", lambda: _executions(ctx, alias))
    lines: dict[str, Any] = {}
    parents = [alias]
    positions: dict[str, int] = {}
    for entry in entries:
        level = int(entry["level"])
        del parents[level + 1 :]
        parent = parents[level]
        position = positions.get(parent, 0)
        positions[parent] = position + 1
        key = entry["displayName"] if entry.get("authenticationFlow") else entry.get("providerId", "")
        lines[f"{parent}[{position}] {key}"] = entry["requirement"]
        if entry.get("authenticationConfig"):
            config = ctx.once(f"config:{entry['authenticationConfig']}", functools.partial(_config, ctx, entry))
            lines[f"{parent}[{position}] {key} config"] = config
        if entry.get("authenticationFlow"):
            parents.append(entry["displayName"])
    return lines


def _executions(ctx: Context, alias: str) -> list[Rep]:
    found: list[Rep] = ctx.api.get(ctx.api.path(urls.FLOW_EXECUTIONS, alias=alias)) or []
    return found


def _config(ctx: Context, entry: Rep) -> dict[str, str]:
    found: Rep = ctx.api.get(ctx.api.path(urls.AUTHENTICATOR_CONFIG, id=entry["authenticationConfig"])) or {}
    return dict(found.get("config") or {})


def _build(flows: dict[str, AuthenticationFlow], alias: str) -> list[Write]:
    """Writes that add `alias`'s executions (and, depth first, its sub-flows') to an empty flow."""
    writes: list[Write] = []
    for position, execution in enumerate(flows[alias].executions):
        name = execution_name(alias, position)
        if execution.flow is not None:
            sub = flows[execution.flow]
            body: dict[str, Any] = {"alias": sub.alias, "type": BASIC_FLOW, "provider": _SUBFLOW_PROVIDER,
                    "description": OWNED_DESCRIPTION_PREFIX + (sub.description or "")}  # fmt: skip
            writes.append(Write("POST", urls.FLOW_ADD_SUBFLOW, {"alias": alias}, body))
        else:
            writes.append(
                Write("POST", urls.FLOW_ADD_AUTHENTICATOR, {"alias": alias}, {"provider": execution.authenticator})
            )
        writes.append(Write("PUT", urls.FLOW_EXECUTIONS, {"alias": alias},
                            ref(EXECUTION_INFO, name, requirement=execution.requirement)))  # fmt: skip
        if execution.config is not None:
            body = {"alias": config_alias(alias, position), "config": dict(execution.config)}
            writes.append(Write("POST", urls.EXECUTION_CONFIG, {"id": ref(EXECUTION, name)}, body))
        if execution.flow is not None:
            writes += _build(flows, execution.flow)
    return writes


def _requirement_writes(ctx: Context, alias: str, wanted: dict[str, Any], live: dict[str, Any]) -> list[Write] | None:
    """In-place requirement updates when the trees differ only there; None when the flow must be rebuilt."""
    if set(wanted) != set(live) or any(wanted[k] != live[k] for k in wanted if k.endswith(" config")):
        return None
    entries: list[Rep] = ctx.once(f"flowExecutions:{alias}", lambda: _executions(ctx, alias))
    writes: list[Write] = []
    for (line, requirement), entry in zip(_ordered(live), entries, strict=True):
        if wanted[line] != requirement:
            parent = line.split("[", 1)[0]
            writes.append(Write("PUT", urls.FLOW_EXECUTIONS, {"alias": parent}, {**entry, "requirement": wanted[line]}))
    return writes


def _ordered(lines: dict[str, Any]) -> list[tuple[str, Any]]:
    """The requirement lines in Keycloak's flattened order (the order they were read in)."""
    return [(line, value) for line, value in lines.items() if not line.endswith(" config")]


def diff(ctx: Context) -> list[Change]:
    flows = declared(ctx)
    live_flows: list[Rep] = ctx.once("flows", lambda: ctx.api.get(ctx.api.path(urls.FLOWS))) or []
    live_by_alias = {flow["alias"]: flow for flow in live_flows}
    changes: list[Change] = []
    for alias, flow in flows.items():
        if not flow.top_level:
            continue
        wanted = dict(_desired_lines(flows, alias))
        description = OWNED_DESCRIPTION_PREFIX + (flow.description or "")
        current = live_by_alias.get(alias)
        if current is None:
            body = {"alias": alias, "description": description, "providerId": BASIC_FLOW, "topLevel": True,
                    "builtIn": False}  # fmt: skip
            writes = [Write("POST", urls.FLOWS, {}, body), *_build(flows, alias)]
            created = [FieldChange(line, None, value) for line, value in wanted.items()]
            changes.append(Change("authenticationFlow", alias, "create", created, writes))
            continue
        live = _live_lines(ctx, alias)
        fields = compare(wanted, live) + [
            FieldChange(line, value, None) for line, value in live.items() if line not in wanted
        ]
        if current.get("description") != description:
            fields.append(FieldChange("description", current.get("description"), description))
        if not fields:
            continue
        writes = []
        if current.get("description") != description:
            writes.append(Write("PUT", urls.FLOW, {"id": current["id"]}, {**current, "description": description}))
        in_place = _requirement_writes(ctx, alias, wanted, live)
        if in_place is None:
            top = [
                e
                for e in ctx.once(f"flowExecutions:{alias}", functools.partial(_executions, ctx, alias))
                if e["level"] == 0
            ]
            writes += [Write("DELETE", urls.EXECUTION, {"id": entry["id"]}) for entry in top]
            writes += _build(flows, alias)
        else:
            writes += in_place
        changes.append(Change("authenticationFlow", alias, "update", fields, writes))
    for alias, current in live_by_alias.items():
        if alias not in flows and _owned(current):
            if ctx.prune:
                changes.append(Change("authenticationFlow", alias, "delete", [],
                                      [Write("DELETE", urls.FLOW, {"id": current["id"]})]))  # fmt: skip
            else:
                ctx.unmanaged.append(
                    f"authenticationFlow {alias}: owned by the kit but no longer in the files (use --prune)"
                )
    return changes


def diff_bindings(ctx: Context) -> list[Change]:
    """The realm's flow bindings (`browserFlow`), once the flows they name exist."""
    settings = ctx.document.realm
    wanted = {name: getattr(settings, "browser_flow", None) for name in BINDINGS} if settings else {}
    wanted = {name: value for name, value in wanted.items() if value is not None}
    if not wanted:
        return []
    current: Rep = ctx.once("realm", lambda: ctx.api.keycloak.get_realm(ctx.api.realm)) or {}
    fields = compare(wanted, current)
    if not fields:
        return []
    write = Write("PUT", urls.REALM, {}, carried(current, wanted))
    return [Change("realm", ctx.api.realm, "update", fields, [write])]
