"""Plans as data: a change is the fields that differ plus the HTTP writes that reconcile them.

A write names its admin API path as a template with parameters, and its JSON body. Objects that do
not exist yet when the plan is made (a scope created earlier in the same plan) and values generated
at apply time (test users' passwords, test clients' keys) are placeholders resolved at apply time by
`idpkit.realm.executor`, so a plan can be saved, reviewed and applied later, and holds no secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from idpkit.keycloak_admin import urls
from idpkit.realm.diff import FieldChange

Action = Literal["create", "update", "delete"]
Method = Literal["POST", "PUT", "DELETE"]
Target = Literal["realm", "master"]
"""Which realm's admin API a write goes to: the managed realm, or master (the kit's own admin)."""

REF = "$ref"
GENERATED = "$generated"
# Reference kinds, resolved to ids (roles: to the {id, name} pair role-mapping bodies need).
CLIENT, CLIENT_SCOPE, ROLE, USER, SERVICE_ACCOUNT = "client", "clientScope", "role", "user", "serviceAccount"
# An execution of an authentication flow, named `<flow alias>#<position>` (its id), and its whole
# representation (to change its requirement: Keycloak's update also rewrites the priority it carries).
EXECUTION, EXECUTION_INFO = "execution", "executionInfo"
WITH = "with"
"""Fields a resolved representation (`EXECUTION_INFO`) is written back with."""
# Values generated at apply time into the stack's 0600 credentials file, never into a plan.
PASSWORD, JWKS, PUBLIC_KEY = "password", "jwks", "publicKey"
TOTP_SECRET = "totpSecretData"  # noqa: S105 - a kind of generated value, not a secret
"""A test user's TOTP secret, as the `secretData` text of a Keycloak OTP credential."""


TEMPLATES = frozenset(value for name, value in vars(urls).items() if name.isupper() and isinstance(value, str))
"""Every admin API path template a write may name: a plan read from a file names no other."""


def _one_of(value: Any, allowed: tuple[str, ...] | frozenset[str], what: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one the kit writes")
    return value


def ref(kind: str, name: str, **overrides: Any) -> dict[str, Any]:
    """The id of the `kind` object called `name`, looked up when the write runs (`EXECUTION_INFO`: its
    representation, with `overrides` set)."""
    found: dict[str, Any] = {REF: kind, "name": name}
    if overrides:
        found[WITH] = overrides
    return found


def execution_name(flow: str, position: int) -> str:
    """How plans name the execution at `position` (0-based) of `flow`."""
    return f"{flow}#{position}"


def generated(kind: str, owner: str, algorithm: str | None = None) -> dict[str, str]:
    """A value generated (or read from the credentials file) when the write runs."""
    value = {GENERATED: kind, "owner": owner}
    if algorithm:
        value["algorithm"] = algorithm
    return value


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and (REF in value or GENERATED in value)


@dataclass(frozen=True)
class Write:
    """One admin API write: method, path template with its parameters, JSON body."""

    method: Method
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    """Template values: strings, or `ref(...)` placeholders."""
    body: Any = None
    target: Target = "realm"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "path": self.template, "params": self.params}
        if self.body is not None:
            data["body"] = self.body
        if self.target != "realm":
            data["target"] = self.target
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Write:
        """A write read back from a saved plan: only the methods, paths and realms the kit itself writes."""
        params = dict(data.get("params") or {})
        if not all(isinstance(value, str) or is_placeholder(value) for value in params.values()):
            raise ValueError(f"write to {data['path']!r}: parameters must be names or references, not {params!r}")
        return cls(
            _one_of(data["method"], get_args(Method), "method"),
            _one_of(data["path"], TEMPLATES, "admin API path"),
            params,
            data.get("body"),
            _one_of(data.get("target", "realm"), get_args(Target), "target realm"),
        )


@dataclass
class Change:
    """One object to create, update or delete: the fields that differ and the writes that fix them."""

    kind: str
    name: str
    action: Action
    fields: list[FieldChange] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    operation: str | None = None
    """A named kit operation run instead of plain writes (the admin bootstrap, which stores credentials)."""

    def to_dict(self, *, with_writes: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "fields": [
                {"field": c.field, "live": c.live, "desired": c.desired} for c in (f.masked() for f in self.fields)
            ],
        }
        if with_writes:
            data["writes"] = [write.to_dict() for write in self.writes]
            if self.operation:
                data["operation"] = self.operation
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            str(data["kind"]),
            str(data["name"]),
            _one_of(data["action"], get_args(Action), "action"),
            [FieldChange(f["field"], f.get("live"), f.get("desired")) for f in data.get("fields") or []],
            [Write.from_dict(w) for w in data.get("writes") or []],
            data.get("operation"),
        )
