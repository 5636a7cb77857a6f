"""What the smoke suite needs beyond the stack outputs, and what happens when a stack lacks it.

A check whose credential is missing fails: on a deployed stack a check that quietly skipped would
read as proven. Only realm-config can excuse it, per environment, in the overlay:

    smokeNotApplicable:
      - credential: smoke-identities
        owner: identity-team
        reason: Production carries no test identities; the flows and attacks are proven on staging

Checks needing an excused credential are then recorded as not applicable (not skipped, not passed),
and `idpkit review` lists the declaration with its owner and reason.
"""

from __future__ import annotations

import functools
from typing import NoReturn

import pytest

from idpkit.realm import loader
from idpkit.realm.model import NotApplicable, SmokeCredential

NOT_APPLICABLE = "not applicable:"
"""How a declared-not-applicable skip reason starts (the plugin records such tests as not applicable)."""
CREDENTIALS: dict[SmokeCredential, str] = {
    "smoke-identities": "the smoke-test users and clients (realm-config/fragments/smoke.yaml) with the credentials "
    "`idpkit realm apply` generated into the stack's smoke-credentials file",
    "client-certificates": "client certificates from the trusted client CA for smoke-mtls and the attack subjects "
    "(local: issued on the fly; deployed: idpkit/smoke/certificates.py names the files)",
    "admin-api": "the kit's admin credentials and a route to admin_url (deployed: the Session Manager port forward)",
    "break-glass": "the bootstrap admin's credentials (outputs: bootstrap_admin_credentials), the only login that "
    "may read or change master's users, clients and events (deployed: the break-glass role's secret read)",
    "hosts": "the Keycloak hosts as testinfra specs (IDPKIT_SMOKE_HOSTS; local: this machine)",
}


@functools.cache
def declarations(stack: str) -> dict[str, NotApplicable]:
    """The credentials realm-config declares not applicable to `stack`'s environment (stacks bear its name)."""
    document = loader.load(stack).document
    return {entry.credential: entry for entry in document.smoke_not_applicable or []}


def missing(stack: str, credential: SmokeCredential, why: str) -> NoReturn:
    """Stop the current test: not applicable when declared for the stack's environment, else a failure."""
    declared = declarations(stack).get(credential)
    if declared is not None:
        pytest.skip(f"{NOT_APPLICABLE} {credential} on {stack} ({declared.owner}: {declared.reason})")
    pytest.fail(
        f"stack {stack}: {why}. Checks that need {credential} ({CREDENTIALS[credential]}) cannot run: provide it, "
        f"or declare it not applicable in realm-config/overlays/{stack}.yaml "
        "(smokeNotApplicable: credential, owner, reason)",
        pytrace=False,
    )
