"""The realm benchmarks' generated clients are valid realm-config: the figures measure a realm apply would accept."""

from __future__ import annotations

import os
import shutil
import sys

from idpkit import paths
from idpkit.realm import engine

sys.path.insert(0, str(paths.project_root() / "benchmarks"))  # the benchmarks are scripts, not a package
from realm_apply import project_with


def test_generated_clients_pass_validation() -> None:
    project = project_with(3, "local")
    os.environ["IDPKIT_PROJECT_DIR"] = str(project)
    try:
        loaded, _waivers = engine.validate("local")
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
        shutil.rmtree(project)
    generated = [c.client_id for c in loaded.document.clients or [] if c.client_id.startswith("bench-")]
    assert generated == ["bench-0000", "bench-0001", "bench-0002"], f"generated clients: {generated}"
