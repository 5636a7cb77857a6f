"""The load balancer's target registry during a scenario: the ALB's active health checks, emulated.

The front door's nginx only checks passively (a host that refuses a connection is skipped for 10 s; a POST
answered 503 by a host proxy whose Keycloak is dead is neither retried nor counted). The ALB probes each
target's management port instead, with the target group's settings, read here from the program's own
graph: a target is taken out after `unhealthy_threshold` failed probes `interval` seconds apart, and a
target registered (again) receives traffic only after `healthy_threshold` good ones. `Targets` applies
both that and the operator's deregistrations to the front door (an nginx reload: in-flight requests finish).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from idpkit.chaos import faults
from idpkit.chaos.probes import management_session, probe
from idpkit.errors import IdpkitError
from idpkit.rehearsal.state import Rehearsal

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


@dataclass(frozen=True)
class HealthCheck:
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int

    @classmethod
    def of(cls, run: Rehearsal) -> HealthCheck:
        """The target groups' health check as the program declares it (they must agree: one host, two ports)."""
        if run.graph is None:
            raise IdpkitError("internal: the rehearsal's graph was not captured")
        checks = {
            cls(
                float(check["interval"]),
                float(check["timeout"]),
                int(check["healthyThreshold"]),
                int(check["unhealthyThreshold"]),
            )
            for group in run.graph.of_type(TARGET_GROUP)
            if (check := group.inputs.get("healthCheck"))
        }
        if len(checks) != 1:
            raise IdpkitError(f"the program's target groups declare {len(checks)} different health checks")
        return checks.pop()

    def describe(self) -> str:
        return (
            f"every {self.interval:g} s, out after {self.unhealthy_threshold} failures, "
            f"in after {self.healthy_threshold} successes"
        )


@dataclass
class Targets:
    """Which hosts the front door routes to: registered by the operator and healthy by the ALB's checks."""

    run: Rehearsal
    check: HealthCheck
    deregistered: set[str] = field(default_factory=set)
    unhealthy: set[str] = field(default_factory=set)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    """(wall-clock time, host, what happened): deregistered, registered, unhealthy, healthy."""
    _streak: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Targets:
        sessions = {host.name: management_session(host) for host in self.run.hosts}

        def check() -> None:
            while not self._stop.is_set():
                for host in self.run.hosts:
                    self._observe(host.name, probe(host, sessions[host.name], self.check.timeout).ready)
                self._stop.wait(self.check.interval)

        self._thread = threading.Thread(target=check, daemon=True, name="target-health")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(self.check.timeout * 3)

    def deregister(self, host: str) -> None:
        with self._lock:
            self.deregistered.add(host)
            self._record(host, "deregistered")

    def register(self, host: str) -> None:
        """Registered again: like a new target, no traffic before it passes `healthy_threshold` checks."""
        with self._lock:
            self.deregistered.discard(host)
            self.unhealthy.add(host)
            self._streak[host] = 0
            self._record(host, "registered")

    def wait_in_service(self, host: str, timeout: float) -> float:
        """Seconds until the front door routes to `host` again."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with self._lock:
                if host not in self.unhealthy and host not in self.deregistered:
                    return time.monotonic() - started
            time.sleep(0.5)
        raise IdpkitError(f"{host} did not pass the load balancer's health checks within {timeout:.0f} s")

    def first(self, host: str, what: str, since: float) -> float | None:
        return next((at for at, name, event in self.events if name == host and event == what and at >= since), None)

    def _observe(self, host: str, ready: bool) -> None:
        with self._lock:
            streak = self._streak.get(host, 0)
            # Positive: consecutive good probes; negative: consecutive failed ones.
            streak = max(streak, 0) + 1 if ready else min(streak, 0) - 1
            self._streak[host] = streak
            if host in self.unhealthy and streak >= self.check.healthy_threshold:
                self.unhealthy.discard(host)
                self._record(host, "healthy")
            elif host not in self.unhealthy and -streak >= self.check.unhealthy_threshold:
                self.unhealthy.add(host)
                self._record(host, "unhealthy")

    def _record(self, host: str, what: str) -> None:
        self.events.append((time.time(), host, what))
        registered = {h.name for h in self.run.hosts} - self.deregistered
        # The ALB fails open: when every registered target is unhealthy, it routes to all of them.
        out = self.deregistered if registered <= self.unhealthy else self.deregistered | self.unhealthy
        faults.set_drained(self.run, tuple(sorted(out)))
