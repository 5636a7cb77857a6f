"""Every scenario: its fault, its goal (stated before it runs), how it is injected and how it is judged."""

from __future__ import annotations

import time
from typing import Any

from idpkit.chaos import faults
from idpkit.chaos.load import Sample
from idpkit.chaos.probes import cluster_views, log_size, routed_since
from idpkit.chaos.scenarios import Context, Scenario, Verdict, failure_summary, failures, in_flight_at
from idpkit.constants.keycloak import BROWSER_PROXY_PORT, M2M_PROXY_PORT
from idpkit.rehearsal import hosts
from idpkit.rehearsal.run import signing_key_environment

NODE_DOWN_SECONDS = {True: 15.0, False: 30.0}
"""How long the killed node stays dead before `idpkit host up` brings it back (short form, full)."""
ROTATION_MARGIN_SECONDS = 31
"""Publish-to-activate margin: longer than the resource server's JWKS refetch cooldown (PyJWKClient: 30 s),
or a token with the new kid arrives while its client may not refetch (a 10 s margin failed 8 validations
that way); the kit's default for deployments, 300 s, also covers JWKS caches of 5 minutes."""
DATABASE_DOWN_SECONDS = 20.0
IN_SERVICE_TIMEOUT = 180.0
LOGIN_AFTER_DATABASE_GOAL_SECONDS = 30.0


def _access_log(context: Context) -> Any:
    return context.run.layout.logs / "nginx-access.log"


def _no_baseline_failures(measured: dict[str, Any]) -> str | None:
    failed = measured["before_fault"]["failed"]
    return f"{failed} requests failed before the fault (the stack was not healthy)" if failed else None


# --- node killed ---------------------------------------------------------------------------------------


def _kill_node(context: Context) -> None:
    run = context.run
    victim = run.hosts[-1]
    context.marks["offset"] = log_size(_access_log(context))
    context.marks["victim"] = victim
    context.mark_fault()
    context.facts["killed_pid"] = faults.kill_keycloak(victim)
    time.sleep(NODE_DOWN_SECONDS[context.short])
    context.marks["restarting_at"] = time.time()
    context.facts["node_back_after_host_up_seconds"] = round(faults.host_up(run, victim), 1)
    context.mark_recovered()


def _judge_node_kill(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    victim = context.marks["victim"]
    dead = {f"{victim.address}:{port}" for port in (BROWSER_PROXY_PORT, M2M_PROXY_PORT)}
    routed = [
        entry
        for entry in routed_since(_access_log(context), context.marks["offset"])
        if context.fault_at - 1 <= entry.at <= context.recovered_at and dead & set(entry.upstreams)
    ]
    answered_by_dead = [entry for entry in routed if entry.upstreams[-1] in dead]
    offsets = sorted(round(entry.at - context.fault_at) for entry in routed)
    measured["routed_to_dead_node"] = {
        "requests": len(routed),
        "failed_over_to_the_other_node": len(routed) - len(answered_by_dead),
        "answered_from_the_dead_node": len(answered_by_dead),
        "statuses_from_the_dead_node": sorted({entry.status for entry in answered_by_dead}),
        "seconds_after_kill": offsets,
        "last_seconds_after_kill": offsets[-1] if offsets else None,
    }
    in_flight = set(in_flight_at(samples, context.fault_at))
    failed = failures([s for s in samples if s.ended >= context.fault_at])
    beyond = [s for s in failed if s not in in_flight]
    sessions = measured["sessions"]
    problems = [
        p
        for p in (
            _no_baseline_failures(measured),
            f"{len(beyond)} failures were not in flight at the kill ({failure_summary(beyond)})" if beyond else None,
            f"{sessions['lost']} of {sessions['sessions']} sessions lost" if sessions["lost"] else None,
        )
        if p
    ]
    last = measured["routed_to_dead_node"]["last_seconds_after_kill"]
    statuses = measured["routed_to_dead_node"]["statuses_from_the_dead_node"]
    out_at = context.targets.first(victim.name, "unhealthy", context.fault_at)
    back_at = context.targets.first(victim.name, "healthy", context.fault_at)
    measured["load_balancer_took_it_out_after_seconds"] = round(out_at - context.fault_at, 1) if out_at else None
    measured["load_balancer_routed_to_it_again_after_seconds"] = (
        round(back_at - context.fault_at, 1) if back_at else None
    )
    survivor = next(host for host in context.run.hosts if host != victim)
    shrunk = [at for at, members in cluster_views(survivor.layout.server_log, context.fault_at) if members == 1]
    measured["cluster_view_without_it_after_seconds"] = round(shrunk[0] - context.fault_at, 1) if shrunk else None
    outcome = (
        f"{len(failed)} of {measured['from_fault']['requests']} requests from the kill on failed "
        f"({failure_summary(failed)}), {len(failed) - len(beyond)} of them in flight at the kill; "
        f"{sessions['lost']} of {sessions['sessions']} sessions lost; the front door sent "
        f"{len(routed)} requests to the dead node ({len(answered_by_dead)} answered from it"
        f"{f', statuses {statuses}' if answered_by_dead else ''})"
        + (f", the last {last} s after the kill" if last is not None else "")
        + f"; health checks took it out after {measured['load_balancer_took_it_out_after_seconds']} s"
        + f"; the other node's cluster view dropped it after {measured['cluster_view_without_it_after_seconds']} s"
        + f"; node back {measured['node_back_after_host_up_seconds']} s after `idpkit host up`"
    )
    return Verdict(not problems, outcome + ("" if not problems else ". Missed: " + "; ".join(problems)))


NODE_KILL = Scenario(
    name="node-kill",
    title="Node killed under load",
    fault="`kill -9` of one host's Keycloak (kc.sh and its JVM); its host proxy stays up, as when the JVM dies "
    "on a live instance; the node is brought back by `idpkit host up`",
    goal="No session lost and no refresh token invalidated (sessions survive on the other node); failures "
    "limited to the requests in flight at the kill; the front door stops routing to the dead node",
    inject=_kill_node,
    judge=_judge_node_kill,
    in_short_form=True,
)


# --- signing key rotation ---------------------------------------------------------------------------------


def _rotate_keys(context: Context) -> None:
    run = context.run
    host = run.hosts[0]
    env = signing_key_environment(run, host)
    margin = ROTATION_MARGIN_SECONDS
    rotate = ["keys", "rotate", "--stack", run.stack, "--margin", str(margin)]
    context.mark_fault()
    published = hosts.run(host, rotate, env)
    due = float((published.get("rotation") or {}).get("activate_due_in_seconds", margin))
    time.sleep(due + 1)
    activated = hosts.run(host, rotate, env)
    actions = [*published.get("actions", []), *activated.get("actions", [])]
    if not context.short:
        window = float((activated.get("rotation") or {}).get("retire_due_in_seconds", 0))
        time.sleep(window + 1)
        retired = hosts.run(host, ["keys", "retire", "--stack", run.stack, "--margin", str(margin)], env)
        actions += retired.get("actions", [])
    context.facts["rotation"] = actions
    context.facts["margin_seconds"] = margin
    context.mark_recovered()


def _judge_rotation(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    del context
    validations = [s for s in samples if s.kind == "validation"]
    failed_validations = failures(validations)
    failed = failures(samples)
    sessions = measured["sessions"]
    problems = [
        p
        for p in (
            f"{len(failed_validations)} failed validations ({failure_summary(failed_validations)})"
            if failed_validations
            else None,
            f"{len(failed)} failed requests ({failure_summary(failed)})" if failed else None,
            f"{sessions['lost']} sessions lost" if sessions["lost"] else None,
        )
        if p
    ]
    outcome = (
        f"{len(validations)} validations, {len(failed_validations)} failed; {len(failed)} of "
        f"{measured['total']['requests']} requests failed; stages: {'; '.join(measured['rotation'])}"
    )
    return Verdict(not problems, outcome + ("" if not problems else ". Missed: " + "; ".join(problems)))


KEY_ROTATION = Scenario(
    name="key-rotation",
    title="Signing key rotation across two nodes under load",
    fault="`idpkit keys rotate` from host 1 through STS (publish, then after the margin activate and demote; the "
    "full form also waits out the passive window and runs `idpkit keys retire`), while both nodes serve",
    goal="Zero failed validations: every token validates against the JWKS a resource server fetches through the "
    "load balancer, whichever node signed it and whichever node serves the JWKS; zero failed requests",
    inject=_rotate_keys,
    judge=_judge_rotation,
    in_short_form=True,
)


# --- rolling restart ----------------------------------------------------------------------------------------


def _rolling_restart(context: Context) -> None:
    run = context.run
    context.mark_fault()
    steps = []
    for host in run.hosts:
        context.targets.deregister(host.name)
        time.sleep(faults.DRAIN_SECONDS)
        faults.host_down(run, host)
        seconds = faults.host_up(run, host)
        context.targets.register(host.name)
        in_service = context.targets.wait_in_service(host.name, IN_SERVICE_TIMEOUT)
        steps.append(
            f"{host.name}: deregistered, drained {faults.DRAIN_SECONDS:.0f} s, stopped, ready after {seconds:.0f} s, "
            f"in service {in_service:.0f} s later"
        )
    context.facts["hosts"] = steps
    context.mark_recovered()


def _judge_zero_failures(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    del context
    failed = failures(samples)
    sessions = measured["sessions"]
    met = not failed and not sessions["lost"]
    outcome = (
        f"{len(failed)} of {measured['total']['requests']} requests failed ({failure_summary(failed)}); "
        f"{sessions['lost']} of {sessions['sessions']} sessions lost; " + "; ".join(measured.get("hosts", []))
    )
    return Verdict(met, outcome)


ROLLING_RESTART = Scenario(
    name="rolling-restart",
    title="Rolling restart, node by node (runbooks/keycloak-upgrade.md)",
    fault="Each host in turn: deregistered from the load balancer, drained, its services stopped (SIGTERM), "
    "`idpkit host up`, registered again once ready: what the Auto Scaling instance refresh does",
    goal="Zero failed requests and no session lost",
    inject=_rolling_restart,
    judge=_judge_zero_failures,
)


# --- database restart ---------------------------------------------------------------------------------------


def _restart_database(context: Context) -> None:
    run = context.run
    context.marks["pids"] = {host.name: faults.keycloak_pid(host) for host in run.hosts}
    context.mark_fault()
    faults.stop_database(run)
    time.sleep(DATABASE_DOWN_SECONDS)
    faults.start_database(run)
    context.mark_recovered()
    context.facts["database_down_seconds"] = round(context.recovered_at - context.fault_at, 1)


def _judge_database_restart(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    pids_after = {host.name: faults.keycloak_pid(host) for host in context.run.hosts}
    restarted = [name for name, pid in context.marks["pids"].items() if pids_after.get(name) != pid]
    logins_after = sorted(
        (s for s in samples if s.kind == "login" and s.failure is None and s.ended >= context.recovered_at),
        key=lambda s: s.ended,
    )
    first_login = round(logins_after[0].ended - context.recovered_at, 1) if logins_after else None
    measured["first_login_after_database_up_seconds"] = first_login
    ready_again = {
        host.name: (
            round(sample.at - context.recovered_at, 1)
            if (sample := context.watch.first_ready(host.name, context.recovered_at))
            else None
        )
        for host in context.run.hosts
    }
    not_ready = {
        host.name: (
            round(sample.at - context.fault_at, 1)
            if (sample := context.watch.first_not_ready(host.name, context.fault_at))
            else None
        )
        for host in context.run.hosts
    }
    measured["readiness_down_after_seconds"] = not_ready
    measured["ready_after_database_up_seconds"] = ready_again
    during = [s for s in samples if context.fault_at <= s.started < context.recovered_at]
    sessions = measured["sessions"]
    problems = [
        p
        for p in (
            _no_baseline_failures(measured),
            f"Keycloak restarted on {restarted}" if restarted else None,
            "no login succeeded after the database came back"
            if first_login is None
            else (
                f"first login {first_login} s after the database came back"
                if first_login > LOGIN_AFTER_DATABASE_GOAL_SECONDS
                else None
            ),
            f"{sessions['lost']} sessions lost" if sessions["lost"] else None,
        )
        if p
    ]
    outcome = (
        f"database down {measured['database_down_seconds']} s: {len(failures(during))} of {len(during)} requests "
        f"started meanwhile failed ({failure_summary(during)}); readiness went down after {not_ready} s; first "
        f"successful login {first_login} s after the database accepted connections; Keycloak restarted: "
        f"{restarted or 'no'}; {sessions['lost']} of {sessions['sessions']} sessions lost; failures ended "
        f"{measured['time_to_recover_seconds']} s after the fault"
    )
    return Verdict(not problems, outcome + ("" if not problems else ". Missed: " + "; ".join(problems)))


DATABASE_RESTART = Scenario(
    name="database-restart",
    title="PostgreSQL restart",
    fault=f"PostgreSQL stopped (fast shutdown: every connection dropped, as an RDS reboot or Multi-AZ failover "
    f"does) and started again {DATABASE_DOWN_SECONDS:.0f} s later at the same address",
    goal=f"Keycloak recovers without a restart: a login succeeds within {LOGIN_AFTER_DATABASE_GOAL_SECONDS:.0f} s "
    "of the database accepting connections again; no session lost",
    inject=_restart_database,
    judge=_judge_database_restart,
)


SCENARIOS: tuple[Scenario, ...] = (NODE_KILL, KEY_ROTATION, ROLLING_RESTART, DATABASE_RESTART)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
