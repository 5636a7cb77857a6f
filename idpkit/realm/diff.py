"""Field-level comparison of what the files ask for with what Keycloak holds.

Only fields the files set are compared (Keycloak's defaults are not repeated in files); lists of
names compare as sets, mappings compare only the keys the files set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The last component of a field's path that names a secret value (not, e.g., resetPasswordAllowed).
_SECRET_NAME = re.compile(
    r"(^|[.\[])(secret|client[_-]?secret|password|credentials?|\w*Credentials|private[_-]?key|registrationAccessToken)$",
    re.IGNORECASE,
)
MASK = "***"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its path inside the object, the live value and the wanted value."""

    field: str
    live: Any
    desired: Any

    def masked(self) -> FieldChange:
        if _SECRET_NAME.search(self.field):
            return FieldChange(self.field, MASK if self.live is not None else None, MASK)
        return self


def normalize(value: Any) -> Any:
    """A comparable form: string lists sorted (Keycloak does not keep their order), others as is."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(set(value))
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    return value


def compare(desired: dict[str, Any], live: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Differences for every key of `desired`; nested mappings compare only their desired keys."""
    changes: list[FieldChange] = []
    for key, wanted in desired.items():
        name = f"{prefix}{key}"
        current = live.get(key)
        if isinstance(wanted, dict) and isinstance(current, dict):
            changes.extend(compare(wanted, current, f"{name}."))
        elif normalize(wanted) != normalize(current):
            changes.append(FieldChange(name, current, wanted))
    return changes
