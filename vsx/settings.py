"""Effective settings, read once: `VSX_*` environment variables over an optional `vsx.toml`.

Nested fields use `__`: `VSX_KAFKA__BOOTSTRAP_SERVERS='["10.0.0.1:9092","10.0.0.2:9092"]'`,
`VSX_CLICKHOUSE__URL=clickhouse://127.0.0.1:9000/vsx`. The `vsx.toml` file is looked up in the
current directory (or at `$VSX_CONFIG_FILE`); it holds the same keys as the model below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from analysis.config import AnalysisConfig
from event_logging.config import ClickHouseConfig, KafkaConfig


class Settings(BaseSettings):
    """Everything a vsx process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="VSX_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("var/data")
    artifacts_dir: Path = Path("var/artifacts")
    experiments_dir: Path = Path("var/experiments")
    reports_dir: Path = Path("var/reports")
    metrics_dir: Path = Path("var/metrics")
    """Metric definitions (`*.yaml`, the contract of `analysis.metric_schema`) beside the built-in ones."""
    embedded: bool = True
    kafka: KafkaConfig = KafkaConfig()
    clickhouse: ClickHouseConfig = ClickHouseConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    admin_token: SecretStr = SecretStr("")
    trust_client_time: bool = False
    """`vsx serve` takes "now" and request ids from the simulator's headers (`vsx simulate --url`); never in
    production, where a client could then write events into any experiment window."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("VSX_CONFIG_FILE", "vsx.toml"))
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file)

    def public_dict(self) -> dict[str, Any]:
        """The settings as JSON-able data with secrets masked (what `vsx config` prints)."""
        data = self.model_dump(mode="json")
        data["admin_token"] = "********" if self.admin_token.get_secret_value() else ""
        return data


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once (tests call `get_settings.cache_clear()`)."""
    return Settings()
