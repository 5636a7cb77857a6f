"""Unique user identification (HIPAA 164.312(a)(2)(i)): one e-mail per user, user names that never change.

Tried on users created at run time through the admin API, whose user profile enforces what the
realm settings say for administrators and users alike.
"""

from __future__ import annotations

from idpkit.keycloak_admin import AdminApi, ApiError, urls
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.throwaway import Throwaway

CLIENT = "smoke-spa"


def _update(admin: AdminApi, user_id: str, **fields: str) -> str | None:
    """Update the user; the refusal, or None when Keycloak accepted it."""
    current = admin.get(admin.path(urls.USER, id=user_id))
    try:
        admin.put(admin.path(urls.USER, id=user_id), {**current, **fields})
    except ApiError as error:
        if error.status >= 500:
            raise
        return str(error)
    return None


@check(
    "SMOKE-IDENTITY-001",
    "An e-mail address identifies one user: a second user cannot take it",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
    risk="Two accounts sharing an address confuse password resets, identity-provider links and audit trails.",
    remediation="realm.duplicateEmailsAllowed: false.",
    claims=("realm.duplicateEmailsAllowed",),
)
def test_email_cannot_be_shared(runtime: Throwaway, realm_admin: AdminApi) -> None:
    first, second = runtime.user("email-owner"), runtime.user("email-taker")
    refusal = _update(realm_admin, second.id, email=first.email)
    assert refusal is not None, f"realm {realm_admin.realm}: {second.username} took {first.username}'s e-mail address"


@check(
    "SMOKE-IDENTITY-002",
    "A user name, once given, cannot be changed",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(b)"),
    risk="Renamed accounts break the link between audit records and the person who acted.",
    remediation="realm.editUsernameAllowed: false.",
    claims=("realm.editUsernameAllowed",),
)
def test_username_cannot_be_changed(runtime: Throwaway, realm_admin: AdminApi) -> None:
    user = runtime.user("rename")
    refusal = _update(realm_admin, user.id, username=f"{user.username}-renamed")
    assert refusal is not None, f"realm {realm_admin.realm}: {user.username} was renamed"


@check(
    "SMOKE-IDENTITY-003",
    "Users sign in with their user name, not their e-mail address",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
    risk="E-mail addresses are public and guessable: a second login name widens password guessing.",
    remediation="loginWithEmailAllowed: false (its secure default).",
    claims=("realm.loginWithEmailAllowed",),
)
def test_email_address_does_not_sign_in(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    user = runtime.user("email-login")
    client = clients[CLIENT]

    def signs_in(login: str) -> bool:
        params = oauth.authorization_params(CLIENT, client.redirect_uri or "", "openid", oauth.Pkce.generate())
        return (
            oauth.UserAgent(tls_verify, login, user.password, user.codes).authorize(endpoints, client, params).code
            is not None
        )

    assert signs_in(user.username), f"control: {user.username} cannot sign in with the user name"
    assert not signs_in(user.email), f"{endpoints.authorization}: {user.username} signed in with the e-mail address"
