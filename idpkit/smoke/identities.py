"""The smoke-test clients, as realm-config/fragments/smoke.yaml codifies them, and the grants each uses.

Derived from the merged realm-config of the stack (the clients the fragment declares), so a smoke
client added to the fragment is exercised by every check that runs per client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
import yaml

from idpkit.realm.loader import LoadedConfig, config_dir, item_path
from idpkit.realm.model import Client, RealmDocument
from idpkit.realm.references import JWT_GRANT_IDP
from idpkit.realm.rules.clients import DPOP_BOUND
from idpkit.realm.rules.common import DEVICE_GRANT, JWT_GRANT
from idpkit.smoke import oauth

FRAGMENT = "realm-config/fragments/smoke.yaml"


class Grant(StrEnum):
    CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    DEVICE = "device_code"
    JWT_BEARER = "jwt_bearer"


@dataclass(frozen=True)
class SmokeClient:
    client_id: str
    grant: Grant | None
    """The grant the smoke suite obtains this client's tokens with (None: it obtains none)."""
    declared: Client

    @property
    def redirect_uri(self) -> str | None:
        return self.declared.redirect_uris[0] if self.declared.redirect_uris else None

    @property
    def confidential(self) -> bool:
        return not self.declared.public_client

    @property
    def generated_key(self) -> bool:
        return bool(self.declared.kit and self.declared.kit.generated_jwk)

    @property
    def binds_tokens_with_dpop(self) -> bool:
        """Public clients always (the realm's public-client policy), others where realm-config declares it."""
        return bool(self.declared.public_client) or self.attribute(DPOP_BOUND) == "true"

    def attribute(self, name: str) -> str | None:
        return (self.declared.attributes or {}).get(name)

    def played(self, credentials: dict[str, Any]) -> oauth.Client:
        """The client as the kit plays it: its generated private key, and a DPoP key of its own for this run
        where the realm binds its tokens to one."""
        return oauth.Client(
            self.client_id,
            self.redirect_uri,
            oauth.ClientKey.from_credentials(credentials, self.client_id) if self.generated_key else None,
            oauth.DPoPKey.generate() if self.binds_tokens_with_dpop else None,
        )


def _grant(client: Client) -> Grant | None:
    attributes = client.attributes or {}
    if client.standard_flow_enabled:
        return Grant.CODE
    if client.service_accounts_enabled:
        return Grant.CLIENT_CREDENTIALS
    if attributes.get(DEVICE_GRANT) == "true":
        return Grant.DEVICE
    if attributes.get(JWT_GRANT) == "true":
        return Grant.JWT_BEARER
    return None


def smoke_clients(loaded: LoadedConfig) -> list[SmokeClient]:
    """The clients the smoke fragment declares for this environment (none where it is not included)."""
    return [
        SmokeClient(client.client_id, _grant(client), client)
        for client in loaded.document.clients or []
        if loaded.file_of(item_path("clients", client.client_id)) == FRAGMENT
    ]


@dataclass(frozen=True)
class AssertionProvider:
    """The identity provider a JWT bearer client trusts, and the subject it asserts for a smoke user."""

    alias: str
    issuer: str
    subject: str
    config: dict[str, str]


def assertion_provider(loaded: LoadedConfig, client: SmokeClient, username: str) -> AssertionProvider:
    """What `client`'s assertions must look like to log `username` in (realm-config's provider and link)."""
    alias = client.attribute(JWT_GRANT_IDP)
    providers = {provider.alias: provider for provider in loaded.document.identity_providers or []}
    users = {user.key: user for user in loaded.document.users or []}
    if alias not in providers or username not in users:
        raise ValueError(f"realm-config: {client.client_id} trusts no declared provider, or {username} is undeclared")
    link = next((f for f in users[username].federated_identities or [] if f.identity_provider == alias), None)
    if link is None:
        raise ValueError(f"realm-config: {username} has no federated identity link to {alias}")
    provider = providers[alias]
    return AssertionProvider(alias, provider.config["issuer"], link.user_id, dict(provider.config))


def fragment_client_ids() -> list[str]:
    """The clients the smoke fragment declares, whichever environments include it (production: none)."""
    raw = yaml.safe_load((config_dir() / "fragments" / FRAGMENT.rsplit("/", 1)[-1]).read_text()) or {}
    return [client.client_id for client in RealmDocument.model_validate(raw).clients or []]


NO_SMOKE_CLIENT = "no-smoke-client"
"""The one case a per-client check has on a stack without smoke clients (production): its fixtures need the
smoke identities, so it is recorded as not applicable there, as declared, rather than skipped for want of cases."""


def or_placeholder(cases: list[Any], width: int = 1) -> list[Any]:
    """`cases`, or the single placeholder case (`width` Nones) when the stack has no smoke client to run them on."""
    return cases or [pytest.param(*([None] * width), id=NO_SMOKE_CLIENT)]
