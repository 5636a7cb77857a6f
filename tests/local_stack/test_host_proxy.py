"""The host-local proxy (the same nginx blocks on AWS hosts): which client address Keycloak records."""

from __future__ import annotations

import secrets
import time

import requests

from idpkit.keycloak_admin import AdminApi, connect, urls
from idpkit.local.layout import LocalLayout
from idpkit.outputs import StackOutputs, load_admin_credentials

LOAD_BALANCER_APPENDED = "198.51.100.7"
CLIENT_FORGED = "203.0.113.66"


def test_keycloak_records_the_address_the_load_balancer_appended(
    applied_realm: StackOutputs, local_layout: LocalLayout
) -> None:
    """Audit events (HIPAA 164.312(b)) must not carry an address the client chose in X-Forwarded-For."""
    live_stack = applied_realm
    probe_client = f"xff-probe-{secrets.token_hex(4)}"
    host_proxy = f"https://localhost:{local_layout.ports.host_proxy_browser}"
    url = f"{host_proxy}/realms/{live_stack.realm}/protocol/openid-connect/token"
    response = requests.post(
        url, data={"grant_type": "client_credentials", "client_id": probe_client},
        headers={"X-Forwarded-For": f"{CLIENT_FORGED}, {LOAD_BALANCER_APPENDED}"},
        verify=live_stack.ca_bundle, timeout=15,
    )  # fmt: skip
    assert response.status_code in (400, 401), f"{url}: unknown client {probe_client} got {response.status_code}"
    api = AdminApi(connect(live_stack, load_admin_credentials(live_stack)), live_stack.realm)
    deadline = time.monotonic() + 10
    events: list[dict[str, object]] = []
    while not events and time.monotonic() < deadline:
        events = api.get(api.path(urls.EVENTS), client=probe_client) or []
        time.sleep(0.5)
    assert events, f"realm {live_stack.realm}: no event recorded for the failed login of {probe_client}"
    addresses = {event.get("ipAddress") for event in events}
    assert addresses == {LOAD_BALANCER_APPENDED}, (
        f"realm {live_stack.realm}: event address {addresses}, expected the load balancer's {LOAD_BALANCER_APPENDED}"
    )
