"""Files that passed their checks are read back from the cache; anything else is parsed and checked again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from idpkit.realm import checked_files, loader
from tests.realm.helpers import scratch_project

ENVIRONMENT = "local"
OVERLAY = Path("realm-config") / "overlays" / f"{ENVIRONMENT}.yaml"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copied = scratch_project(tmp_path / "project")
    monkeypatch.setenv("IDPKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IDPKIT_PROJECT_DIR", str(copied))
    return copied


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the files YAML parses from now on."""
    parsed: list[str] = []
    parse = yaml.load

    def counting(text: str, **options: Any) -> Any:
        parsed.append(text)
        return parse(text, **options)

    monkeypatch.setattr(yaml, "load", counting)
    return parsed


def test_a_second_load_parses_nothing_and_gives_the_same_document(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = loader.load(ENVIRONMENT)
    parsed = _parses(monkeypatch)
    again = loader.load(ENVIRONMENT)
    assert parsed == [], f"{len(parsed)} unchanged files were parsed again"
    assert again.document == first.document, "the document read back from the cache differs from the parsed one"
    assert again.provenance == first.provenance, "the cache changed which file a value comes from"


def test_a_changed_file_is_parsed_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loader.load(ENVIRONMENT)
    overlay = project / OVERLAY
    overlay.write_text(overlay.read_text() + "\n# edited\n")
    parsed = _parses(monkeypatch)
    loader.load(ENVIRONMENT)
    assert len(parsed) == 1, f"after one file changed, {len(parsed)} files were parsed"


def test_a_refused_file_is_refused_every_time(project: Path) -> None:
    overlay = project / OVERLAY
    overlay.write_text(overlay.read_text() + "\nrealm:\n  realm: twice\n")  # a key written twice
    for _ in range(2):
        with pytest.raises(loader.ConfigError, match="appears twice"):
            loader.load(ENVIRONMENT)


def test_an_unreadable_entry_is_parsed_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loader.load(ENVIRONMENT)
    for entry in checked_files.directory().glob("*.json"):
        entry.write_text("{not json")
    parsed = _parses(monkeypatch)
    loader.load(ENVIRONMENT)
    assert parsed, "a corrupt cache entry was trusted"


@pytest.mark.parametrize(
    "value",
    [dt.date(2027, 6, 30), dt.datetime(2027, 6, 30, 12, 0, tzinfo=dt.UTC), {"$yaml-date": "2027-06-30"}],
    ids=["date", "timestamp", "a mapping that looks like an encoded date"],
)
def test_values_come_back_exactly_or_are_not_kept(project: Path, value: Any) -> None:
    text = f"# {value!r}\n"
    checked_files.remember(text, {"expires": value})
    recalled = checked_files.recall(text)
    assert recalled is None or recalled == {"expires": value}, f"{value!r} came back as {recalled!r}"
    if isinstance(value, dt.date):
        assert recalled == {"expires": value}, f"{value!r} was not kept"
