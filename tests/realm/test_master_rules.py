"""The master rules hold the kit's codified master hardening, and refuse it weakened in any way.

Weakenings come from catalogues, not from a list of cases: every master setting weakened the generic ways
(`codified_settings.weakenings`), every step of master's sign-in flows switched off or made optional, the
break-glass exemption widened. A weakened kit is refused before any write, naming the file that codifies it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idpkit.realm import engine, loader, master_authentication, master_realm, master_rules
from idpkit.realm.bootstrap import ADMIN_CLIENT
from idpkit.realm.located import ConfigError
from idpkit.realm.master_settings import MASTER_REALM, shared_with_phi
from idpkit.realm.model import AuthenticationFlow

MFA = "MASTER-MFA-001"


def _codified() -> master_rules.MasterHardening:
    return master_rules.codified(loader.load("local"))


@pytest.mark.parametrize("environment", loader.ENVIRONMENTS)
def test_the_shipped_master_hardening_breaks_no_rule(environment: str) -> None:
    found = master_rules.findings(master_rules.codified(loader.load(environment)))
    assert not any(found.values()), f"{environment}: master hardening breaks {found}"


def test_every_rule_has_known_requirements_and_a_distinct_id() -> None:
    ids = [metadata.id for metadata, _ in master_rules.MASTER_RULES]
    assert len(set(ids)) == len(ids) and all(i.startswith("MASTER-") for i in ids), ids


def _master_own_paths() -> list[str]:
    return [path for path in _codified().settings if shared_with_phi(path) is None]


@pytest.mark.parametrize("path", _master_own_paths())
def test_every_setting_only_master_holds_is_enforced_by_a_master_rule(path: str) -> None:
    """Master's own settings and the kit admin's: the realm-config rules cannot see them, so a master rule must
    refuse each one weakened."""
    enforced = master_rules.enforcing_rules(_codified())
    assert enforced[path], f"{path}: no master rule refuses any weakening of it"


def _flow_weakenings() -> list[Any]:
    return list(_each_flow_weakening())


def _each_flow_weakening() -> Iterator[Any]:
    """Each enabled step of master's sign-in flows made DISABLED, and each REQUIRED one made ALTERNATIVE."""
    for flow in master_authentication.FLOWS:
        for index, step in enumerate(flow.executions):
            name = step.authenticator or step.flow
            weaker = ["DISABLED"] + (["ALTERNATIVE"] if step.requirement == "REQUIRED" else [])
            for requirement in weaker:
                yield pytest.param(flow.alias, index, requirement, id=f"{flow.alias}-{name}-{requirement}")


def _with_step(alias: str, index: int, update: dict[str, Any]) -> tuple[AuthenticationFlow, ...]:
    def edited(flow: AuthenticationFlow) -> AuthenticationFlow:
        steps = list(flow.executions)
        steps[index] = steps[index].model_copy(update=update)
        return flow.model_copy(update={"executions": steps})

    return tuple(edited(flow) if flow.alias == alias else flow for flow in master_authentication.FLOWS)


# Steps whose loss weakens no sign-in: the SSO cookie (without it every login is a fresh one), the user name check
# of the command line (without it the password check finds no user and refuses), and the code sub-flow's one-time
# code made ALTERNATIVE (the only step left to pass, Keycloak still demands it).
NOT_WEAKENING = {
    ("idpkit-master-browser", 0, "DISABLED"),
    ("idpkit-master-direct-grant", 0, "DISABLED"),
    ("idpkit-master-direct-grant", 0, "ALTERNATIVE"),
    ("idpkit-master-direct-grant-code", 1, "ALTERNATIVE"),
}


@pytest.mark.parametrize(("alias", "index", "requirement"), _flow_weakenings())
def test_a_weakened_sign_in_step_is_refused(alias: str, index: int, requirement: str) -> None:
    hardening = _codified()
    weakened = master_rules.MasterHardening(hardening.settings, _with_step(alias, index, {"requirement": requirement}))
    found = master_rules.findings(weakened)[MFA]
    if (alias, index, requirement) in NOT_WEAKENING:
        assert not found, f"{alias} step {index} {requirement}: refused, though no sign-in gets weaker: {found}"
    else:
        assert found, f"{alias} step {index} made {requirement}: {MFA} does not refuse it"


@pytest.mark.parametrize(
    "config",
    [
        {"condUserRole": master_authentication.BREAK_GLASS_ROLE, "negate": "false"},
        {"condUserRole": "admin", "negate": "true"},
        {"condUserRole": master_authentication.BREAK_GLASS_ROLE},
    ],
    ids=["holders-skip-inverted", "another-role", "negate-unset"],
)
def test_the_break_glass_exemption_cannot_be_widened_or_moved(config: dict[str, str]) -> None:
    hardening = _codified()
    code_flow = next(f for f in master_authentication.FLOWS if f.alias.endswith("-code"))
    condition = next(i for i, e in enumerate(code_flow.executions) if e.authenticator == "conditional-user-role")
    flows = _with_step(code_flow.alias, condition, {"config": config})
    assert master_rules.findings(master_rules.MasterHardening(hardening.settings, flows))[MFA], config


def test_a_weakened_kit_is_refused_before_any_write_naming_the_codifying_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(master_realm.MASTER_ONLY, "sslRequired", "none")
    monkeypatch.setitem(ADMIN_CLIENT, "clientAuthenticatorType", "client-secret")
    with pytest.raises(ConfigError) as caught:
        engine.validate("local")
    found = {(p.file, p.path, p.rule) for p in caught.value.problems}
    assert found == {
        (master_realm.SOURCE, f"{MASTER_REALM}.sslRequired", "MASTER-SESSION-001"),
        ("idpkit/realm/bootstrap.py", "master.clients[idpkit-admin].clientAuthenticatorType", "MASTER-ADMIN-001"),
    }, found
