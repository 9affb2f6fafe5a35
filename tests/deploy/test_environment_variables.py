"""Every `BACKORDER_*` variable that compose or Kubernetes sets names a real setting.

`load_settings` rejects an unknown key inside a section but ignores an unknown section, so
each name is also walked through the settings models (`setting_for_env_var`)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backorder_worker.settings import CONFIG_ENV_VAR, load_settings
from tests.deploy.support import (
    COMPOSE_FILE,
    ENV_PREFIX,
    ROOT,
    compose_interpolate,
    k8s_objects,
    load_yaml,
    setting_for_env_var,
)


def containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def variables() -> Iterator[tuple[str, str, str]]:
    """(where, name, value) of every BACKORDER_* variable set in deploy/."""
    for service_name, service in load_yaml(COMPOSE_FILE)["services"].items():
        for name, value in (service.get("environment") or {}).items():
            yield f"compose:{service_name}", name, compose_interpolate(str(value))
    for path, obj in k8s_objects():
        where = f"{path.name}:{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret":  # loaded whole with envFrom
            for name, value in obj.get("stringData", {}).items():
                yield where, name, value
        if obj["kind"] == "TriggerAuthentication":
            for ref in obj["spec"]["secretTargetRef"]:
                yield where, ref["key"], "value"
        template = obj.get("spec", {}).get("template", {})
        for container in containers(template["spec"]) if "spec" in template else []:
            for item in container.get("env", []):
                yield where, item["name"], item.get("value", "value")


BACKORDER_VARIABLES = [
    pytest.param(name, value, id=f"{where}:{name}")
    for where, name, value in variables()
    if name.startswith(ENV_PREFIX)
]


def test_compose_and_kubernetes_set_backorder_variables() -> None:
    names = {param.values[0] for param in BACKORDER_VARIABLES}

    assert {
        "BACKORDER_DATABASE__URL",
        "BACKORDER_KAFKA__BOOTSTRAP_SERVERS",
        CONFIG_ENV_VAR,
    } <= names


@pytest.mark.parametrize(("name", "value"), BACKORDER_VARIABLES)
def test_every_backorder_variable_names_a_real_setting(name: str, value: str) -> None:
    if name == CONFIG_ENV_VAR:
        assert value.endswith(".toml")
        return

    assert setting_for_env_var(name) is not None, f"{name} names no setting"
    load_settings(env={name: value})  # raises on an unknown key or an invalid value


@pytest.mark.parametrize(
    "name",
    [
        "BACKORDER_KAFK__GROUP_ID",  # an unknown section: load_settings would ignore it
        "BACKORDER_KAFKA__GROUP",
        "BACKORDER_KAFKA",
        "BACKORDER_FENCES__COMPLETE_STOCK",
        "BACKORDER_SITE__SPLIT_ALLOWED__X",
        "KAFKA_BOOTSTRAP_SERVERS",
    ],
)
def test_a_misspelt_variable_is_caught(name: str) -> None:
    assert setting_for_env_var(name) is None


def test_nested_sections_are_reached() -> None:
    assert setting_for_env_var("BACKORDER_FENCES__COMPLETE_STOCK__MODE") == (
        "fences",
        "complete_stock",
        "mode",
    )


def test_the_compose_worker_environment_loads_as_a_whole() -> None:
    environment = load_yaml(COMPOSE_FILE)["services"]["worker"]["environment"]
    settings = load_settings(
        env={name: compose_interpolate(str(value)) for name, value in environment.items()}
    )

    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.database.url.startswith("postgresql+psycopg://backorder_worker:")
    assert settings.redis.url == "redis://redis:6379/0"


DOCS = ROOT / "docs" / "deploy.md"


def test_every_variable_the_deploy_guide_names_is_a_real_setting() -> None:
    names = set(re.findall(r"\bBACKORDER_[A-Z0-9_]*[A-Z0-9]", DOCS.read_text(encoding="utf-8")))

    assert names, "the guide names no variable"
    assert {name for name in names - {CONFIG_ENV_VAR} if setting_for_env_var(name) is None} == set()


def test_the_toml_examples_of_the_deploy_guide_load(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)

    assert blocks
    for index, block in enumerate(blocks):
        path = tmp_path / f"example-{index}.toml"
        path.write_text(block, encoding="utf-8")
        load_settings(str(path), env={})
