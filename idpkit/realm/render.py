"""How plans and drift read: a diff that fits an 80-column terminal, or the wide table.

~ client smoke-spa  webOrigins: [] → ["*"]
+ client bench-0001
    redirectUris: ["https://bench-0001.example.org/callback"]
- clientScope old-scope
"""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from idpkit.realm.changes import Change, is_placeholder
from idpkit.realm.diff import MASK, FieldChange
from idpkit.realm.secrets import PENDING

WIDTH = 80
SIGNS = {"create": "+", "update": "~", "delete": "-"}
ABSENT = "(absent)"
_INDENT = "    "
_ELLIPSIS = "…"
_TABLE_CELL = 80


def show(value: Any) -> str:
    """A value as the diff shows it: JSON, absent fields and generated values named."""
    if value is None:
        return ABSENT
    if is_placeholder(value):
        return PENDING
    if value == MASK:
        return MASK
    return json.dumps(_displayable(value), ensure_ascii=False)


def _displayable(value: Any) -> Any:
    if is_placeholder(value):
        return PENDING
    if isinstance(value, dict):
        return {key: _displayable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_displayable(item) for item in value]
    return value


def diff_lines(changes: list[Change], width: int = WIDTH) -> list[str]:
    """One line per changed field (object and field on one line when it fits), creates with their fields."""
    lines: list[str] = []
    for change in changes:
        head = f"{SIGNS[change.action]} {change.kind} {change.name}"
        fields = [field.masked() for field in change.fields]
        if change.action == "create":
            lines.append(_cut(head, width))
            lines += [_cut(f"{_INDENT}{field.field}: {show(field.desired)}", width) for field in fields]
        elif len(fields) == 1 and len(single := f"{head}  {_change_text(fields[0], width)}") <= width:
            lines.append(single)
        else:
            lines.append(_cut(head, width))
            lines += [_INDENT + _change_text(field, width - len(_INDENT)) for field in fields]
    return lines


def _change_text(field: FieldChange, room: int) -> str:
    """`field: live → desired`, values shortened evenly when the line would not fit in `room`."""
    live, desired = show(field.live), show(field.desired)
    text = f"{field.field}: {live} → {desired}"
    if len(text) <= room:
        return text
    budget = max(room - len(field.field) - len(": ") - len(" → "), 2 * len(_ELLIPSIS))
    live_room = min(len(live), budget // 2)
    desired_room = budget - live_room
    return _cut(f"{field.field}: {_cut(live, live_room)} → {_cut(desired, desired_room)}", room)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - len(_ELLIPSIS), 0)] + _ELLIPSIS


def table(changes: list[Change], title: str) -> Table:
    """Every change and field in columns, for wide terminals (`--format table`)."""
    result = Table(title=title)
    for column in ("kind", "object", "action", "field", "live", "desired"):
        result.add_column(column, overflow="fold")
    for change in changes:
        fields = [field.masked() for field in change.fields] or [FieldChange("", "", "")]
        for index, field in enumerate(fields):
            head = (change.kind, change.name, change.action) if index == 0 else ("", "", "")
            result.add_row(
                *head, field.field, _cut(_cell(field.live), _TABLE_CELL), _cut(_cell(field.desired), _TABLE_CELL)
            )
    return result


def _cell(value: Any) -> str:
    return "" if value == "" else show(value)
