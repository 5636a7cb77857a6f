"""The WAF's token rate limit and form exemption against every path spelling Keycloak serves, as measured.

`waf_path_variants.json` is what Keycloak answered to each spelling of the token, PAR and login-action paths
(waf_variants.py sends them to its own port, bypassing every proxy). The web ACL the program declares is
evaluated here with the documented WAF semantics (waf_emulation.py): every spelling Keycloak serves as the
token or PAR endpoint must count against the rate limit, every spelling it serves as a form must keep the
body-rule exemption, and no spelling of another endpoint may do either. The live test re-measures Keycloak,
so an upgrade that changes what it serves fails here until the list is re-recorded.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from aws_stack_graphs import STACKS, graphs
from waf_emulation import Request, matches
from waf_variants import ENDPOINTS, SPELLINGS, load_measured, measure

from components.waf import BODY_RULE_LABELS
from idpkit.keycloak_server import release
from idpkit.outputs import StackOutputs

MEASURED = load_measured()
VARIANTS = cast("list[dict[str, Any]]", MEASURED["variants"])
REALM = str(MEASURED["realm"])
RATE_LIMITED = {"token", "par"}
# Endpoints next to the protected ones, each spelled every way the catalogue knows: neither rule may touch them.
CONTROL_SUFFIXES = (
    "protocol/openid-connect/token/introspect",
    "protocol/openid-connect/userinfo",
    "protocol/openid-connect/auth",
    "protocol/openid-connect/certs",
    "protocol/openid-connect/revoke",
    "protocol/openid-connect/logout",
    "account",
)
CONTROL_PATHS = sorted(
    {make(f"/realms/{REALM}/{suffix}") for suffix in CONTROL_SUFFIXES for make in SPELLINGS.values()}
    | {
        f"/admin/realms/{REALM}/users",
        f"/realms/{REALM}/login-actions/authenticate/../../../admin",
        f"/realms/{REALM}/login-actions/authenticate/..%2F..%2Faccount",
    }
)


def _rule(stack: str, name: str) -> dict[str, Any]:
    (acl,) = graphs()[stack].of_type("aws:wafv2/webAcl:WebAcl")
    (rule,) = [rule for rule in acl.inputs["rules"] if rule["name"] == name]
    return dict(rule)


def rate_limited(stack: str, path: str) -> bool:
    """Whether the request counts against TokenEndpointRateLimit (its scope-down statement matches)."""
    scope = _rule(stack, "TokenEndpointRateLimit")["statement"]["rateBasedStatement"]["scopeDownStatement"]
    return bool(matches(scope, Request(path)))


def body_rules_blocked(stack: str, path: str) -> bool:
    """Whether BlockBodyRulesOutsideForms blocks a request the two counted body rules labelled."""
    statement = _rule(stack, "BlockBodyRulesOutsideForms")["statement"]
    return bool(matches(statement, Request(path, labels=frozenset(BODY_RULE_LABELS))))


def _id(variant: dict[str, Any]) -> str:
    return f"{variant['endpoint']}:{variant['canonical'].rsplit('/', 1)[-1]}:{variant['spelling']}"


SERVED = [variant for variant in VARIANTS if variant["served"]]


def test_the_measured_list_is_for_the_pinned_keycloak() -> None:
    assert MEASURED["keycloak_version"] == release.VERSION, (
        f"waf_path_variants.json was measured on Keycloak {MEASURED['keycloak_version']}, the kit pins "
        f"{release.VERSION}: re-record it (tests/aws/waf_variants.py --write)"
    )
    spellings = {(variant["canonical"], variant["spelling"]) for variant in VARIANTS}
    expected = {(f"/realms/{REALM}/{e.suffix}", spelling) for e in ENDPOINTS for spelling in SPELLINGS}
    assert spellings == expected, "waf_path_variants.json does not cover the current catalogue: re-record it"
    assert {variant["spelling"] for variant in SERVED} >= {"canonical"}, "the canonical paths must be served"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("variant", [v for v in SERVED if v["endpoint"] in RATE_LIMITED], ids=_id)
def test_every_served_token_and_par_spelling_is_rate_limited(stack: str, variant: dict[str, Any]) -> None:
    assert rate_limited(stack, variant["path"]), (
        f"{stack}: Keycloak serves {variant['path']!r} ({variant['spelling']}) as the {variant['endpoint']} "
        "endpoint but TokenEndpointRateLimit does not count it: a rate-limit bypass"
    )


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("variant", SERVED, ids=_id)
def test_every_served_form_spelling_keeps_the_body_rule_exemption(stack: str, variant: dict[str, Any]) -> None:
    assert not body_rules_blocked(stack, variant["path"]), (
        f"{stack}: Keycloak serves {variant['path']!r} ({variant['spelling']}) as a form, but "
        "BlockBodyRulesOutsideForms would block its legitimate bodies"
    )


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_no_spelling_of_another_endpoint_is_rate_limited_or_exempt(path: str) -> None:
    for stack in STACKS:
        assert not rate_limited(stack, path), f"{stack}: {path!r} is not the token or PAR endpoint but is rate limited"
        assert body_rules_blocked(stack, path), f"{stack}: {path!r} is not a Keycloak form but escapes the body rules"


@pytest.mark.local_stack
def test_keycloak_serves_exactly_the_recorded_spellings(applied_realm: StackOutputs) -> None:
    stack = applied_realm
    measured = measure(stack.admin_url, stack.realm, stack.admin_ca_bundle or stack.ca_bundle)
    now = {(v.canonical.replace(stack.realm, REALM, 1), v.spelling): (v.served, v.status) for v in measured}
    recorded = {(v["canonical"], v["spelling"]): (v["served"], v["status"]) for v in VARIANTS}
    changed = {key: (recorded.get(key), value) for key, value in now.items() if recorded.get(key) != value}
    assert not changed, (
        "Keycloak now answers these spellings differently from waf_path_variants.json (recorded, now); "
        f"re-record it with tests/aws/waf_variants.py --write and re-check the WAF rules: {changed}"
    )
