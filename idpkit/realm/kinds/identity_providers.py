"""Identity providers, e.g. the trusted issuer of JWT bearer grant assertions."""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import PUBLIC_KEY, Change, Write, generated
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE, Context, Planner, Rep, dump, owned_attributes, reconcile
from idpkit.realm.model import IdentityProvider
from idpkit.realm.secrets import PENDING

GENERATED_PUBLIC_KEY = "kit:generated-public-key:"


def _config(ctx: Context, provider: IdentityProvider) -> dict[str, object]:
    config: dict[str, object] = {**provider.config, OWNER_ATTRIBUTE: "true"}
    for key, value in provider.config.items():
        if value.startswith(GENERATED_PUBLIC_KEY):
            client_id = value.removeprefix(GENERATED_PUBLIC_KEY)
            client = next((c for c in ctx.document.clients or [] if c.client_id == client_id), None)
            algorithm = client.kit.generated_jwk if client and client.kit and client.kit.generated_jwk else None
            known = ctx.secrets.public_key_base64(client_id, algorithm) if algorithm else PENDING
            config[key] = generated(PUBLIC_KEY, client_id, algorithm) if known == PENDING else known
    return config


def desired(ctx: Context) -> dict[str, Rep]:
    return {p.alias: {**dump(p), "config": _config(ctx, p)} for p in ctx.document.identity_providers or []}


def live(ctx: Context) -> dict[str, Rep]:
    return {p["alias"]: p for p in ctx.once("identityProviders", ctx.api.keycloak.get_idps) or []}


def _create(_name: str, wanted: Rep) -> list[Write]:
    return [Write("POST", urls.IDENTITY_PROVIDERS, {}, wanted)]


def _update(name: str, wanted: Rep, current: Rep) -> list[Write]:
    body = {**current, **wanted, "config": {**current.get("config", {}), **wanted["config"]}}
    return [Write("PUT", urls.IDENTITY_PROVIDER, {"alias": name}, body)]


def _delete(name: str, _current: Rep) -> list[Write]:
    return [Write("DELETE", urls.IDENTITY_PROVIDER, {"alias": name})]


PLANNER = Planner("identityProvider", lambda p: owned_attributes(p.get("config")), _create, _update, _delete)


def diff(ctx: Context) -> list[Change]:
    return reconcile(ctx, PLANNER, desired(ctx), live(ctx))
