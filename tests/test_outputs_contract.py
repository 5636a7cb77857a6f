"""The outputs contract refuses what every command would trip over later, naming the key: each key of the
contract given each wrong shape, each URL an insecure or malformed one, an issuer that is not the realm's."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from idpkit.errors import IdpkitError
from idpkit.outputs import (
    OPTIONAL_KEYS,
    OUTPUTS_FILE_ENV,
    REQUIRED_KEYS,
    URL_KEYS,
    StackOutputs,
    load_admin_credentials,
    load_outputs,
)

STACK = "dev"
VALID: dict[str, Any] = {
    "base_url": "https://id.example.org",
    "m2m_url": "https://mtls.id.example.org:8443",
    "admin_url": "https://localhost:18443",
    "realm": "phi",
    "issuer": "https://id.example.org/realms/phi",
    "ca_bundle": None,
    "admin_credentials": "arn:aws:secretsmanager:us-east-2:111122223333:secret:idpkit-admin",
    "admin_ca_bundle": "/var/lib/idpkit/admin-ca.pem",
    "bootstrap_admin_credentials": None,
}
WRONG_SHAPES: dict[str, Any] = {"number": 5, "list": ["https://id.example.org"], "mapping": {}, "empty": ""}
BAD_URLS = {
    "plain-http": "http://id.example.org",
    "no-host": "https://",
    "relative": "/realms/phi",
    "query": "https://id.example.org/?next=https://evil.example",
    "javascript": "javascript:alert(1)",
}


def _load(content: Any, tmp_path: Path) -> None:
    source = tmp_path / "outputs.json"
    source.write_text(json.dumps(content))
    with mock.patch.dict(os.environ, {OUTPUTS_FILE_ENV: str(source)}):
        load_outputs(STACK)


def _cases() -> Iterator[Any]:
    for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS):
        for shape, value in WRONG_SHAPES.items():
            yield pytest.param({**VALID, key: value}, key, id=f"{key}-{shape}")
        if key not in ("ca_bundle", *OPTIONAL_KEYS):
            yield pytest.param({**VALID, key: None}, key, id=f"{key}-null")
            yield pytest.param({k: v for k, v in VALID.items() if k != key}, key, id=f"{key}-missing")
    for key in URL_KEYS:
        for name, url in BAD_URLS.items():
            yield pytest.param({**VALID, key: url}, key, id=f"{key}-{name}")
    yield pytest.param({**VALID, "issuer": "https://attacker.example/realms/phi"}, "issuer", id="issuer-elsewhere")
    yield pytest.param({**VALID, "realm": "../master"}, "realm", id="realm-path")
    top_levels: list[Any] = [[], "outputs", None, 5]
    for top_level in top_levels:
        yield pytest.param(top_level, "JSON object", id=f"top-level-{type(top_level).__name__}")


def test_the_valid_outputs_load(tmp_path: Path) -> None:
    _load(VALID, tmp_path)


@pytest.mark.parametrize(("content", "named"), list(_cases()))
def test_bad_outputs_are_refused_naming_the_key(content: Any, named: str, tmp_path: Path) -> None:
    with pytest.raises(IdpkitError) as refused:
        _load(content, tmp_path)
    assert named in refused.value.message, f"outputs {content!r}: the refusal does not name {named}: {refused.value}"


BAD_CREDENTIALS: dict[str, str] = {
    "not-json": "{client_id",
    "list": "[]",
    "string": '"admin"',
    "empty": "{}",
    "number-secret": '{"client_id": "idpkit-admin", "client_secret": 5}',
    "half-a-login": '{"username": "admin"}',
    "empty-password": '{"username": "admin", "password": ""}',
}


@pytest.mark.parametrize("content", list(BAD_CREDENTIALS.values()), ids=list(BAD_CREDENTIALS))
def test_bad_admin_credentials_file_is_refused_naming_it(content: str, tmp_path: Path) -> None:
    credentials = tmp_path / "admin-credentials.json"
    credentials.write_text(content)
    outputs = StackOutputs(**{**VALID, "admin_credentials": str(credentials)})
    with pytest.raises(IdpkitError) as refused:
        load_admin_credentials(outputs)
    assert str(credentials) in refused.value.message, (
        f"{content!r}: the refusal does not name the file: {refused.value}"
    )
