"""deploy/compose.yaml: valid Compose, Kafka in KRaft mode, and the start order it promises."""

import base64
import copy
import json
import re
import shlex
from importlib import resources
from typing import Any

import pytest

from backorder_worker.settings import Settings
from tests.deploy.support import (
    COMPOSE_FILE,
    DEPLOY,
    ROOT,
    compose_interpolate,
    load_yaml,
    longest_batch_s,
    require_module,
)

PARTITIONS = 4


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = load_yaml(COMPOSE_FILE)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as vendored by check-jsonschema (Apache-2.0,
    from github.com/compose-spec/compose-spec)."""
    require_module("check_jsonschema", "check-jsonschema")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


def compose_errors(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    jsonschema = require_module("jsonschema", "jsonschema")
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def test_the_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    assert compose_errors(compose, compose_schema) == []


def test_the_compose_schema_rejects_a_misspelt_key(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["depend_on"] = broken["services"]["worker"].pop("depends_on")

    assert compose_errors(broken, compose_schema), "the schema check would let typos through"


def test_the_stack_has_kafka_postgres_redis_the_one_shots_and_the_worker(
    compose: dict[str, Any],
) -> None:
    assert set(services(compose)) == {"kafka", "topics", "postgres", "redis", "migrate", "worker"}
    assert services(compose)["postgres"]["image"] == "postgres:15"
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", services(compose)["redis"]["image"])


def test_kafka_is_the_official_image_in_kraft_mode_with_one_node(compose: dict[str, Any]) -> None:
    kafka = services(compose)["kafka"]
    env = {key: str(value) for key, value in kafka["environment"].items()}
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )

    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", kafka["image"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert listeners["CONTROLLER"] == ":9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert set(listeners) == set(protocols), "every listener has a security protocol"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "a base64 UUID"
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_topics_one_shot_creates_every_topic_of_the_settings_with_4_partitions(
    compose: dict[str, Any],
) -> None:
    topics = services(compose)["topics"]
    script = " ".join(topics["command"])
    loop = re.search(r"for topic in (?P<names>.*?); do", script, re.S)
    assert loop is not None
    created = set(shlex.split(loop["names"].replace("\\\n", " ")))
    create = re.search(r"kafka-topics\.sh (?P<args>[^\n]*--create[^\n]*\n[^\n]*)", script)
    assert create is not None

    assert created == set(Settings().topics.model_dump().values())
    assert f"--partitions {PARTITIONS}" in create["args"]
    assert "--if-not-exists" in create["args"]
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}


@pytest.mark.parametrize("name", ["kafka", "postgres", "redis"])
def test_the_stateful_services_have_healthchecks(compose: dict[str, Any], name: str) -> None:
    healthcheck = services(compose)[name]["healthcheck"]

    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert not healthcheck.get("disable", False)


def test_the_worker_starts_after_migrate_and_topics_completed_and_the_services_are_healthy(
    compose: dict[str, Any],
) -> None:
    depends_on = services(compose)["worker"]["depends_on"]

    assert depends_on == {
        "migrate": {"condition": "service_completed_successfully"},
        "topics": {"condition": "service_completed_successfully"},
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services(compose)["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }


def test_migrate_and_worker_are_the_image_of_deploy_dockerfile(compose: dict[str, Any]) -> None:
    for name, command in (("migrate", ["migrate"]), ("worker", ["run", "--http-port", "8000"])):
        service = services(compose)[name]
        build = service["build"]

        assert (DEPLOY / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert service["command"] == command
    assert services(compose)["worker"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services(compose)["migrate"]["healthcheck"] == {"disable": True}


def test_every_published_port_answers_on_the_loopback_interface_only(
    compose: dict[str, Any],
) -> None:
    published = {
        name: service["ports"] for name, service in services(compose).items() if "ports" in service
    }

    assert set(published) == {"kafka", "postgres", "redis", "worker"}
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)


def test_migrate_logs_in_as_the_owner_and_the_worker_as_the_dml_only_role(
    compose: dict[str, Any],
) -> None:
    def database_user(service: str) -> str:
        url = compose_interpolate(
            services(compose)[service]["environment"]["BACKORDER_DATABASE__URL"]
        )
        match = re.match(r"postgresql://(?P<user>[^:@]+)(:[^@]*)?@postgres:5432/backorder$", url)
        assert match is not None, url
        return match["user"]

    assert database_user("migrate") == "backorder_owner"
    assert database_user("worker") == "backorder_worker"


def test_postgres_runs_init_sql_with_the_role_passwords_the_urls_use(
    compose: dict[str, Any],
) -> None:
    postgres = services(compose)["postgres"]
    mounts = [volume.split(":") for volume in postgres["volumes"]]
    env = postgres["environment"]
    worker_url = compose_interpolate(
        services(compose)["worker"]["environment"]["BACKORDER_DATABASE__URL"]
    )
    owner_url = compose_interpolate(
        services(compose)["migrate"]["environment"]["BACKORDER_DATABASE__URL"]
    )

    init = [mount for mount in mounts if mount[0] == "./postgres/init.sql"]
    assert len(init) == 1
    assert init[0][1].startswith("/docker-entrypoint-initdb.d/") and init[0][1].endswith(".sql")
    assert (DEPLOY / "postgres" / "init.sql").is_file()
    assert env["POSTGRES_DB"] == "backorder"
    assert f":{compose_interpolate(env['DB_WORKER_PASSWORD'])}@" in worker_url
    assert f":{compose_interpolate(env['DB_OWNER_PASSWORD'])}@" in owner_url


def test_the_worker_gets_a_grace_period_longer_than_a_batch(compose: dict[str, Any]) -> None:
    grace = services(compose)["worker"]["stop_grace_period"]

    assert re.fullmatch(r"\d+s", grace)
    assert int(grace[:-1]) >= longest_batch_s()
