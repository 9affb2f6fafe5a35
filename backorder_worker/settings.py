"""The worker's settings (SPEC §3, "Settings"): one TOML file, every key overridable by env.

This module owns what can be configured, its defaults and its validation. The entry point
calls `load_settings` once and passes the frozen result down; nothing else reads the file or
the environment, and constructing `Settings()` yields the defaults, whatever the environment.
Precedence, highest first: `BACKORDER_<SECTION>__<KEY>` variables, the TOML file (`--config`
or `BACKORDER_CONFIG`), the defaults. An unknown key in the file, or a `BACKORDER_*` variable
that names no setting, is an error, so a typo cannot silently fall back to a default.
"""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from backorder_worker.settings_errors import (
    SettingsError,
    SettingsFileNotFoundError,
    reject_unknown_variables,
)

CONFIG_ENV_VAR: Final = "BACKORDER_CONFIG"
DEFAULT_DATABASE_URL: Final = "postgresql+psycopg://postgres@localhost:5432/backorder"
_POSTGRES_SCHEMES: Final = ("postgresql+psycopg://", "postgresql://", "postgres://")
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")
MAX_DAYS: Final = 3650


class _Section(BaseModel):
    # URLs may carry passwords: errors name the key and the reason, never the value.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class KafkaSettings(_Section):
    """The consumer group; security options are passed to kafka-python as they are."""

    bootstrap_servers: str = Field(default="localhost:9092", min_length=1)
    group_id: str = Field(default="backorder-worker", min_length=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: SecretStr | None = None
    session_timeout_ms: PositiveInt = 45_000
    heartbeat_interval_ms: PositiveInt = 3_000
    max_poll_interval_ms: PositiveInt = 300_000
    max_poll_records: PositiveInt = 500
    # How long a command waits for the first broker to answer before it fails with a
    # message (kafka-python's `bootstrap_timeout_ms`; its own default is 30 s).
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> Self:
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be lower than session_timeout_ms")
        return self


class TopicsSettings(_Section):
    """Topic names, in and out."""

    stock_stowed: str = Field(default="stock-stowed", min_length=1)
    future_inventory: str = Field(default="future-inventory", min_length=1)
    shipments: str = Field(default="shipments", min_length=1)
    catalog: str = Field(default="catalog", min_length=1)
    shipment_released: str = Field(default="shipment-released", min_length=1)
    still_unroutable: str = Field(default="still-unroutable", min_length=1)
    dead_letter: str = Field(default="dead-letter", min_length=1)


class DatabaseSettings(_Section):
    """Postgres, the source of truth; the URL is always the psycopg 3 dialect once loaded."""

    url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)

    @field_validator("url")
    @classmethod
    def _psycopg_dialect(cls, url: str) -> str:
        for scheme in _POSTGRES_SCHEMES:
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url.removeprefix(scheme)
        raise ValueError("must start with postgresql:// or postgresql+psycopg://")


class RedisSettings(_Section):
    """The shared fast path; an empty URL runs without Redis."""

    url: str = Field(default="", repr=False)

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if url and not url.startswith(_REDIS_SCHEMES):
            raise ValueError("must be empty or start with redis://, rediss:// or unix://")
        return url

    @property
    def is_enabled(self) -> bool:
        return bool(self.url)


class SiteSettings(_Section):
    """The release rules of the site (R1, R3, R4, R7, R8, R12, R13)."""

    future_inventory_enabled: bool = True
    future_date_limit_days: int = Field(default=30, ge=0, le=MAX_DAYS)
    default_backorder_days: int = Field(default=14, ge=0, le=MAX_DAYS)
    void_and_reauth_on_release: bool = False
    split_allowed: bool = True
    partial_release: Literal["none", "line", "quantity"] = "none"
    release_order: Literal["fifo", "priority"] = "fifo"
    allow_skip: bool = True


class CompleteStockFenceSettings(_Section):
    """`reactive` lets a shipment wait for stock; `static` reports it unroutable (R2)."""

    mode: Literal["reactive", "static"] = "reactive"


class FencesSettings(_Section):
    complete_stock: CompleteStockFenceSettings = Field(default_factory=CompleteStockFenceSettings)


class ObservabilitySettings(_Section):
    """The HTTP port of `/metrics`, `/healthz` and `/readyz`; `run --http-port` overrides it."""

    http_port: int = Field(default=8000, ge=0, le=65535)  # 0: any free port


class RetentionSettings(_Section):
    """How long rows that only record the past are kept (docs/operations.md, "Retention").

    `inbox_days` must exceed the input topics' retention (Kafka's default is 7 days): an
    event id forgotten while its record can still be redelivered or replayed would be
    applied a second time. `replay` refuses a range older than the inbox keeps."""

    outbox_published_days: int = Field(default=7, ge=1, le=MAX_DAYS)
    inbox_days: int = Field(default=30, ge=1, le=MAX_DAYS)
    history_days: int = Field(default=90, ge=1, le=MAX_DAYS)
    ledger_days: int = Field(default=30, ge=1, le=MAX_DAYS)


class Settings(BaseSettings):
    """Everything configurable; build it with `load_settings`, or `Settings()` for defaults."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        env_prefix="BACKORDER_",
        env_nested_delimiter="__",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicsSettings = Field(default_factory=TopicsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    fences: FencesSettings = Field(default_factory=FencesSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values: the file and the environment are read by `load_settings`.
        return (init_settings,)


def load_settings(config_path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (`config_path`, else `$BACKORDER_CONFIG`), then `env`.

    `env` defaults to the process environment. A named file that does not exist raises
    `SettingsFileNotFoundError` (a `FileNotFoundError`), a file that is not TOML or a
    `BACKORDER_*` variable that names no setting `SettingsError`; invalid values and unknown
    keys raise pydantic's `ValidationError` (`settings_errors.explain_validation_error` says
    it for a person).
    """
    environment = os.environ if env is None else env
    named_by = "--config" if config_path else CONFIG_ENV_VAR
    path = config_path or environment.get(CONFIG_ENV_VAR) or None
    reject_unknown_variables(environment, Settings)
    # pydantic-settings merges sources in order, the first one winning: env over file.
    sources: list[PydanticBaseSettingsSource] = [_MappingEnvSource(Settings, environment)]
    if path is not None:
        if not Path(path).is_file():
            raise SettingsFileNotFoundError(
                f"settings file {path} (named by {named_by}) does not exist or is not a file"
            )
        try:
            sources.append(TomlConfigSettingsSource(Settings, toml_file=Path(path)))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"settings file {path} is not valid TOML: {error}") from None
        except OSError as error:
            raise SettingsError(f"cannot read settings file {path}: {error.strerror}") from None
    return Settings(_build_sources=(tuple(sources), {}))


def kafka_client_kwargs(kafka: KafkaSettings) -> dict[str, object]:
    """What every kafka-python client of the worker is given: the brokers, how long to wait
    for the first one to answer (`connect_timeout_s`) and the security options."""
    return {
        "bootstrap_servers": kafka.bootstrap_servers,
        "bootstrap_timeout_ms": round(kafka.connect_timeout_s * 1000),
        **kafka_security_kwargs(kafka),
    }


def kafka_security_kwargs(kafka: KafkaSettings) -> dict[str, object]:
    """The security options that are set, secrets unwrapped, as kafka-python keywords."""
    options: dict[str, object] = {}
    for name in KafkaSettings.model_fields:
        if not name.startswith(("security_", "sasl_", "ssl_")):
            continue
        value = getattr(kafka, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value:
            options[name] = value
    return options


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environment: Mapping[str, str]) -> None:
        self._environment = environment  # read by _load_env_vars during super().__init__
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environment, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )
