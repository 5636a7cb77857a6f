"""How AWS WAF evaluates the statements the kit's web ACL uses, for testing the rules against real paths.

Implements the documented semantics (AWS WAF Developer Guide, "Text transformations" and the statement
references) of what the kit's rules use: regex and byte match statements on the URI path, label match,
and/or/not, and the text transformations below, applied in priority order before matching. A statement or
transformation this module does not know raises `NotEmulatedError`, so a rule that starts using one cannot pass
its tests by accident.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


class NotEmulatedError(Exception):
    """The statement uses a feature this emulation does not implement."""


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def url_decode(value: str) -> str:
    """URL_DECODE: every valid %XX becomes its byte (kept as a latin-1 character); invalid escapes stay."""
    return _PERCENT.sub(lambda match: chr(int(match[1], 16)), value)


def normalize_path(value: str) -> str:
    """NORMALIZE_PATH: "Remove multiple slashes, directory self-references, and directory back-references that
    are not at the beginning of the input". A trailing slash stays if the input had one."""
    if not value:
        return value
    absolute = value.startswith("/")
    trailing = value.endswith("/")
    kept: list[str] = []
    leading_backrefs = 0
    for segment in value.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            elif not absolute:
                leading_backrefs += 1
            continue
        kept.append(segment)
    segments = [".."] * leading_backrefs + kept
    path = ("/" if absolute else "") + "/".join(segments)
    if trailing and segments:
        path += "/"
    return path or "/"


def normalize_path_win(value: str) -> str:
    """NORMALIZE_PATH_WIN: backslashes become forward slashes, then NORMALIZE_PATH."""
    return normalize_path(value.replace("\\", "/"))


TRANSFORMATIONS: dict[str, Callable[[str], str]] = {
    "NONE": lambda value: value,
    "URL_DECODE": url_decode,
    "NORMALIZE_PATH": normalize_path,
    "NORMALIZE_PATH_WIN": normalize_path_win,
    "LOWERCASE": lambda value: value.translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    ),
}


@dataclass(frozen=True)
class Request:
    """The parts of a web request the kit's statements inspect."""

    uri_path: str
    labels: Collection[str] = field(default_factory=frozenset)


def transform(value: str, transformations: list[Mapping[str, Any]]) -> str:
    for step in sorted(transformations, key=lambda step: int(step["priority"])):
        kind = str(step["type"])
        if kind not in TRANSFORMATIONS:
            raise NotEmulatedError(f"text transformation {kind}")
        value = TRANSFORMATIONS[kind](value)
    return value


def _field(statement: Mapping[str, Any], request: Request) -> str:
    field_to_match = statement["fieldToMatch"]
    if set(field_to_match) != {"uriPath"}:
        raise NotEmulatedError(f"field to match {sorted(field_to_match)}")
    return transform(request.uri_path, list(statement.get("textTransformations") or []))


_POSITIONS: dict[str, Callable[[str, str], bool]] = {
    "EXACTLY": lambda value, search: value == search,
    "STARTS_WITH": lambda value, search: value.startswith(search),
    "ENDS_WITH": lambda value, search: value.endswith(search),
    "CONTAINS": lambda value, search: search in value,
}


def matches(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether `statement` (as the Pulumi graph records it: camelCase keys) matches `request`."""
    (kind,) = statement
    body = statement[kind]
    if kind == "regexMatchStatement":
        return re.search(str(body["regexString"]), _field(body, request)) is not None
    if kind == "byteMatchStatement":
        position = str(body["positionalConstraint"])
        if position not in _POSITIONS:
            raise NotEmulatedError(f"positional constraint {position}")
        return _POSITIONS[position](_field(body, request), str(body["searchString"]))
    if kind == "labelMatchStatement":
        if body.get("scope") != "LABEL":
            raise NotEmulatedError(f"label match scope {body.get('scope')}")
        return str(body["key"]) in request.labels
    if kind == "andStatement":
        return all(matches(child, request) for child in body["statements"])
    if kind == "orStatement":
        return any(matches(child, request) for child in body["statements"])
    if kind == "notStatement":
        return not matches(body["statement"], request)
    raise NotEmulatedError(kind)
