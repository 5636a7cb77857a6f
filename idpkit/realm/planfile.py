"""Saved plans: `realm plan --out plan.json`, reviewed, then `realm apply --plan plan.json`.

The file holds the changes with their writes (no closure, no secret: generated credentials are
placeholders resolved at apply time, live secrets are never copied into a write) and a digest of
every live read the plan was computed from. Applying replays those reads first: if any answer
differs, the realm moved since the plan was made and nothing is applied.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_admin import AdminApi, Read, digest
from idpkit.realm.changes import Change, is_placeholder
from idpkit.realm.diff import MASK

FORMAT = "idpkit-realm-plan/1"
_SECRET_KEY = re.compile(r"secret|password|private|registrationAccessToken", re.IGNORECASE)
_MASKED_BY_KEYCLOAK = "**********"


@dataclass
class SavedPlan:
    stack: str
    realm: str
    environment: str
    created: str
    changes: list[Change]
    reads: list[Read]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "stack": self.stack,
            "realm": self.realm,
            "environment": self.environment,
            "created": self.created,
            "notes": self.notes,
            "reads": [read.to_dict() for read in self.reads],
            "changes": [change.to_dict(with_writes=True) for change in self.changes],
        }


def save(saved: SavedPlan, path: Path) -> None:
    data = saved.to_dict()
    leaked = list(_secret_values(data, ""))
    if leaked:
        raise IdpkitError(
            f"the plan would write secret values to {path} ({', '.join(leaked)}); nothing was written",
            hint="this is a bug in idpkit: please report it",
        )
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def created_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load(path: Path) -> SavedPlan:
    """A saved plan; a clear error for a file that is not one (nothing is applied)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        return SavedPlan(
            stack=str(data["stack"]),
            realm=str(data["realm"]),
            environment=str(data["environment"]),
            created=str(data["created"]),
            changes=[Change.from_dict(change) for change in data["changes"]],
            reads=[Read.from_dict(read) for read in data["reads"]],
            notes=[str(note) for note in data.get("notes") or []],
        )
    except OSError as error:
        raise IdpkitError(f"cannot read the plan {path}: {error.strerror}", exit_code=ExitCode.USAGE) from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise IdpkitError(
            f"{path} is not an idpkit realm plan ({error}); nothing was applied", exit_code=ExitCode.USAGE
        ) from error


def moved(api: AdminApi, reads: list[Read]) -> list[str]:
    """The reads whose answer differs now (each described), replayed through the admin connection."""
    differing: list[str] = []
    for read in reads:
        response = api.connection.raw_get(read.path, **dict(read.params))
        if digest(response.status_code, response.content) != read.digest:
            query = "&".join(f"{key}={value}" for key, value in read.params)
            differing.append(f"GET {read.path}{'?' + query if query else ''}")
    return differing


def _secret_values(node: Any, path: str) -> Any:
    """Paths of values stored under a secret-looking key that are not placeholders or masks."""
    if isinstance(node, dict) and not is_placeholder(node):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and _is_cleartext(value):
                yield here
            elif key == "credentials" and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and _is_cleartext(item.get("value")):
                        yield f"{here}[{index}].value"
            else:
                yield from _secret_values(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_values(item, f"{path}[{index}]")


def _is_cleartext(value: Any) -> bool:
    """A string that could be a secret: not a mask, a placeholder, a timestamp or a flag."""
    return (
        isinstance(value, str) and value not in (MASK, _MASKED_BY_KEYCLOAK, "", "true", "false") and not value.isdigit()
    )
