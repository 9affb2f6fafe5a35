"""The import contracts of pyproject.toml hold: `pytest` alone enforces the layers
(entrypoints > devstack > bootstrap > adapters > wire, observability > settings >
service_layer > domain), the technology-free core and entry points, and one module per
operator command — not only `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_of_the_package_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
