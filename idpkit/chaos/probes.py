"""What the kit itself can observe while a fault runs: each host's readiness and metrics on its management
port (what the ALB's target health check and CloudWatch read), and where the load balancer routed.

`HealthWatch` samples every host once a second in a thread; the front door's access log (paths only,
never a query string) names the upstream each request went to.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from idpkit.constants.keycloak import HEALTH_CHECK_PATH, MANAGEMENT_PORT
from idpkit.host import render
from idpkit.rehearsal.hosts import RehearsalHost

PROBE_TIMEOUT = 3.0
WATCHED_METRICS = ("agroal_active_count", "agroal_available_count", "agroal_awaiting_count", "agroal_max_used_count")
"""The database connection pool (Agroal) as Keycloak's /metrics reports it."""
_METRIC_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(?P<value>[-+0-9.eE]+|NaN)$")
# idpkit/local/front_door.py's `no_query` format: address [time] "method path" status protocol verify upstreams.
_ACCESS_LINE = re.compile(
    r'^\S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+)" (?P<status>\d+) \S+ \S+ (?P<upstream>.*)$'
)


class _HostCertificateAdapter(HTTPAdapter):
    """TLS to a host's address, verified against its own certificate and the name it carries (the hosts'
    certificate names `localhost`, not each address; the ALB's probe does not verify at all)."""

    def __init__(self, certificate: Path) -> None:
        self._context = ssl.create_default_context(cafile=str(certificate))
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        kwargs["server_hostname"] = kwargs["assert_hostname"] = render.HOST_NAME
        super().init_poolmanager(*args, **kwargs)


def management_session(host: RehearsalHost) -> requests.Session:
    session = requests.Session()
    session.mount(f"https://{host.address}:{MANAGEMENT_PORT}/", _HostCertificateAdapter(host.layout.host_certificate))
    return session


@dataclass(frozen=True)
class HealthSample:
    at: float
    host: str
    ready: bool
    detail: str
    metrics: dict[str, float]


def probe(host: RehearsalHost, session: requests.Session, timeout: float = PROBE_TIMEOUT) -> HealthSample:
    """One look at a host's management port: readiness (and the failing checks) and the pool's metrics."""
    base = f"https://{host.address}:{MANAGEMENT_PORT}"
    at = time.time()
    try:
        ready = session.get(f"{base}{HEALTH_CHECK_PATH}", timeout=timeout)
    except requests.RequestException as error:
        return HealthSample(at, host.name, False, f"unreachable ({type(error).__name__})", {})
    detail = "UP" if ready.status_code == 200 else f"HTTP {ready.status_code} {_failing_checks(ready)}".strip()
    metrics: dict[str, float] = {}
    try:
        scraped = session.get(f"{base}/metrics", timeout=timeout)
        if scraped.status_code == 200:
            metrics = parse_metrics(scraped.text, WATCHED_METRICS)
    except requests.RequestException:
        pass
    return HealthSample(at, host.name, ready.status_code == 200, detail, metrics)


def _failing_checks(response: requests.Response) -> str:
    try:
        checks = response.json().get("checks", [])
    except ValueError:
        return ""
    return ", ".join(str(c.get("name")) for c in checks if c.get("status") != "UP")


def parse_metrics(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """Prometheus text format: the sum over labels of each named metric present."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC_LINE.match(line.strip())
        if match and match["name"] in names and match["value"] != "NaN":
            values[match["name"]] = values.get(match["name"], 0.0) + float(match["value"])
    return values


@dataclass
class HealthWatch:
    """Every host probed once a second, in a thread, until stopped."""

    hosts: list[RehearsalHost]
    interval: float = 1.0
    samples: list[HealthSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthWatch:
        sessions = {host.name: management_session(host) for host in self.hosts}

        def watch() -> None:
            while not self._stop.is_set():
                for host in self.hosts:
                    self.samples.append(probe(host, sessions[host.name]))
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=watch, daemon=True, name="health-watch")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(PROBE_TIMEOUT * 4)

    def first_not_ready(self, host: str, since: float) -> HealthSample | None:
        return next((s for s in self.samples if s.host == host and s.at >= since and not s.ready), None)

    def first_ready(self, host: str, since: float) -> HealthSample | None:
        return next((s for s in self.samples if s.host == host and s.at >= since and s.ready), None)

    def peak(self, metric: str, since: float) -> float | None:
        values = [s.metrics[metric] for s in self.samples if s.at >= since and metric in s.metrics]
        return max(values) if values else None


@dataclass(frozen=True)
class Routed:
    at: float
    method: str
    path: str
    status: int
    upstreams: tuple[str, ...]


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def routed_since(access_log: Path, offset: int) -> list[Routed]:
    """The front door's access log from byte `offset` on: when, what, status, and each upstream tried."""
    if not access_log.exists():
        return []
    with access_log.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").splitlines()
    entries = []
    for line in lines:
        match = _ACCESS_LINE.match(line)
        if not match:
            continue
        upstreams = tuple(part.strip() for part in re.split(r"[,:]\s", match["upstream"]) if part.strip() != "-")
        entries.append(
            Routed(
                datetime.fromisoformat(match["time"]).timestamp(),
                match["method"],
                match["path"],
                int(match["status"]),
                upstreams,
            )
        )
    return entries


_VIEW_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*ISPN000094: Received new cluster view .*\((?P<members>\d+)\)"
)


def cluster_views(server_log: Path, since: float) -> list[tuple[float, int]]:
    """(time, member count) of every cluster view a node installed since `since` (its log, local time)."""
    if not server_log.exists():
        return []
    views = []
    for line in server_log.read_text(errors="replace").splitlines():
        if (match := _VIEW_LINE.match(line)) is not None:
            at = datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if at >= since:
                views.append((at, int(match["members"])))
    return views
