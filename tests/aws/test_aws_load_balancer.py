"""ALB: TLS policy, redirect-only HTTP, mutual TLS on the machine listener, no public admin, logs."""

from __future__ import annotations

import pytest
from aws_stack_graphs import describe, graphs, params

from idpkit.aws_graph import Resource
from idpkit.constants.aws import TLS_POLICIES

LISTENER = "aws:lb/listener:Listener"
ALB = "aws:lb/loadBalancer:LoadBalancer"


@pytest.mark.parametrize(("stack", "listener"), params(LISTENER, where=lambda r: r.inputs["protocol"] == "HTTPS"))
def test_https_listener_names_a_current_tls_policy(stack: str, listener: Resource) -> None:
    assert listener.inputs["sslPolicy"] in TLS_POLICIES.values(), f"{describe(listener)}: TLS policy not pinned"


@pytest.mark.parametrize(
    ("stack", "listener"), params(LISTENER, stacks=("prod",), where=lambda r: r.inputs["protocol"] == "HTTPS")
)
def test_prod_selects_the_fips_policy(stack: str, listener: Resource) -> None:
    assert listener.inputs["sslPolicy"] == TLS_POLICIES["fips"], f"{describe(listener)}: prod stack chose FIPS"


@pytest.mark.parametrize(("stack", "listener"), params(LISTENER, where=lambda r: r.inputs["protocol"] == "HTTP"))
def test_http_only_redirects(stack: str, listener: Resource) -> None:
    (action,) = listener.inputs["defaultActions"]
    assert action["type"] == "redirect" and action["redirect"]["protocol"] == "HTTPS", (
        f"{describe(listener)}: port 80 must only redirect to HTTPS"
    )


@pytest.mark.parametrize(("stack", "listener"), params(LISTENER, where=lambda r: r.name.endswith("-mtls")))
def test_machine_listener_verifies_client_certificates(stack: str, listener: Resource) -> None:
    mutual = listener.inputs["mutualAuthentication"]
    assert mutual["mode"] == "verify", f"{describe(listener)}: mutual TLS must be in verify mode"
    assert mutual["trustStoreArn"], f"{describe(listener)}: no trust store"
    assert mutual["advertiseTrustStoreCaNames"] == "on", f"{describe(listener)}: advertise CA names is 'on'/'off'"
    assert mutual["ignoreClientCertificateExpiry"] is False, f"{describe(listener)}: expired certs accepted"


@pytest.mark.parametrize(("stack", "listener"), params(LISTENER, where=lambda r: r.name.endswith("-https")))
def test_browser_listener_blocks_admin_paths(stack: str, listener: Resource) -> None:
    assert listener.inputs["mutualAuthentication"]["mode"] == "off", f"{describe(listener)}: browsers lack certs"
    rules = [r for r in graphs()[stack].of_type("aws:lb/listenerRule:ListenerRule") if r.name.endswith("-block-admin")]
    assert len(rules) == 1, f"{describe(listener)}: no admin-blocking rule"
    (condition,) = rules[0].inputs["conditions"]
    assert {"/admin/*", "/realms/master/*"} <= set(condition["pathPattern"]["values"]), (
        f"{describe(rules[0])}: /admin and the master realm must not be routed publicly"
    )
    assert rules[0].inputs["actions"][0]["type"] == "fixed-response", f"{describe(rules[0])}: must not forward"


@pytest.mark.parametrize(("stack", "listener"), params(LISTENER, where=lambda r: r.name.endswith("-mtls")))
def test_machine_listener_routes_nothing_by_default(stack: str, listener: Resource) -> None:
    assert listener.inputs["defaultActions"][0]["type"] == "fixed-response", (
        f"{describe(listener)}: only the realm's protocol endpoints may be routed"
    )


@pytest.mark.parametrize(("stack", "alb"), params(ALB))
def test_invalid_headers_dropped(stack: str, alb: Resource) -> None:
    assert alb.inputs["dropInvalidHeaderFields"] is True, f"{describe(alb)}: drop_invalid_header_fields off"


@pytest.mark.parametrize(("stack", "alb"), params(ALB))
@pytest.mark.parametrize("log_kind", ["accessLogs", "connectionLogs"])
def test_load_balancer_logs_enabled(stack: str, alb: Resource, log_kind: str) -> None:
    assert alb.inputs[log_kind]["enabled"] is True, f"{describe(alb)}: {log_kind} disabled (HIPAA 164.312(b))"
    assert "-logs-alb-bucket" in alb.inputs[log_kind]["bucket"], f"{describe(alb)}: {log_kind} not in the SSE-S3 bucket"


@pytest.mark.parametrize(("stack", "alb"), params(ALB, stacks=("prod",)))
def test_prod_load_balancer_deletion_protection(stack: str, alb: Resource) -> None:
    assert alb.inputs["enableDeletionProtection"] is True, f"{describe(alb)}: prod needs deletion protection"


@pytest.mark.parametrize(("stack", "store"), params("aws:lb/trustStore:TrustStore"))
def test_trust_store_pins_a_versioned_bundle(stack: str, store: Resource) -> None:
    assert store.inputs["caCertificatesBundleS3ObjectVersion"], f"{describe(store)}: CA bundle version not pinned"
    revocations = graphs()[stack].of_type("aws:lb/trustStoreRevocation:TrustStoreRevocation")
    assert len(revocations) == 1 and revocations[0].inputs["revocationsS3ObjectVersion"], (
        f"{describe(store)}: needs a trust store revocation list (CRL) with a pinned version"
    )
