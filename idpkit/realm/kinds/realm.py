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

# Planned elsewhere: default scopes are sub-resources (kinds.default_scopes); a flow binding names a flow
# that kinds.flows creates after the realm exists.
SEPARATE_FIELDS = ("defaultDefaultClientScopes", "defaultOptionalClientScopes", "browserFlow")
ACR_LOA_MAP, ACR_LOA_ATTRIBUTE = "acrLoaMap", "acr.loa.map"
"""The kit's mapping field, and the realm attribute Keycloak keeps it in (a JSON object as text)."""
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


def desired(ctx: Context) -> Rep:
    settings = ctx.document.realm
    declared = {k: v for k, v in (dump(settings) if settings else {}).items() if k not in SEPARATE_FIELDS}
    if ACR_LOA_MAP in declared:
        declared["attributes"] = {ACR_LOA_ATTRIBUTE: acr_loa_text(declared.pop(ACR_LOA_MAP))}
    return merged(held("realm", declared), declared)


def _view(current: Rep) -> Rep:
    """The live realm as compared: the acr map's text in the kit's canonical form."""
    view = live_view("realm", current)
    attributes = dict(view.get("attributes") or {})
    text = attributes.get(ACR_LOA_ATTRIBUTE)
    if text:
        # Not a mapping: compared as it is, so the plan shows and replaces it.
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            attributes[ACR_LOA_ATTRIBUTE] = acr_loa_text(json.loads(text))
    return {**view, "attributes": attributes}


def live(ctx: Context) -> Rep:
    found: Rep = ctx.once("realm", lambda: ctx.api.keycloak.get_realm(ctx.api.realm))
    return found


def diff(ctx: Context) -> list[Change]:
    wanted = desired(ctx)
    name = ctx.api.realm
    if not ctx.realm_exists:
        write = Write("POST", urls.REALMS, {}, {"realm": name, "enabled": True, **wanted})
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
