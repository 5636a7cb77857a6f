"""The fault harness's own logic, without a stack: what it parses, how it counts, how it judges routing.

The scenarios themselves run against a real rehearsal (tests/rehearsal, `idpkit chaos run`); these tests
pin the seams they rely on: the front door's log format, Keycloak's metrics and cluster-view lines, the
target group's health check in the program's graph, and the ALB's health-check and fail-open rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from idpkit.chaos import catalogue, faults, load, probes, report, runner, targets
from idpkit.local import front_door


def _front_door_settings(tmp_path: Path, drained: tuple[str, ...] = ()) -> front_door.FrontDoorSettings:
    return front_door.FrontDoorSettings(
        directory=tmp_path, logs=tmp_path, pid_file=tmp_path / "pid", listen_address="0.0.0.0",  # noqa: S104
        browser_port=443, m2m_port=8443, certificate=tmp_path / "c", certificate_key=tmp_path / "k",
        client_ca_bundle=tmp_path / "ca", crl=tmp_path / "crl", upstream_ca=tmp_path / "u",
        upstream_server_name="localhost", browser_upstreams=("10.0.0.1:8443", "10.0.0.2:8443"),
        m2m_upstreams=("10.0.0.1:8445", "10.0.0.2:8445"), drained_upstreams=drained,
    )  # fmt: skip


def test_access_log_parser_reads_the_front_doors_format(tmp_path: Path) -> None:
    conf = front_door.render_nginx_conf(_front_door_settings(tmp_path))
    assert "'$remote_addr [$time_iso8601] \"$request_method $uri\" $status $ssl_protocol '" in conf, (
        "front door: the access log format changed; idpkit/chaos/probes.py parses it"
    )
    assert "'$ssl_client_verify $upstream_addr';" in conf, "front door: the upstream is no longer logged last"
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.9 [2026-11-29T16:07:10+00:00] "POST /realms/phi/protocol/openid-connect/token" 503 TLSv1.3 '
        "SUCCESS 10.0.0.2:8445\n"
        '10.0.0.9 [2026-11-29T16:07:11+00:00] "GET /realms/phi/protocol/openid-connect/auth" 200 TLSv1.3 NONE '
        "10.0.0.2:8443, 10.0.0.1:8443\n"
    )
    first, second = probes.routed_since(log, 0)
    assert (first.method, first.status, first.upstreams) == ("POST", 503, ("10.0.0.2:8445",))
    assert second.upstreams == ("10.0.0.2:8443", "10.0.0.1:8443"), "a retried request must name both upstreams"
    assert second.at - first.at == 1


@pytest.mark.parametrize("drained", [(), ("10.0.0.2:8443", "10.0.0.2:8445")])
def test_front_door_takes_drained_upstreams_out_of_rotation(tmp_path: Path, drained: tuple[str, ...]) -> None:
    conf = front_door.render_nginx_conf(_front_door_settings(tmp_path, drained))
    for server in ("10.0.0.1:8443", "10.0.0.2:8443", "10.0.0.1:8445", "10.0.0.2:8445"):
        expected = f"server {server} down;" if server in drained else f"server {server} max_fails=1"
        assert expected in conf, f"front door: upstream {server} should read `{expected}`"


def test_pool_metrics_are_summed_over_their_labels() -> None:
    text = (
        "# TYPE agroal_active_count gauge\n"
        'agroal_active_count{datasource="default"} 3.0\n'
        'agroal_active_count{datasource="other"} 2.0\n'
        "agroal_awaiting_count 1.0\n"
        "jvm_threads_live 40\n"
    )
    assert probes.parse_metrics(text, probes.WATCHED_METRICS) == {
        "agroal_active_count": 5.0,
        "agroal_awaiting_count": 1.0,
    }


def test_cluster_views_are_read_from_keycloaks_log(tmp_path: Path) -> None:
    log = tmp_path / "keycloak.log"
    log.write_text(
        "2026-11-29 16:06:41,671 INFO  [org.infinispan.CLUSTER] (jgroups-11,node-a) ISPN000094: Received new "
        "cluster view for channel ISPN: [node-a|2] (1) [node-a]\n"
        "2026-11-29 16:07:22,208 INFO  [org.infinispan.CLUSTER] (jgroups-11,node-a) ISPN000094: Received new "
        "cluster view for channel ISPN: [node-a|3] (2) [node-a, node-b]\n"
    )
    views = probes.cluster_views(log, 0)
    assert [members for _at, members in views] == [1, 2]
    assert round(views[1][0] - views[0][0], 3) == 40.537


def test_requests_count_in_the_window_they_ended_in() -> None:
    samples = [
        load.Sample("login", 0.0, 1.0, None),
        load.Sample("refresh", 9.0, 2.0, "connection error"),  # in flight at the fault (t=10)
        load.Sample("validation", 12.0, 0.1, None),
    ]
    before, after = load.tally(samples, until=10.0), load.tally(samples, since=10.0)
    assert (before["requests"], before["failed"]) == (1, 0), "a request in flight at the fault is not a baseline"
    assert after["failures"] == {"refresh": {"connection error": 1}}


def test_the_health_check_is_the_programs_target_group() -> None:
    pytest.importorskip("pulumi")
    from idpkit.aws_graph import capture  # noqa: PLC0415
    from idpkit.rehearsal.state import Rehearsal  # noqa: PLC0415

    run = Rehearsal.__new__(Rehearsal)
    run.graph = capture("staging")
    check = targets.HealthCheck.of(run)
    declared = [group.inputs["healthCheck"] for group in run.graph.of_type(targets.TARGET_GROUP)]
    assert declared, "the program declares no target group"
    for health in declared:
        assert (check.interval, check.unhealthy_threshold) == (health["interval"], health["unhealthyThreshold"])


class _Host:
    def __init__(self, name: str) -> None:
        self.name = name


class _Run:
    hosts = (_Host("host-1"), _Host("host-2"))


@pytest.fixture
def drains(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    applied: list[tuple[str, ...]] = []
    monkeypatch.setattr(faults, "set_drained", lambda _run, drained: applied.append(drained))
    return applied


def test_a_target_is_taken_out_after_the_unhealthy_threshold(drains: list[tuple[str, ...]]) -> None:
    registry = targets.Targets(_Run(), targets.HealthCheck(15, 5, 2, 3))  # type: ignore[arg-type]
    for ready in (True, False, False):
        registry._observe("host-2", ready)
    assert drains == [], "two failed probes must not take a target out when the threshold is three"
    registry._observe("host-2", False)
    assert drains == [("host-2",)]
    registry._observe("host-2", True)
    assert drains == [("host-2",)], "one good probe must not bring it back when the healthy threshold is two"
    registry._observe("host-2", True)
    assert drains[-1] == ()


def test_the_load_balancer_fails_open_when_every_target_is_unhealthy(drains: list[tuple[str, ...]]) -> None:
    registry = targets.Targets(_Run(), targets.HealthCheck(15, 5, 2, 1))  # type: ignore[arg-type]
    registry._observe("host-1", False)
    registry._observe("host-2", False)
    assert drains == [("host-1",), ()], "with every target unhealthy the ALB routes to all of them"


def test_a_registered_target_waits_for_its_health_checks(drains: list[tuple[str, ...]]) -> None:
    registry = targets.Targets(_Run(), targets.HealthCheck(15, 5, 2, 3))  # type: ignore[arg-type]
    registry.deregister("host-1")
    registry.register("host-1")
    assert drains == [("host-1",), ("host-1",)], "a target registered again gets no traffic before it is healthy"


@pytest.mark.parametrize("scenario", catalogue.SCENARIOS, ids=lambda s: s.name)
def test_every_scenario_states_its_fault_and_goal(scenario: Any) -> None:
    assert scenario.fault and scenario.goal and scenario.title, f"scenario {scenario.name}: fault, goal and title"


def test_the_short_form_is_node_kill_and_key_rotation() -> None:
    assert [s.name for s in runner.selected((), short=True)] == ["node-kill", "key-rotation"]


def test_the_report_is_generated_from_the_recorded_results() -> None:
    results = Path(__file__).parents[2] / runner.RESULTS
    if not results.exists():
        pytest.skip(f"no recorded results yet ({runner.RESULTS})")
    rendered = report.render(json.loads(results.read_text()))
    committed = (Path(__file__).parents[2] / report.REPORT).read_text()
    assert rendered == committed, f"{report.REPORT} is not what `idpkit chaos report` renders: regenerate it"


def _recorded(name: str, checks: dict[str, str | None]) -> dict[str, Any]:
    scenario = catalogue.BY_NAME[name]
    window = {"requests": 1, "by_kind": dict.fromkeys(load.KINDS, 0), "failed": 0, "failures": {}}
    return {
        "name": name, "title": scenario.title, "fault": scenario.fault, "goal": scenario.goal, "short": False,
        "load": "light", "goal_met": all(v is None for v in checks.values()), "checks": checks,
        "outcome": "measured", "seconds": 1.0, "load_average_at_start": "0 / 0 / 0",
        "measured": {"seconds_under_load": 1.0, "before_fault": window, "from_fault": window, "total": window,
                     "sessions": {"sessions": 0, "lost": 0, "lost_after_in_flight_refresh": 0,
                                  "refreshed_at_audit": 0}, "time_to_recover_seconds": 0.0},
    }  # fmt: skip


@pytest.mark.parametrize("scenario", [s for s in catalogue.SCENARIOS if s.known_gaps], ids=lambda s: s.name)
def test_a_missed_part_of_a_goal_carries_its_explanation(scenario: Any) -> None:
    gap = next(iter(scenario.known_gaps))
    rendered = report.render({"machine": {}, "scenarios": {scenario.name: _recorded(scenario.name, {gap: "1"})}})
    closing = rendered.split("## Closing note", 1)[1]
    assert scenario.known_gaps[gap][:60] in closing, f"{scenario.name}: the closing note must explain {gap!r}"


def test_an_unexplained_miss_is_called_a_regression() -> None:
    rendered = report.render({"machine": {}, "scenarios": {"rolling-restart": _recorded(
        "rolling-restart", {"zero failed requests": "3 failed"})}})  # fmt: skip
    assert "Not yet explained: a regression to investigate." in rendered
