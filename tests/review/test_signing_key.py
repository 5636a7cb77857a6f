"""The review says where each stack's realm signing key lives, from what the stack declares."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from idpkit.local.layout import LocalLayout
from idpkit.policy.resource_types import IAM_ROLE
from idpkit.review import signing_key
from idpkit.review.collect import AWS_ENVIRONMENTS, aws_graphs
from idpkit.review.render_html import render as render_html
from idpkit.review.render_md import render as render_md
from tests.review.reviews import review


@pytest.mark.parametrize("stack", AWS_ENVIRONMENTS)
def test_aws_stack_signs_inside_kms(stack: str) -> None:
    location = review(stack).signing_keys[stack]
    assert location is not None, f"{stack}: the review does not say where the signing key lives"
    assert (location.where, location.exportable) == ("AWS KMS", False), f"{stack}: signing key in {location}"
    assert f"idpkit-{stack}-signing-signer" in location.detail, f"{stack}: {location.detail} names no signer role"


@pytest.mark.parametrize("stack", AWS_ENVIRONMENTS)
def test_report_shows_every_stack_signing_key(stack: str) -> None:
    markdown, html = render_md(review(stack)), render_html(review(stack))
    row = next(line for line in markdown.splitlines() if line.startswith(f"| **{stack}** | AWS KMS |"))
    assert "| non-exportable |" in row, f"{stack}: the markdown row {row!r} does not say non-exportable"
    assert "<h2>Where the realm signing key lives</h2>" in html, f"{stack}: the HTML review has no signing key row"
    assert html.count("non-exportable") >= len(AWS_ENVIRONMENTS), f"{stack}: the HTML review omits a stack's key"


def test_stack_without_signer_role_holds_an_exportable_key() -> None:
    graph = aws_graphs()["dev"]
    imported = dataclasses.replace(
        graph,
        resources=tuple(r for r in graph.resources if not (r.type == IAM_ROLE and r.name.endswith("-signing-signer"))),
    )
    assert imported.resources != graph.resources, "dev: the graph has no signer role to remove"
    location = signing_key.of_graph(imported)
    assert location.exportable, f"dev without its signer role: the review says {location}"


@pytest.mark.parametrize(
    ("saved", "where"),
    [(None, None), ("kms", "KMS emulation (moto, server mode)"), ("imported", "Keycloak's database")],
)
def test_local_stack_reads_its_saved_choice(
    saved: str | None, where: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDPKIT_STATE_DIR", str(tmp_path))
    if saved is not None:
        settings = LocalLayout.for_stack("local").settings_file
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"database": "postgres", "signing": saved}))
    location = signing_key.of_local("local")
    assert (location.where if location else None) == where, f"local signing {saved}: the review says {location}"
