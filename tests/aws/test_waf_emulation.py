"""The WAF emulation itself follows AWS WAF's documented transformations and statements (waf_emulation.py)."""

from __future__ import annotations

from typing import Any

import pytest
from waf_emulation import NotEmulatedError, Request, matches, normalize_path, transform, url_decode


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [("/a%2Fb", "/a/b"), ("%74oken", "token"), ("%2e%2E", ".."), ("%zz%4", "%zz%4"), ("%252F", "%2F"), ("a+b", "a+b")],
)
def test_url_decode_decodes_each_valid_escape_once(raw: str, decoded: str) -> None:
    assert url_decode(raw) == decoded


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("/a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/x/../b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("/a/b//", "/a/b/"),
        ("/../a", "/a"),
        ("../a/b", "../a/b"),
        ("/a/b/..", "/a"),
    ],
)
def test_normalize_path_removes_slashes_self_and_back_references(raw: str, normalized: str) -> None:
    assert normalize_path(raw) == normalized


def test_transformations_apply_in_priority_order() -> None:
    steps = [
        {"priority": 2, "type": "LOWERCASE"},
        {"priority": 0, "type": "URL_DECODE"},
        {"priority": 1, "type": "NORMALIZE_PATH"},
    ]
    assert transform("/A/x/%2E%2E/T%4Fken", steps) == "/a/token"


def _regex(pattern: str) -> dict[str, Any]:
    return {"regexMatchStatement": {"regexString": pattern, "fieldToMatch": {"uriPath": {}}, "textTransformations": []}}


def test_statements_combine_as_documented() -> None:
    label = {"labelMatchStatement": {"scope": "LABEL", "key": "awswaf:x"}}
    both = {"andStatement": {"statements": [label, {"notStatement": {"statement": _regex("^/ok$")}}]}}
    assert matches(both, Request("/other", labels={"awswaf:x"}))
    assert not matches(both, Request("/ok", labels={"awswaf:x"}))
    assert not matches(both, Request("/other"))
    assert matches({"orStatement": {"statements": [_regex("^/a$"), _regex("^/b$")]}}, Request("/b"))


@pytest.mark.parametrize(
    "statement",
    [
        {"geoMatchStatement": {"countryCodes": ["US"]}},
        {"regexMatchStatement": {"regexString": ".", "fieldToMatch": {"queryString": {}}, "textTransformations": []}},
        {
            "regexMatchStatement": {
                "regexString": ".",
                "fieldToMatch": {"uriPath": {}},
                "textTransformations": [{"priority": 0, "type": "HTML_ENTITY_DECODE"}],
            }
        },
    ],
    ids=["statement", "field", "transformation"],
)
def test_anything_not_emulated_is_refused_rather_than_guessed(statement: dict[str, Any]) -> None:
    with pytest.raises(NotEmulatedError):
        matches(statement, Request("/"))
