"""The realm's own settings: declared ones, and the catalogue's secure defaults for the rest."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import compare
from idpkit.realm.kinds.base import Context, Rep, created_fields, dump
from idpkit.realm.kinds.held import held, live_view, merged
from idpkit.realm.model import SmartConfiguration

# Planned elsewhere: default scopes are sub-resources (kinds.default_scopes); a flow binding names a flow
# that kinds.flows creates after the realm exists.
SEPARATE_FIELDS = ("defaultDefaultClientScopes", "defaultOptionalClientScopes", "browserFlow")
ACR_LOA_MAP, ACR_LOA_ATTRIBUTE = "acrLoaMap", "acr.loa.map"
"""The kit's mapping field, and the realm attribute Keycloak keeps it in (a JSON object as text)."""
SMART_CONFIGURATION, SMART_ATTRIBUTE = "smartConfiguration", "smart.configuration"
"""The kit's SMART field, and the realm attribute the kit's Keycloak extension reads it from (JSON text with
snake_case keys, `SmartConfiguration.ATTRIBUTE` in keycloak-kms/)."""
RESET_WHEN_ABSENT = ("oauth2DeviceCodeLifespan", "oauth2DevicePollingInterval")
"""Realm fields Keycloak 26 resets to its defaults when an update leaves them out (every update carries them)."""
WHOLE_POLICIES = ("webAuthnPolicyPasswordless", "webAuthnPolicy", "otpPolicy")
"""Field prefixes of the policies Keycloak reads as a whole from an update: the OTP policy, and each WebAuthn
policy (applied only when the update names its relying party, every field it leaves out reset to its default).
Longest first: a passwordless field also starts with `webAuthnPolicy`."""


def _policy(field: str) -> str | None:
    return next((prefix for prefix in WHOLE_POLICIES if field.startswith(prefix)), None)


def carried(live: Rep, body: Rep) -> Rep:
    """`body` with the fields Keycloak would otherwise reset, at their live values unless `body` sets them: the
    device-grant fields, and the whole of each policy (OTP, WebAuthn) one of whose fields is written."""
    written = {_policy(field) for field in body} - {None}
    policies = {field: value for field, value in live.items() if _policy(field) in written}
    return {**{name: live[name] for name in RESET_WHEN_ABSENT if name in live}, **policies, **body}


def acr_loa_text(mapping: dict[str, int]) -> str:
    """The `acr.loa.map` attribute's text for a mapping (sorted, compact: one text per mapping)."""
    return json.dumps(dict(sorted(mapping.items())), separators=(",", ":"))


def smart_text(configuration: dict[str, Any]) -> str:
    """The `smart.configuration` attribute's text: snake_case keys, sorted, compact (one text per setting)."""
    fields = SmartConfiguration.model_validate(configuration).model_dump(by_alias=False)
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


_ATTRIBUTE_FIELDS = {ACR_LOA_MAP: (ACR_LOA_ATTRIBUTE, acr_loa_text), SMART_CONFIGURATION: (SMART_ATTRIBUTE, smart_text)}
"""Kit fields kept in realm attributes: the attribute, and the canonical text of a value."""


def _canonical(attribute: str, text: str) -> str:
    """The live attribute's text in the kit's canonical form (as it is when it cannot be read: the plan replaces it)."""
    for name, render in _ATTRIBUTE_FIELDS.values():
        if name == attribute:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                return render(json.loads(text))
    return text


def desired(ctx: Context) -> Rep:
    settings = ctx.document.realm
    declared = {k: v for k, v in (dump(settings) if settings else {}).items() if k not in SEPARATE_FIELDS}
    attributes = {
        attribute: render(declared.pop(field))
        for field, (attribute, render) in _ATTRIBUTE_FIELDS.items()
        if field in declared
    }
    if attributes:
        declared["attributes"] = attributes
    return merged(held("realm", declared), declared)


def _view(current: Rep) -> Rep:
    """The live realm as compared: the attributes kit fields live in, in the kit's canonical form."""
    view = live_view("realm", current)
    attributes = {
        name: _canonical(name, text) if text else text for name, text in (view.get("attributes") or {}).items()
    }
    return {**view, "attributes": attributes}


def live(ctx: Context) -> Rep:
    found: Rep = ctx.once("realm", lambda: ctx.api.keycloak.get_realm(ctx.api.realm))
    return found


def diff(ctx: Context) -> list[Change]:
    wanted = desired(ctx)
    name = ctx.api.realm
    if not ctx.realm_exists:  # created by a master administrator: the kit's account may create no realm
        write = Write("POST", urls.REALMS, {}, {"realm": name, "enabled": True, **wanted}, target="master")
        return [Change("realm", name, "create", created_fields(wanted), [write])]
    current = live(ctx)
    fields = compare(wanted, _view(current))
    if not fields:
        return []
    body: dict[str, Any] = {}
    for key in {change.field.split(".")[0] for change in fields}:
        have, want = current.get(key), wanted[key]
        body[key] = {**have, **want} if isinstance(have, dict) and isinstance(want, dict) else want
    return [Change("realm", name, "update", fields, [Write("PUT", urls.REALM, {}, carried(current, body))])]
