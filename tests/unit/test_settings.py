"""Settings come from defaults, then one TOML file, then `BACKORDER_*` variables."""

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from backorder_worker.entrypoints.commands.run import command as run_command
from backorder_worker.settings import (
    KafkaSettings,
    Settings,
    kafka_client_kwargs,
    kafka_security_kwargs,
    load_settings,
)
from backorder_worker.settings_errors import SettingsError, is_not_a_setting, resolve

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config.example.toml"


def toml_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "backorder.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_are_those_of_the_spec() -> None:
    settings = load_settings(env={})

    assert settings == Settings()
    assert (settings.kafka.bootstrap_servers, settings.kafka.group_id) == (
        "localhost:9092",
        "backorder-worker",
    )
    assert settings.topics.stock_stowed == "stock-stowed"
    assert settings.topics.dead_letter == "dead-letter"
    assert settings.site.future_inventory_enabled is True
    assert (settings.site.future_date_limit_days, settings.site.default_backorder_days) == (30, 14)
    assert settings.site.void_and_reauth_on_release is False
    assert settings.site.split_allowed is True
    assert (settings.site.partial_release, settings.site.release_order) == ("none", "fifo")
    assert settings.site.allow_skip is True
    assert settings.fences.complete_stock.mode == "reactive"
    assert settings.redis.is_enabled is False


def test_the_example_config_states_every_default() -> None:
    assert load_settings(str(EXAMPLE_CONFIG), env={}) == Settings()


def test_a_toml_file_sets_values(tmp_path: Path) -> None:
    path = toml_file(tmp_path, '[site]\nrelease_order = "priority"\n[redis]\nurl = "redis://r"\n')

    settings = load_settings(path, env={})

    assert settings.site.release_order == "priority"
    assert settings.site.split_allowed is True
    assert settings.redis.is_enabled


def test_the_config_file_can_be_named_by_backorder_config(tmp_path: Path) -> None:
    path = toml_file(tmp_path, "[site]\nallow_skip = false\n")

    assert load_settings(env={"BACKORDER_CONFIG": path}).site.allow_skip is False


def test_an_environment_variable_beats_the_toml_file(tmp_path: Path) -> None:
    path = toml_file(tmp_path, "[site]\nfuture_date_limit_days = 10\nsplit_allowed = false\n")

    settings = load_settings(path, env={"BACKORDER_SITE__FUTURE_DATE_LIMIT_DAYS": "45"})

    assert settings.site.future_date_limit_days == 45
    assert settings.site.split_allowed is False


def test_a_nested_fence_is_set_from_the_environment() -> None:
    settings = load_settings(env={"BACKORDER_FENCES__COMPLETE_STOCK__MODE": "static"})

    assert settings.fences.complete_stock.mode == "static"


def test_the_process_environment_is_read_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKORDER_TOPICS__SHIPMENTS", "oms-shipments")

    assert load_settings().topics.shipments == "oms-shipments"
    assert Settings().topics.shipments == "shipments"


@pytest.mark.parametrize(
    "text",
    ["[site]\nfuture_date_limit_dayz = 3\n", "[sight]\nallow_skip = true\n", "typo = 1\n"],
)
def test_an_unknown_key_in_the_file_is_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        load_settings(toml_file(tmp_path, text), env={})


def test_an_unknown_key_under_a_section_in_the_environment_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"site\.split_allow"):
        load_settings(env={"BACKORDER_SITE__SPLIT_ALLOW": "false"})


def test_a_value_outside_its_choices_is_rejected() -> None:
    with pytest.raises(ValidationError, match="partial_release"):
        load_settings(env={"BACKORDER_SITE__PARTIAL_RELEASE": "some"})


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(str(tmp_path / "absent.toml"), env={})


def test_a_plain_postgresql_url_is_normalised_to_psycopg() -> None:
    settings = load_settings(env={"BACKORDER_DATABASE__URL": "postgresql://u:pw@db:5432/bo"})

    assert settings.database.url == "postgresql+psycopg://u:pw@db:5432/bo"


def test_a_database_url_of_another_dialect_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match=r"database\.url") as caught:
        load_settings(env={"BACKORDER_DATABASE__URL": "mysql://u:hunter2@db/bo"})

    assert "hunter2" not in str(caught.value)


def test_secrets_are_not_in_the_repr() -> None:
    settings = load_settings(
        env={
            "BACKORDER_KAFKA__SASL_PLAIN_PASSWORD": "hunter2",
            "BACKORDER_KAFKA__SSL_PASSWORD": "hunter3",
            "BACKORDER_DATABASE__URL": "postgresql://u:hunter4@db/bo",
            "BACKORDER_REDIS__URL": "redis://:hunter5@cache:6379/0",
        }
    )

    for secret in ("hunter2", "hunter3", "hunter4", "hunter5"):
        assert secret not in repr(settings)
        assert secret not in str(settings)


def test_kafka_security_kwargs_hold_only_what_is_set_with_secrets_unwrapped() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="worker",
        sasl_plain_password=SecretStr("hunter2"),
    )

    assert kafka_security_kwargs(kafka) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": "hunter2",
    }
    assert kafka_security_kwargs(KafkaSettings()) == {}


def test_a_heartbeat_slower_than_the_session_timeout_is_rejected() -> None:
    with pytest.raises(ValidationError, match="heartbeat_interval_ms"):
        KafkaSettings(session_timeout_ms=3000, heartbeat_interval_ms=3000)


def test_settings_are_frozen() -> None:
    settings = Settings()

    with pytest.raises(ValidationError):
        settings.site = settings.site  # type: ignore[misc]


def test_the_http_port_and_the_kafka_connect_timeout_have_defaults_and_variables() -> None:
    settings = load_settings(
        env={
            "BACKORDER_OBSERVABILITY__HTTP_PORT": "9100",
            "BACKORDER_KAFKA__CONNECT_TIMEOUT_S": "2.5",
        }
    )

    assert (Settings().observability.http_port, Settings().kafka.connect_timeout_s) == (8000, 10)
    assert (settings.observability.http_port, settings.kafka.connect_timeout_s) == (9100, 2.5)
    assert kafka_client_kwargs(settings.kafka)["bootstrap_timeout_ms"] == 2500


def test_the_run_commands_default_port_is_the_settings_default() -> None:
    (default,) = [p.default for p in run_command.params if p.name == "http_port"]

    assert default == Settings().observability.http_port


@pytest.mark.parametrize(
    "name",
    ["BACKORDER_DATABASE_URL", "BACKORDER_SITEX__FOO", "BACKORDER_KAFKA", "BACKORDER_X"],
)
def test_a_variable_that_names_no_setting_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(env={name: "x"})


def test_the_variables_the_project_reads_that_are_not_settings_are_allowed() -> None:
    env = {
        "BACKORDER_CONFIG": "",
        "BACKORDER_FAULT_INJECT": "",
        "BACKORDER_TESTCONTAINERS": "1",
        "BACKORDER_TEST_DATABASE_URL": "postgresql://x",
        "BACKORDER_RELIABILITY_FIGURES": "1",
    }

    assert load_settings(env=env) == Settings()


ROOT = Path(__file__).resolve().parents[2]


def test_every_backorder_variable_named_outside_the_tests_is_a_setting_or_allowed() -> None:
    # Test modules (test_*.py) name wrong variables on purpose; fixtures, docs, deploy files
    # and code must not: a variable they use that is neither would make every command fail.
    where = [ROOT / "README.md", ROOT / "Makefile"] + [
        path
        for folder in ("backorder_worker", "bench", "deploy", "docs", "tests")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".sql", ""}
        and not path.name.startswith("test_")
    ]
    named = {
        name
        for path in where
        for name in re.findall(r"\bBACKORDER_[A-Z0-9_]*[A-Z0-9]\b", path.read_text("utf-8"))
    }

    assert "BACKORDER_TEST_DATABASE_URL" in named and "BACKORDER_DATABASE__URL" in named
    assert {
        name
        for name in named
        if resolve(name, Settings) != "setting" and not is_not_a_setting(name)
    } == set()


def test_a_malformed_file_is_named_with_its_line(tmp_path: Path) -> None:
    path = toml_file(tmp_path, "[site]\nallow_skip = yes\n")

    with pytest.raises(SettingsError, match=r"backorder\.toml is not valid TOML.*line 2"):
        load_settings(path, env={})
