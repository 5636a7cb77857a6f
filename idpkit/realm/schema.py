"""The JSON Schema of `realm-config/` files, exported for editors (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idpkit.realm.loader import config_dir
from idpkit.realm.model import RealmDocument

SCHEMA_FILE = "realm-config.schema.json"


def json_schema() -> dict[str, Any]:
    schema = RealmDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "idpkit realm configuration"
    return schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def default_path() -> Path:
    return config_dir() / SCHEMA_FILE


def write(path: Path | None = None) -> Path:
    target = path or default_path()
    target.write_text(render())
    return target
