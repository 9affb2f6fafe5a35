"""Every YAML, JSON and TOML file under deploy/ parses."""

import json
import tomllib
from pathlib import Path

import pytest

from tests.deploy.support import DEPLOY, SCHEMAS, load_yaml_documents, require_module

YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
JSON_FILES = sorted(DEPLOY.rglob("*.json"))
TOML_FILES = sorted(DEPLOY.rglob("*.toml"))


def _id(path: Path) -> str:
    return str(path.relative_to(DEPLOY))


def test_deploy_holds_the_files_these_tests_check() -> None:
    names = {_id(path) for path in [*YAML_FILES, *JSON_FILES]}
    assert {"compose.yaml", "k8s/deployment.yaml", "grafana/backorder-worker.json"} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=_id)
def test_every_yaml_file_parses_into_mappings(path: Path) -> None:
    documents = load_yaml_documents(path)

    assert documents, f"{path} holds no document"
    assert all(isinstance(document, dict) for document in documents)


@pytest.mark.parametrize("path", JSON_FILES, ids=_id)
def test_every_json_file_parses(path: Path) -> None:
    assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


@pytest.mark.parametrize("path", TOML_FILES, ids=_id)
def test_every_toml_file_parses(path: Path) -> None:
    assert tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda path: path.name)
def test_the_schemas_written_for_these_tests_are_valid_json_schemas(path: Path) -> None:
    jsonschema = require_module("jsonschema", "jsonschema")

    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
