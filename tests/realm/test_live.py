"""Against the real local stack: create, no-op re-apply, plan precision, drift, runtime enforcement, convergence."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from idpkit.keycloak_admin import KILL_AFTER_WRITES_ENV, AdminApi, urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine
from idpkit.smoke import oauth
from tests.realm.helpers import edit, run_realm, scratch_project

pytestmark = pytest.mark.local_stack


@pytest.fixture(scope="module")
def applied(live_stack: StackOutputs) -> StackOutputs:
    """The shipped local configuration applied (creates the realm on a fresh stack)."""
    completed = run_realm("apply", "--stack", "local", "--json")
    assert completed.returncode == 0, f"realm apply failed: {completed.stderr}"
    return live_stack


@pytest.fixture
def admin(applied: StackOutputs) -> AdminApi:
    return engine.Session.open(applied).realm


def _plan(*args: str, project: Path | None = None) -> tuple[int, dict[str, Any]]:
    completed = run_realm(*args, "--stack", "local", "--json", project=project)
    assert completed.returncode in (0, 2), f"realm {args[0]} failed: {completed.stderr}"
    return completed.returncode, json.loads(completed.stdout)


def _client(admin: AdminApi, client_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = admin.get(admin.path(urls.CLIENTS), clientId=client_id)
    return found[0]


def test_apply_creates_the_realm_and_is_in_sync(applied: StackOutputs) -> None:
    code, plan = _plan("plan")
    assert code == 0 and plan["in_sync"], f"realm {applied.realm}: not in sync after apply: {plan['changes']}"


def test_second_apply_makes_zero_writes(applied: StackOutputs) -> None:
    completed = run_realm("apply", "--stack", "local", "--json")
    writes = json.loads(completed.stdout)["writes"]
    assert writes["total"] == 0, f"realm {applied.realm}: no-op apply made writes {writes}"


def test_plan_shows_exactly_the_changed_field(applied: StackOutputs, tmp_path: Path) -> None:
    edit(
        scratch_project(tmp_path),
        "base/clients.yaml",
        lambda data: next(c for c in data["clients"] if c["clientId"] == "phi-patient-app").__setitem__(
            "redirectUris", ["https://patient-app.example.org/callback2"]
        ),
    )
    code, plan = _plan("plan", project=tmp_path)
    changed = [(c["kind"], c["name"], [f["field"] for f in c["fields"]]) for c in plan["changes"]]
    assert code == 2, "plan must exit 2 when a change is pending"
    assert changed == [("client", "phi-patient-app", ["redirectUris"])], f"plan shows {changed}"


def test_manual_change_is_reported_as_drift(applied: StackOutputs, admin: AdminApi) -> None:
    client = _client(admin, "smoke-web")
    admin.put(
        admin.path(urls.CLIENT, id=client["id"]),
        {**client, "consentRequired": True, "redirectUris": ["https://evil.example.org/cb"]},
    )
    try:
        code, drift = _plan("drift")
        fields = {(c["name"], f["field"]) for c in drift["changes"] for f in c["fields"]}
        assert code == 2, "drift must exit 2 after a manual change"
        assert ("smoke-web", "redirectUris") in fields, f"drift misses smoke-web redirectUris: {fields}"
    finally:
        assert run_realm("apply", "--stack", "local").returncode == 0
    assert _plan("drift")[0] == 0, "apply did not repair the manual change"


@pytest.fixture
def hand_made_client(admin: AdminApi) -> Iterator[str]:
    """A public client made as an admin might in the console: implicit on, no PKCE setting."""
    client_id = f"hand-made-{secrets.token_hex(4)}"
    response = admin.post(
        admin.path(urls.CLIENTS),
        {
            "clientId": client_id,
            "publicClient": True,
            "standardFlowEnabled": True,
            "implicitFlowEnabled": True,
            "redirectUris": ["https://hand-made.example.org/cb"],
        },
    )
    created = admin.created_id(response)
    yield client_id
    admin.delete(admin.path(urls.CLIENT, id=created))


def _authorize(stack: StackOutputs, client_id: str, **params: str) -> tuple[int, dict[str, list[str]]]:
    """A pushed authorization request of `client_id` and where opening it ends: (status, redirect parameters)."""
    redirect_uri = "https://hand-made.example.org/cb"
    request = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid", "state": "s", "nonce": "n"}
    discovery = requests.get(f"{stack.issuer}/.well-known/openid-configuration", verify=stack.tls_verify, timeout=30)
    endpoints = oauth.Endpoints.from_discovery(discovery.json())
    client = oauth.Client.public(client_id, redirect_uri)  # binds the code to a key, as the realm demands
    pushed = oauth.push(endpoints, client, request | params, verify=stack.tls_verify)
    if pushed.request_uri is None:
        return pushed.response.status_code, {"error": [pushed.error or ""]}
    browser = requests.Session()
    response = browser.get(
        endpoints.authorization, params=pushed.authorization_params, allow_redirects=False, verify=stack.tls_verify,
        timeout=30,
    )  # fmt: skip
    location = response.headers.get("Location", "")
    if location.startswith(stack.issuer):  # a pushed request is opened by a redirect to the realm's login page
        response = browser.get(location, allow_redirects=False, verify=stack.tls_verify, timeout=30)
        location = response.headers.get("Location", "")
    returned = urlsplit(location)
    return response.status_code, parse_qs(returned.query or returned.fragment)


def test_hand_made_client_is_drift(applied: StackOutputs, hand_made_client: str) -> None:
    code, drift = _plan("drift")
    assert code == 2 and any(hand_made_client in note for note in drift["unmanaged"]), (
        f"drift does not report the unmanaged client {hand_made_client}"
    )


@pytest.mark.parametrize(
    ("case", "params"),
    [
        ("implicit", {"response_type": "token"}),
        ("code-without-pkce", {"response_type": "code"}),
        (
            "code-with-plain-pkce",
            {"response_type": "code", "code_challenge": "x" * 43, "code_challenge_method": "plain"},
        ),
    ],
)
def test_hand_made_client_cannot_bypass_policies(
    applied: StackOutputs, hand_made_client: str, case: str, params: dict[str, str]
) -> None:
    status, returned = _authorize(applied, hand_made_client, **params)
    assert "code" not in returned and "access_token" not in returned, (
        f"client {hand_made_client}: {case} was not rejected (REALM-PKCE-001/REALM-IMPLICIT-001)"
    )
    assert status == 400 or "error" in returned, f"client {hand_made_client}: {case} got HTTP {status} {returned}"


def test_hand_made_client_can_use_code_with_s256(applied: StackOutputs, hand_made_client: str) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    status, returned = _authorize(
        applied, hand_made_client, response_type="code", code_challenge=challenge, code_challenge_method="S256"
    )
    assert status == 200 and not returned, f"client {hand_made_client}: compliant request not shown a login page"


def test_killed_apply_converges(applied: StackOutputs, admin: AdminApi) -> None:
    for client_id in ("smoke-device", "smoke-spa"):
        admin.delete(admin.path(urls.CLIENT, id=_client(admin, client_id)["id"]))
    killed = run_realm("apply", "--stack", "local", env={KILL_AFTER_WRITES_ENV: "1"})
    assert killed.returncode == -9, f"apply was expected to be killed after 1 write: {killed.stderr}"
    assert run_realm("apply", "--stack", "local").returncode == 0
    code, plan = _plan("plan")
    assert code == 0, f"realm {applied.realm}: killed apply did not converge: {plan['changes']}"


def test_insecure_files_are_refused_before_any_write(applied: StackOutputs, tmp_path: Path) -> None:
    edit(scratch_project(tmp_path), "base/realm.yaml", lambda data: data["realm"].__setitem__("sslRequired", "none"))
    completed = run_realm("apply", "--stack", "local", "--json", project=tmp_path)
    assert completed.returncode == 1, "an insecure file must fail apply"
    assert "realm-config/base/realm.yaml: realm.sslRequired: [REALM-TLS-001]" in completed.stderr, completed.stderr
    assert _plan("plan")[0] == 0, "a refused apply changed the realm"


# --- service accounts' realm roles and federated identity links -----------------------------------

KIT_ROLES = {"phi-demographics", "phi-observations", "phi-medications", "phi-conditions"}
ASSERTION_PROVIDER = "smoke-assertions"
CLINICIAN = "smoke-clinician"


def _service_account(admin: AdminApi, client_id: str) -> dict[str, Any]:
    account: dict[str, Any] = admin.get(admin.path(urls.CLIENT_SERVICE_ACCOUNT, id=_client(admin, client_id)["id"]))
    return account


def _roles(admin: AdminApi, user_id: str) -> set[str]:
    return {r["name"] for r in admin.get(admin.path(urls.USER_REALM_ROLES, id=user_id)) or []}


def _role(admin: AdminApi, name: str) -> dict[str, Any]:
    role: dict[str, Any] = next(r for r in admin.get(admin.path(urls.ROLES)) if r["name"] == name)
    return role


def _fields(plan: dict[str, Any], kind: str, name: str) -> dict[str, tuple[Any, Any]]:
    return {
        f["field"]: (f["live"], f["desired"])
        for c in plan["changes"]
        if (c["kind"], c["name"]) == (kind, name)
        for f in c["fields"]
    }


def test_service_accounts_hold_their_scopes_roles_and_reapply_is_a_noop(applied: StackOutputs, admin: AdminApi) -> None:
    expected = {"smoke-backend": {"phi-observations"}, "smoke-mtls": KIT_ROLES, "phi-backend": {"phi-observations"}}
    for client_id, roles in expected.items():
        held = _roles(admin, _service_account(admin, client_id)["id"])
        assert held & KIT_ROLES == roles, f"service account of {client_id} holds {held}, expected {roles}"
        assert f"default-roles-{applied.realm}" in held, f"{client_id}: the kit touched a role it does not own"
    completed = run_realm("apply", "--stack", "local", "--json")
    writes = json.loads(completed.stdout)["writes"]
    assert writes["total"] == 0, f"re-apply with service-account roles in place made writes {writes}"


def test_role_removed_from_a_service_account_is_drift(applied: StackOutputs, admin: AdminApi) -> None:
    account = _service_account(admin, "smoke-backend")
    admin.delete(admin.path(urls.USER_REALM_ROLES, id=account["id"]), [_role(admin, "phi-observations")])
    try:
        code, drift = _plan("drift")
        fields = _fields(drift, "serviceAccount", "service-account-smoke-backend")
        assert code == 2, "drift must exit 2 after a service account lost a role"
        assert fields == {"realmRoles": ([], ["phi-observations"])}, f"drift shows {fields}"
    finally:
        assert run_realm("apply", "--stack", "local").returncode == 0
    assert "phi-observations" in _roles(admin, account["id"]), "apply did not grant the role back"
    assert _plan("drift")[0] == 0, "apply did not repair the service account"


def test_role_granted_by_hand_is_drift_and_revoked_only_with_prune(applied: StackOutputs, admin: AdminApi) -> None:
    account = _service_account(admin, "smoke-backend")
    admin.post(admin.path(urls.USER_REALM_ROLES, id=account["id"]), [_role(admin, "phi-conditions")])
    try:
        revoke = {"realmRoles": (["phi-conditions", "phi-observations"], ["phi-observations"])}
        code, drift = _plan("drift")
        assert code == 2, "drift must exit 2 after a role was granted by hand"
        assert _fields(drift, "serviceAccount", "service-account-smoke-backend") == revoke, "drift misses the role"
        _code, plan = _plan("plan")
        assert not _fields(plan, "serviceAccount", "service-account-smoke-backend"), "plan revokes without --prune"
        assert any(
            "service-account-smoke-backend" in note and "phi-conditions" in note for note in plan["unmanaged"]
        ), f"plan does not report the hand-granted role: {plan['unmanaged']}"
        _code, pruning = _plan("plan", "--prune")
        assert _fields(pruning, "serviceAccount", "service-account-smoke-backend") == revoke, "--prune keeps the role"
    finally:
        admin.delete(admin.path(urls.USER_REALM_ROLES, id=account["id"]), [_role(admin, "phi-conditions")])
    assert _plan("drift")[0] == 0, "the service account is still drifted"


def _clinician_links(admin: AdminApi) -> tuple[str, dict[str, dict[str, Any]]]:
    user = admin.get(admin.path(urls.USERS), username=CLINICIAN, exact="true")[0]
    links = admin.get(admin.path(urls.USER_FEDERATED_IDENTITIES, id=user["id"])) or []
    return user["id"], {link["identityProvider"]: link for link in links}


def test_federated_identity_link_is_created_and_idempotent(applied: StackOutputs, admin: AdminApi) -> None:
    user_id, links = _clinician_links(admin)
    assert links.get(ASSERTION_PROVIDER, {}).get("userId") == CLINICIAN, f"{CLINICIAN} links: {links}"
    link_url = admin.path(urls.USER_FEDERATED_IDENTITY, id=user_id, alias=ASSERTION_PROVIDER)
    admin.delete(link_url)
    admin.post(link_url, {"identityProvider": ASSERTION_PROVIDER, "userId": "someone-else", "userName": "x"})
    try:
        code, drift = _plan("drift")
        fields = _fields(drift, "user", CLINICIAN)
        assert code == 2, "drift must exit 2 after a hand-changed link"
        assert fields == {
            f"federatedIdentities[{ASSERTION_PROVIDER}]": (
                {"userId": "someone-else", "userName": "x"},
                {"userId": CLINICIAN, "userName": CLINICIAN},
            )
        }, f"drift shows {fields}"
    finally:
        assert run_realm("apply", "--stack", "local").returncode == 0
    assert _clinician_links(admin)[1][ASSERTION_PROVIDER]["userId"] == CLINICIAN, "apply did not restore the link"
    writes = json.loads(run_realm("apply", "--stack", "local", "--json").stdout)["writes"]
    assert writes["total"] == 0, f"re-apply with the link in place made writes {writes}"


def test_killed_apply_converges_for_a_service_account(applied: StackOutputs, admin: AdminApi) -> None:
    admin.delete(admin.path(urls.CLIENT, id=_client(admin, "smoke-mtls")["id"]))  # its service account goes too
    killed = run_realm("apply", "--stack", "local", env={KILL_AFTER_WRITES_ENV: "1"})
    assert killed.returncode == -9, f"apply was expected to be killed after 1 write: {killed.stderr}"
    assert run_realm("apply", "--stack", "local").returncode == 0
    code, plan = _plan("plan")
    assert code == 0, f"killed apply did not converge: {plan['changes']}"
    assert _roles(admin, _service_account(admin, "smoke-mtls")["id"]) & KIT_ROLES == KIT_ROLES


def test_a_one_field_realm_update_keeps_what_keycloak_resets(applied: StackOutputs, admin: AdminApi) -> None:
    """Keycloak resets the device-code lifetime on any realm update that leaves it out; apply carries it."""
    live = admin.get(admin.path(urls.REALM))
    carried = {name: live[name] for name in ("oauth2DeviceCodeLifespan", "oauth2DevicePollingInterval")}
    admin.put(admin.path(urls.REALM), {"maxDeltaTimeSeconds": 60, **carried})
    first = json.loads(run_realm("apply", "--stack", "local", "--json").stdout)["writes"]["total"]
    second = json.loads(run_realm("apply", "--stack", "local", "--json").stdout)["writes"]["total"]
    assert (first, second) == (1, 0), f"realm {applied.realm}: restoring one field took {first} then {second} write(s)"
    assert admin.get(admin.path(urls.REALM))["oauth2DeviceCodeLifespan"] == carried["oauth2DeviceCodeLifespan"]


def test_one_webauthn_field_is_restored_without_resetting_the_rest_of_the_policy(
    applied: StackOutputs, admin: AdminApi
) -> None:
    """Keycloak applies a WebAuthn policy only from an update naming its relying party, and resets every field
    the update leaves out: apply writes the whole policy, so restoring one field keeps the others."""
    live = admin.get(admin.path(urls.REALM))
    policy = {k: v for k, v in live.items() if k.startswith("webAuthnPolicy") and "Passwordless" not in k}
    admin.put(admin.path(urls.REALM), {**policy, "webAuthnPolicyUserVerificationRequirement": "discouraged"})
    first = json.loads(run_realm("apply", "--stack", "local", "--json").stdout)["writes"]["total"]
    second = json.loads(run_realm("apply", "--stack", "local", "--json").stdout)["writes"]["total"]
    restored = {k: v for k, v in admin.get(admin.path(urls.REALM)).items() if k in policy}
    assert (first, second) == (1, 0), f"realm {applied.realm}: restoring one field took {first} then {second} write(s)"
    assert restored == policy, f"realm {applied.realm}: the WebAuthn policy after apply differs: {restored}"
