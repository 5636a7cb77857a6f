"""Every scenario: its fault, its goal (stated before it runs), how it is injected and how it is judged."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from idpkit.chaos import faults
from idpkit.chaos.load import Sample
from idpkit.chaos.probes import WATCHED_METRICS, cluster_views, log_size, routed_since
from idpkit.chaos.scenarios import Context, Scenario, Verdict, failure_summary, failures, in_flight_at
from idpkit.constants.keycloak import BROWSER_PROXY_PORT, M2M_PROXY_PORT
from idpkit.rehearsal import hosts
from idpkit.rehearsal.checks import signing_key_environment

NODE_DOWN_SECONDS = {True: 15.0, False: 30.0}
"""How long the killed node stays dead before `idpkit host up` brings it back (short form, full)."""
ROTATION_MARGIN_SECONDS = 31
"""Publish-to-activate margin: longer than the resource server's JWKS refetch cooldown (PyJWKClient: 30 s),
or a token with the new kid arrives while its client may not refetch (a 10 s margin failed 8 validations
that way); the kit's default for deployments, 300 s, also covers JWKS caches of 5 minutes."""
ROTATION_FULL_TAIL_SECONDS = 60.0
DATABASE_DOWN_SECONDS = 20.0
IN_SERVICE_TIMEOUT = 180.0
CHANGES_AFTER_BACKUP_SECONDS = 20.0
RESTORED_DATABASE, DAMAGED_DATABASE = "keycloak_restored", "keycloak_damaged"
RTO_GOAL_SECONDS = 900.0
EXHAUSTED_SECONDS = 30.0
LOG_DISK_BYTES = 8 * 2**20
LOG_DISK_HEADROOM_BYTES = 16 * 1024
DISK_FULL_SECONDS = 30.0
DISK_FREED_SECONDS = 10.0
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
    in_doubt = sessions["lost_after_in_flight_refresh"]
    refused = sessions["lost"] - in_doubt
    checks = {
        "healthy before the fault": _no_baseline_failures(measured),
        "failures limited to requests in flight at the kill": (
            f"{len(beyond)} more failed ({failure_summary(beyond)})" if beyond else None
        ),
        "no session lost, no refresh token invalidated": (
            f"{refused} of {sessions['sessions']} refused after their last refresh was answered" if refused else None
        ),
        "no session lost to an unanswered refresh": (
            f"{in_doubt} of {sessions['sessions']} lost after a refresh that got no answer" if in_doubt else None
        ),
    }
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
    return Verdict(checks, outcome)


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
    notes=(
        "On AWS systemd restarts a crashed Keycloak after 15 s (`Restart=on-failure`) and the Auto Scaling "
        "group replaces an instance the ALB reports unhealthy; the rehearsal brings the node back with "
        "`idpkit host up`.",
        "The ALB retries nothing: a request it routes to the dead host before its health check fails is a "
        "failed request. The front door emulation retries idempotent requests (GET) on the other host, so it "
        "hides some of what an ALB would return.",
    ),
    known_gaps={
        "failures limited to requests in flight at the kill": (
            "Two detection windows, not the node's own requests. (1) The load balancer routes to the dead host "
            "until its health check fails `unhealthy_threshold` times `interval` apart: the target groups "
            "declare 15 s x 3 (measured above on the emulation; up to 45 s on AWS, where about half of all "
            "requests go there meanwhile). Follow-up for components/load_balancer.py (issue 15): interval 5 s, "
            "unhealthy threshold 2 (at most 10 s). (2) The surviving node keeps the dead member in its cluster "
            "view until JGroups' heartbeat timeout (FD_ALL3, 40 s): meanwhile every request that writes a "
            "replicated cache entry (a login's authentication session, a private_key_jwt assertion's jti) "
            "waits 15 s for the dead member's acknowledgement and fails (ISPN000427 in the survivor's log). "
            "FD_SOCK2, which would notice a killed JVM's closed connection within a second, holds no "
            "connection between the rehearsal's nodes (only the 7800 transport connection exists). Follow-up: "
            "find why, or render a JGroups stack with a shorter FD_ALL3 timeout."
        ),
        "no session lost to an unanswered refresh": (
            "The same two windows, seen by a session: its refresh reaches the dead node, or waits on the dead "
            "member on the survivor, and the client gets a timeout or a 5xx, but the node has already rotated the "
            "refresh token (RFC 9700 rotation, no reuse allowed). The client still holds the old token, which is "
            "then refused: the session is lost although no session state was. A refresh refused after an "
            "answered one is still a failure of the goal above. Follow-up: the two detection windows above; an "
            "ALB, which retries nothing, makes this more likely, not less."
        ),
    },
)


# --- signing key rotation ---------------------------------------------------------------------------------


def _settle_keys(run: Any) -> str:
    """No rotation in progress (an earlier one, e.g. the rehearsal's own, finished at once): the measured
    rotation then starts from one active kit key, as a scheduled one does."""
    host = run.hosts[0]
    env = signing_key_environment(run, host)
    done = hosts.run(host, ["keys", "rotate", "--stack", run.stack, "--margin", "0"], env)
    retired = hosts.run(host, ["keys", "retire", "--stack", run.stack, "--margin", "0", "--force"], env)
    actions = [*done.get("actions", []), *retired.get("actions", [])]
    return f"{len(actions)} actions to start from one active kit key and no rotation in progress"


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
    context.facts["rotation"] = actions
    context.facts["retire_due_in_seconds"] = (activated.get("rotation") or {}).get("retire_due_in_seconds")
    if not context.short:
        # Tokens of both keys side by side, validated on either node, for a longer while.
        time.sleep(ROTATION_FULL_TAIL_SECONDS)
    context.facts["margin_seconds"] = margin
    context.mark_recovered()


def _judge_rotation(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    del context
    validations = [s for s in samples if s.kind == "validation"]
    failed_validations = failures(validations)
    failed = failures(samples)
    sessions = measured["sessions"]
    rotated = any("is now ACTIVE" in action for action in measured["rotation"])
    checks = {
        "the rotation ran (a new key published, then active)": None if rotated else "no key became active",
        "zero failed validations": (
            f"{len(failed_validations)} failed ({failure_summary(failed_validations)})" if failed_validations else None
        ),
        "zero failed requests": f"{len(failed)} failed ({failure_summary(failed)})" if failed else None,
        "no session lost": f"{sessions['lost']} lost" if sessions["lost"] else None,
    }
    outcome = (
        f"{len(validations)} validations, {len(failed_validations)} failed; {len(failed)} of "
        f"{measured['total']['requests']} requests failed; stages: {'; '.join(measured['rotation'])}"
    )
    return Verdict(checks, outcome)


KEY_ROTATION = Scenario(
    name="key-rotation",
    title="Signing key rotation across two nodes under load",
    fault="`idpkit keys rotate` from host 1 through STS: the new key published, then after the margin made "
    "active and the old one passive, while both nodes serve",
    goal="Zero failed validations: every token validates against the JWKS a resource server fetches through the "
    "load balancer, whichever node signed it and whichever node serves the JWKS; zero failed requests",
    inject=_rotate_keys,
    judge=_judge_rotation,
    in_short_form=True,
    prepare=_settle_keys,
    notes=(
        "The margin must outlast the resource servers' JWKS refetch cooldown: with a 10 s margin a "
        "`PyJWKClient` that had fetched the JWKS just before the new key was published refused 8 tokens for "
        "3 s (PyJWT 2.15 refetches on an unknown kid at most every 30 s). The kit's default margin is 300 s.",
        "Retiring the old key is not exercised under load: the kit keeps it published for the passive "
        "window, which the live realm bounds by its longest session (`retire_due_in_seconds` above; the "
        "offline sessions' 30 days), so tokens it signed never fail. The full form validates both keys' "
        "tokens for another minute after the activation; the short form (CI) stops sooner.",
    ),
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
    checks = {
        "zero failed requests": f"{len(failed)} failed ({failure_summary(failed)})" if failed else None,
        "no session lost": f"{sessions['lost']} lost" if sessions["lost"] else None,
    }
    outcome = (
        f"{len(failed)} of {measured['total']['requests']} requests failed ({failure_summary(failed)}); "
        f"{sessions['lost']} of {sessions['sessions']} sessions lost; " + "; ".join(measured.get("hosts", []))
    )
    return Verdict(checks, outcome)


ROLLING_RESTART = Scenario(
    name="rolling-restart",
    title="Rolling restart, node by node (runbooks/keycloak-upgrade.md)",
    fault="Each host in turn: deregistered from the load balancer, drained, its services stopped (SIGTERM), "
    "`idpkit host up`, registered again once ready: what the Auto Scaling instance refresh does",
    goal="Zero failed requests and no session lost",
    inject=_rolling_restart,
    judge=_judge_zero_failures,
    notes=(
        "On AWS the instance refresh does this order itself (a new host first, the 30 s deregistration delay, "
        "300 s instance warm-up). The rehearsal restarts the same hosts instead of replacing them, with the "
        "version it runs: a schema migration (a minor or major upgrade) is not exercised.",
    ),
)


def _restart_in_place(context: Context) -> None:
    run = context.run
    host = run.hosts[-1]
    context.mark_fault()
    faults.host_down(run, host)
    seconds = faults.host_up(run, host)
    in_service = context.targets.wait_in_service(host.name, IN_SERVICE_TIMEOUT)
    context.facts["hosts"] = [
        f"{host.name}: stopped in service, ready after {seconds:.0f} s, in service {in_service:.0f} s later"
    ]
    context.mark_recovered()


RESTART_IN_PLACE = Scenario(
    name="restart-in-place",
    title="One host restarted in place, without deregistration",
    fault="A host's services stopped (SIGTERM) and started again while the load balancer still routes to it, "
    "as `systemctl restart keycloak` on a host in service does",
    goal="Zero failed requests and no session lost (the contrast to the rolling restart: what the deregistration buys)",
    inject=_restart_in_place,
    judge=_judge_zero_failures,
    known_gaps={
        "zero failed requests": (
            "Expected: until the health check takes the host out, the load balancer keeps sending it requests "
            "that its stopping, then starting, Keycloak cannot answer. Never restart Keycloak in place on a host "
            "in service: runbooks/keycloak-upgrade.md says to deregister it first."
        ),
    },
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
    checks = {
        "healthy before the fault": _no_baseline_failures(measured),
        "Keycloak recovers without a restart": f"restarted on {restarted}" if restarted else None,
        f"a login within {LOGIN_AFTER_DATABASE_GOAL_SECONDS:.0f} s of the database coming back": (
            "no login succeeded afterwards"
            if first_login is None
            else (f"first login after {first_login} s" if first_login > LOGIN_AFTER_DATABASE_GOAL_SECONDS else None)
        ),
        "no session lost": f"{sessions['lost']} lost" if sessions["lost"] else None,
    }
    outcome = (
        f"database down {measured['database_down_seconds']} s: {len(failures(during))} of {len(during)} requests "
        f"started meanwhile failed ({failure_summary(during)}); readiness went down after {not_ready} s; first "
        f"successful login {first_login} s after the database accepted connections; Keycloak restarted: "
        f"{restarted or 'no'}; {sessions['lost']} of {sessions['sessions']} sessions lost; failures ended "
        f"{measured['time_to_recover_seconds']} s after the fault"
    )
    return Verdict(checks, outcome)


DATABASE_RESTART = Scenario(
    name="database-restart",
    title="PostgreSQL restart",
    fault=f"PostgreSQL stopped (fast shutdown: every connection dropped, as an RDS reboot or Multi-AZ failover "
    f"does) and started again {DATABASE_DOWN_SECONDS:.0f} s later at the same address",
    goal=f"Keycloak recovers without a restart: a login succeeds within {LOGIN_AFTER_DATABASE_GOAL_SECONDS:.0f} s "
    "of the database accepting connections again; no session lost",
    inject=_restart_database,
    judge=_judge_database_restart,
    notes=(
        "A Multi-AZ failover looks the same to Keycloak (every connection dropped, the same endpoint back "
        "after 60-120 s); the rehearsal has no standby to promote, so the failover itself is not shown.",
    ),
    known_gaps={
        "no session lost": (
            "Every session whose refresh was attempted while the database was down is lost: Keycloak answers "
            "HTTP 500 but has already counted the refresh token as used, so the client's retry with the same "
            "token is refused (`Maximum allowed refresh token reuse exceeded`, REFRESH_TOKEN_ERROR events) and "
            "the user logs in again. The realm's `refreshTokenMaxReuse: 0` (REALM-REFRESH-001) is what makes "
            "reuse fatal; allowing one reuse would trade replay detection for resilience, so the kit keeps it "
            "and runbooks/database-failover.md tells on-call to expect these re-logins. Follow-up: report "
            "upstream (the use count is recorded although the refresh failed)."
        ),
    },
)


# --- backup and restore -------------------------------------------------------------------------------------


def _backup_and_restore(context: Context) -> None:
    run = context.run
    dump = run.layout.root / "chaos" / "backup.dump"
    started = time.time()
    faults.backup(run, dump)
    context.marks["backup_at"] = started
    context.facts["backup_seconds"] = round(time.time() - started, 1)
    time.sleep(CHANGES_AFTER_BACKUP_SECONDS)
    steps: dict[str, float] = {}

    def timed(name: str, action: Callable[[], object]) -> None:
        began = time.monotonic()
        action()
        steps[name] = round(time.monotonic() - began, 1)

    context.mark_fault()
    context.facts["backup_age_at_restore_decision_seconds"] = round(context.fault_at - started, 1)
    timed("2. hosts scaled to zero", lambda: _each_host(run, faults.host_down))
    context.marks["down_at"] = time.time()
    timed("3. restored to a new database", lambda: faults.restore(run, dump, RESTORED_DATABASE))
    timed("4. swapped by name", lambda: faults.swap_databases(run, RESTORED_DATABASE, DAMAGED_DATABASE))
    timed("4. hosts up", lambda: _each_host(run, faults.host_up))
    timed("5. realm apply", lambda: run.operator("realm", "apply", "--stack", run.stack, "--json"))
    timed("6. keys restore", lambda: _keys(run, ["keys", "restore", "--stack", run.stack]))
    timed("verify: realm plan (no drift)", lambda: run.operator("realm", "plan", "--stack", run.stack, "--json"))
    context.facts["runbook_steps_seconds"] = steps
    context.mark_recovered()
    faults.drop_database(run, DAMAGED_DATABASE)


def _each_host(run: Any, action: Callable[[Any, Any], object]) -> None:
    for host in run.hosts:
        action(run, host)


def _keys(run: Any, command: list[str]) -> None:
    host = run.hosts[0]
    hosts.run(host, command, signing_key_environment(run, host))


def _judge_restore(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    backup_at = context.marks["backup_at"]
    # The first login that began once the hosts were down, i.e. served by the restored database.
    logins_after = sorted(
        (s for s in samples if s.kind == "login" and s.failure is None and s.started >= context.marks["down_at"]),
        key=lambda s: s.ended,
    )
    rto = round(logins_after[0].ended - context.fault_at, 1) if logins_after else None
    # A session changed after the backup when Keycloak issued it a refresh token between the backup and the
    # last host stopping: the restored database knows only the token before (or no session at all).
    changed = {
        number for number, issued, _lost in context.marks["sessions"]
        if any(backup_at <= at < context.marks["down_at"] for at in issued)
    }  # fmt: skip
    lost = {number for number, _issued, why in context.marks["sessions"] if why}
    lost_older = lost - changed
    measured["rto_seconds"] = rto
    measured["rpo"] = {
        "backup_age_at_the_decision_seconds": measured["backup_age_at_restore_decision_seconds"],
        "sessions_changed_after_the_backup": len(changed),
        "of_them_lost": len(lost & changed),
        "sessions_unchanged_since_the_backup": len(context.marks["sessions"]) - len(changed),
        "of_those_lost": len(lost_older),
    }
    changed_after = changed
    checks = {
        "healthy before the fault": _no_baseline_failures(measured),
        f"logins back within {RTO_GOAL_SECONDS:.0f} s (RTO)": (
            "no login after the restore" if rto is None else (f"RTO {rto} s" if rto > RTO_GOAL_SECONDS else None)
        ),
        "nothing older than the backup lost": (
            f"{len(lost_older)} sessions unchanged since the backup lost" if lost_older else None
        ),
    }
    outcome = (
        f"RTO {rto} s from the decision to the first successful login (runbook steps: "
        f"{_value_list(measured['runbook_steps_seconds'])}); RPO: the backup was "
        f"{measured['backup_age_at_restore_decision_seconds']} s old: {len(lost & changed)} of the "
        f"{len(changed_after)} sessions Keycloak issued a refresh token to after it were lost, "
        f"{len(lost_older)} of the {measured['rpo']['sessions_unchanged_since_the_backup']} unchanged since; "
        f"{len(failures(samples))} requests failed during the outage"
    )
    return Verdict(checks, outcome)


def _value_list(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:g} s" for name, seconds in values.items())


BACKUP_RESTORE = Scenario(
    name="backup-restore",
    title="Backup and restore (runbooks/restore-from-backup.md)",
    fault="A backup of the database (`pg_dump`, standing in for RDS's automated backup), "
    f"{CHANGES_AFTER_BACKUP_SECONDS:.0f} s of further logins and refreshes, then the runbook: hosts scaled to zero, "
    "restore to a new database, swap by name, hosts up, `idpkit realm apply`, `idpkit keys restore`, "
    "`idpkit realm plan`",
    goal=f"Logins back within {RTO_GOAL_SECONDS / 60:.0f} minutes of the decision to restore (RTO); nothing "
    "older than the backup lost, and what changed after it (sessions whose refresh token was issued after the "
    "backup) counted (RPO)",
    inject=_backup_and_restore,
    judge=_judge_restore,
    notes=(
        "`pg_dump` stands in for RDS's automated backups and point-in-time restore (whose restore point is at "
        "most about 5 minutes old); restoring to a new database and swapping the names are the runbook's "
        "steps 3-4 on the rehearsal's PostgreSQL. The hosts start one after the other, as the Auto Scaling "
        "group would start them.",
    ),
)


# --- resource exhaustion ------------------------------------------------------------------------------------


def _exhaust_connections(context: Context) -> None:
    run = context.run
    context.mark_fault()
    faults.refuse_connections(run, refuse=True)
    time.sleep(EXHAUSTED_SECONDS)
    faults.refuse_connections(run, refuse=False)
    context.mark_recovered()


def _judge_signal_first(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    """The kit's own signals (readiness on the management port, the pool's metrics) against the first
    failed login: the goal is a signal no later than the first failure."""
    failed = sorted(failures([s for s in samples if s.ended >= context.fault_at]), key=lambda s: s.ended)
    first_failure = round(failed[0].ended - context.fault_at, 1) if failed else None
    during = [s for s in context.watch.samples if context.fault_at <= s.at <= context.recovered_at]
    not_ready = {
        host.name: round(sample.at - context.fault_at, 1)
        for host in context.run.hosts
        if (sample := next((s for s in during if s.host == host.name and not s.ready), None)) is not None
    }
    details = sorted({s.detail for s in during if not s.ready})
    peaks = {metric: context.watch.peak(metric, context.fault_at) for metric in WATCHED_METRICS}
    measured["first_failed_request_after_seconds"] = first_failure
    measured["readiness_down_after_seconds"] = not_ready or "never"
    measured["readiness_answers_while_down"] = details
    measured["pool_metrics_peak"] = {k: v for k, v in peaks.items() if v is not None}
    signal = min(not_ready.values()) if not_ready else None
    in_time = first_failure is None or (signal is not None and signal <= first_failure)
    checks = {
        "readiness down no later than the first failed request": (
            None
            if in_time
            else f"readiness {'never went down' if signal is None else f'down after {signal} s'}, first failure "
            f"after {first_failure} s"
        ),
        "no session lost": f"{measured['sessions']['lost']} lost" if measured["sessions"]["lost"] else None,
    }
    outcome = (
        f"first failed request {first_failure} s after the fault ({failure_summary(failed)}); readiness down "
        f"after {not_ready or 'never'} s ({'; '.join(details) or 'always UP'}); pool metrics peak "
        f"{measured['pool_metrics_peak']}; "
        + "; ".join(f"{k.replace('_', ' ')}: {_value(v)}" for k, v in context.facts.items())
    )
    return Verdict(checks, outcome)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {_value(item)}" for key, item in value.items())
    return str(value)


DATABASE_CONNECTIONS = Scenario(
    name="database-connections",
    title="Database connections exhausted",
    fault=f"For {EXHAUSTED_SECONDS:.0f} s the database accepts no connection from Keycloak's roles (as when "
    "`max_connections` is reached) and the connections its pools hold are closed; then the limit is lifted",
    goal="The kit's health checks say so before logins fail: readiness on the management port (what the load "
    "balancer and CloudWatch read) goes down no later than the first failed request; Keycloak recovers "
    "without a restart and no session is lost",
    inject=_exhaust_connections,
    judge=_judge_signal_first,
    notes=(
        "The fault is sudden (pooled connections closed at once), so requests in flight fail before any probe "
        "can run; readiness is read once a second here. The ALB reads it every 15 s and needs 3 failures, and "
        "with every host unready it fails open: readiness alone takes no host out of service.",
    ),
    known_gaps={
        "readiness down no later than the first failed request": (
            "Readiness (`Keycloak database connections async health check`) went down within the probe's one "
            "second, after the first requests had already failed: no check can precede a sudden loss of every "
            "connection. What the kit can alarm on is readiness itself and the pool's `agroal_awaiting_count`; "
            "issue 15's alarms (wt-aws) should read the targets' health and 5xx count, which move within one "
            "health-check interval."
        ),
        "no session lost": (
            "As in the database restart: refreshes that failed with HTTP 500 burned their refresh token "
            "(`Maximum allowed refresh token reuse exceeded`)."
        ),
    },
)


def _fill_log_disk(context: Context) -> None:
    run = context.run
    host = run.hosts[-1]
    context.targets.deregister(host.name)
    time.sleep(faults.DRAIN_SECONDS)
    faults.host_down(run, host)
    faults.mount_small_log_disk(host, LOG_DISK_BYTES)
    try:
        faults.host_up(run, host)
        context.targets.register(host.name)
        context.targets.wait_in_service(host.name, IN_SERVICE_TIMEOUT)
        context.mark_fault()
        logins_logged = faults.event_lines(host, faults.LOGIN_EVENT)
        context.facts["log_disk_filled_to"] = faults.fill_log_disk(host, LOG_DISK_HEADROOM_BYTES)
        time.sleep(DISK_FULL_SECONDS)
        full = {
            "logins answered": faults.logins_served(run, host, context.fault_at, time.time()),
            "LOGIN events written": faults.event_lines(host, faults.LOGIN_EVENT) - logins_logged,
            "disk": faults.log_disk_usage(host),
            "'No space left on device' in Keycloak's output": faults.disk_errors(host),
        }
        faults.free_log_disk(host)
        context.mark_recovered()
        time.sleep(DISK_FREED_SECONDS)
        answered = faults.logins_served(run, host, context.fault_at, time.time())
        written = faults.event_lines(host, faults.LOGIN_EVENT) - logins_logged
        context.facts["while_full"] = full
        context.facts["until_freed_plus_10_s"] = {"logins answered": answered, "LOGIN events written": written}
        context.facts["login_events_missing"] = answered - written
    finally:
        context.targets.deregister(host.name)
        time.sleep(faults.DRAIN_SECONDS)
        faults.host_down(run, host)
        faults.unmount_log_disk(host)
        faults.host_up(run, host)
        context.targets.register(host.name)
        context.targets.wait_in_service(host.name, IN_SERVICE_TIMEOUT)


def _judge_disk(context: Context, samples: list[Sample], measured: dict[str, Any]) -> Verdict:
    verdict = _judge_signal_first(context, samples, measured)
    unlogged = measured["login_events_missing"]
    silent_loss = unlogged > 0 and measured["readiness_down_after_seconds"] == "never"
    outcome = verdict.outcome + (
        f"; {unlogged} logins went through without their LOGIN event in the log: nothing the kit watches said so"
        if silent_loss
        else ""
    )
    checks = dict(verdict.checks)
    answered = measured["until_freed_plus_10_s"]["logins answered"]
    checks["no audit event lost unnoticed"] = (
        f"{unlogged} of {answered} logins without their event line" if silent_loss else None
    )
    return Verdict(checks, outcome)


LOG_DISK_FULL = Scenario(
    name="log-disk-full",
    title="Disk nearly full for the event log",
    fault="Host 2's log directory (Keycloak's server and event log, which the CloudWatch agent ships) on a "
    f"{LOG_DISK_BYTES // 2**20} MiB file system, filled to {LOG_DISK_HEADROOM_BYTES // 1024} KiB free for "
    f"{DISK_FULL_SECONDS:.0f} s, then freed",
    goal="The kit's health checks or alarms say so before logins fail or audit events are lost: a host that "
    "cannot write its event log stops taking logins, or something the kit watches reports it",
    inject=_fill_log_disk,
    judge=_judge_disk,
    notes=(
        "A small file system mounted on host 2's log directory stands in for a full volume (the machine's own "
        "disk is shared); Keycloak writes its server log and the jboss-logging events there, which the "
        "CloudWatch agent ships to the 6-year event log group.",
    ),
    known_gaps={
        "no audit event lost unnoticed": (
            "Keycloak keeps serving logins when its log file cannot be written: the log handler reports `No "
            "space left on device` once on its console and drops lines (a few are written late once space "
            "returns); readiness stays UP, and the CloudWatch agent configuration the kit renders collects no "
            "disk metric, so no alarm can fire. The events stay in the database's event store (90 days) but "
            "miss the log pipeline that keeps them 6 years (REALM-EVENTS-001). Follow-up, issue 15 (wt-aws) "
            "with idpkit/host/render.py: the agent collects `disk` `used_percent` for the log volume and an "
            "alarm fires at 80 %."
        ),
    },
)


SCENARIOS: tuple[Scenario, ...] = (
    NODE_KILL,
    KEY_ROTATION,
    ROLLING_RESTART,
    RESTART_IN_PLACE,
    DATABASE_RESTART,
    BACKUP_RESTORE,
    DATABASE_CONNECTIONS,
    LOG_DISK_FULL,
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
