"""How people sign in to the master realm: a password and a one-time code, every time (HIPAA 164.312(d)).

Master's browser flow (the admin console) asks every user for a password and a TOTP code; a person with no
TOTP yet enrols one (CONFIGURE_TOTP) before the login finishes. Master's direct-grant flow (`admin-cli`,
kcadm) asks for the code too (`totp` form field), so a password alone never yields an administrator's token.

The one named exception is the break-glass account (the bootstrap admin, whose password is held in the
stack's secret store and read only in an emergency or by a staging smoke run): it holds `BREAK_GLASS_ROLE`,
and the direct-grant flow skips the code for holders of that role, so the kit's own `--break-glass`
commands run unattended. Its console login still needs a code. The role is granted to the account the
session is logged in as, before the flows are bound, so the binding never locks the kit out of master.
Only users and roles of `master` are involved: the PHI realm's people sign in by `idpkit-browser`.
"""

from __future__ import annotations

import dataclasses

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, ApiError, urls
from idpkit.realm.changes import ROLE, USER, Change, Write, ref
from idpkit.realm.diff import FieldChange
from idpkit.realm.kinds import flows
from idpkit.realm.kinds.base import OWNED_DESCRIPTION_PREFIX, Context
from idpkit.realm.model import AuthenticationExecution, AuthenticationFlow, RealmDocument
from idpkit.realm.secrets import SecretStore

BREAK_GLASS_ROLE = "idpkit-break-glass"
BREAK_GLASS_ROLE_DESCRIPTION = (
    OWNED_DESCRIPTION_PREFIX + "The break-glass account: its command-line logins (direct grant) take no one-time "
    "code; its console logins do. Grant it to no person (idpkit/realm/master_authentication.py)."
)
BROWSER_FLOW = "idpkit-master-browser"
DIRECT_GRANT_FLOW = "idpkit-master-direct-grant"
BINDINGS = {"browserFlow": BROWSER_FLOW, "directGrantFlow": DIRECT_GRANT_FLOW}
"""Master realm fields -> the flow they bind (planned with master's settings, after the flows exist)."""
_FORMS = f"{BROWSER_FLOW}-forms"
_CODE = f"{DIRECT_GRANT_FLOW}-code"


def _step(requirement: str, *, authenticator: str | None = None, flow: str | None = None,
          config: dict[str, str] | None = None) -> AuthenticationExecution:  # fmt: skip
    return AuthenticationExecution.model_validate(
        {"authenticator": authenticator, "flow": flow, "requirement": requirement, "config": config}
    )


FLOWS = (
    AuthenticationFlow(
        alias=BROWSER_FLOW,
        description="Master console login - the session's cookie, or a password and a one-time code",
        executions=[_step("ALTERNATIVE", authenticator="auth-cookie"), _step("ALTERNATIVE", flow=_FORMS)],
    ),
    AuthenticationFlow(
        alias=_FORMS,
        description="A password and a TOTP code; a person with no TOTP enrols one before the login finishes",
        top_level=False,
        executions=[
            _step("REQUIRED", authenticator="auth-username-password-form"),
            _step("REQUIRED", authenticator="auth-otp-form"),
        ],
    ),
    AuthenticationFlow(
        alias=DIRECT_GRANT_FLOW,
        description="Master command-line login - a password and a TOTP code (the break-glass account: no code)",
        executions=[
            _step("REQUIRED", authenticator="direct-grant-validate-username"),
            _step("REQUIRED", authenticator="direct-grant-validate-password"),
            _step("CONDITIONAL", flow=_CODE),
        ],
    ),
    AuthenticationFlow(
        alias=_CODE,
        description=f"A TOTP code from everyone but holders of {BREAK_GLASS_ROLE}",
        top_level=False,
        executions=[
            _step(
                "REQUIRED",
                authenticator="conditional-user-role",
                config={"condUserRole": BREAK_GLASS_ROLE, "negate": "true"},
            ),
            _step("REQUIRED", authenticator="direct-grant-validate-otp"),
        ],
    ),
)
SOURCE = "idpkit/realm/master_authentication.py"
ROLE_KIND, GRANT_KIND, FLOW_KIND = "masterRole", "masterRoleGrant", "masterAuthenticationFlow"
KINDS = frozenset({ROLE_KIND, GRANT_KIND, FLOW_KIND})
_NOT_FOUND = 404


def changes(master: AdminApi, signed_in_as: str | None) -> list[Change]:
    """What brings master's sign-in to `FLOWS`: the break-glass role, its grant to `signed_in_as` (the user master
    is logged in as, when a person's login; the kit's service account cannot read users), and the flows."""
    found: list[Change] = []
    role_exists = _role_exists(master)
    if not role_exists:
        body = {"name": BREAK_GLASS_ROLE, "description": BREAK_GLASS_ROLE_DESCRIPTION}
        write = Write("POST", urls.ROLES, {}, body, target="master")
        found.append(Change(ROLE_KIND, f"{ADMIN_REALM}/{BREAK_GLASS_ROLE}", "create", [], [write]))
    if signed_in_as is not None and not (role_exists and _holds_role(master, signed_in_as)):
        write = Write("POST", urls.USER_REALM_ROLES, {"id": ref(USER, signed_in_as)}, [ref(ROLE, BREAK_GLASS_ROLE)],
                      target="master")  # fmt: skip
        field = FieldChange("realmRoles", None, [BREAK_GLASS_ROLE])
        found.append(Change(GRANT_KIND, f"{ADMIN_REALM}/{signed_in_as}", "update", [field], [write]))
    return found + _flow_changes(master)


def _role_exists(master: AdminApi) -> bool:
    try:
        master.get(master.path(urls.ROLE, name=BREAK_GLASS_ROLE))
    except ApiError as error:
        if error.status == _NOT_FOUND:
            return False
        raise
    return True


def _holds_role(master: AdminApi, username: str) -> bool:
    users = master.get(master.path(urls.USERS), username=username, exact="true") or []
    user = next((u for u in users if u["username"] == username), None)
    if user is None:
        return False
    held = master.get(master.path(urls.USER_REALM_ROLES, id=user["id"])) or []
    return any(role["name"] == BREAK_GLASS_ROLE for role in held)


def _flow_changes(master: AdminApi) -> list[Change]:
    document = RealmDocument.model_validate({"authenticationFlows": [f.model_dump(by_alias=True) for f in FLOWS]})
    # Master holds no other flow the kit owns: nothing of it is pruned, and nothing reported as unmanaged.
    ctx = Context(document, master, SecretStore(ADMIN_REALM, generate=False), prune=False)
    return [
        dataclasses.replace(
            change,
            kind=FLOW_KIND,
            name=f"{ADMIN_REALM}/{change.name}",
            writes=[dataclasses.replace(write, target="master") for write in change.writes],
        )
        for change in flows.diff(ctx)
    ]
