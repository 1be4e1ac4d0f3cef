"""Effective settings, read once: `VSX_*` environment variables over an optional `vsx.toml`.

Nested fields use `__`: `VSX_KAFKA__BOOTSTRAP_SERVERS='["10.0.0.1:9092","10.0.0.2:9092"]'`,
`VSX_CLICKHOUSE__URL=clickhouse://127.0.0.1:9000/vsx`. The `vsx.toml` file is looked up in the
current directory (or at `$VSX_CONFIG_FILE`); it holds the same keys as the model below.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from event_logging.config import ClickHouseConfig, KafkaConfig
from vsx.errors import VsxError


class Settings(BaseSettings):
    """Everything a vsx process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="VSX_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("var/data")
    artifacts_dir: Path = Path("var/artifacts")
    experiments_dir: Path = Path("var/experiments")
    reports_dir: Path = Path("var/reports")
    embedded: bool = True
    kafka: KafkaConfig = KafkaConfig()
    clickhouse: ClickHouseConfig = ClickHouseConfig()
    admin_token: SecretStr = SecretStr("")
    trust_client_time: bool = False
    """`vsx serve` takes "now" and request ids from the simulator's headers (`vsx simulate --url`); never in
    production, where a client could then write events into any experiment window."""
    client_time_window_days: float | None = Field(default=None, gt=0, le=36_500)
    """With `trust_client_time`: refuse (422) a simulated time further than this from the server's clock, e.g. 1
    for a load test replaying live traffic. Unset, any time the event store holds is taken (1970 to 2106): a
    simulation's calendar is its own (the demo's starts in January 2026)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file())

    def public_dict(self) -> dict[str, Any]:
        """The settings as JSON-able data with secrets masked (what `vsx config` prints)."""
        data = self.model_dump(mode="json")
        data["admin_token"] = "********" if self.admin_token.get_secret_value() else ""
        return data


class SettingsError(VsxError, ValueError):
    """An environment variable or `vsx.toml` holds what the settings cannot take (the command line: one line)."""


def config_file() -> Path:
    """The `vsx.toml` read: `$VSX_CONFIG_FILE`, else `vsx.toml` in the current directory (absent is fine)."""
    return Path(os.environ.get("VSX_CONFIG_FILE", "vsx.toml"))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once (tests call `get_settings.cache_clear()`).

    Raises `SettingsError` naming the field, the environment variable that sets it and the value, or the
    file and line of a `vsx.toml` that does not parse.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors(include_url=False))) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config_file()}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{config_file()}: cannot read: {exc}") from None


def _describe(errors: list[Any]) -> str:
    """The first invalid setting: `kafka.partitions: ... (VSX_KAFKA__PARTITIONS or vsx.toml, got '0')`."""
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    variable = "VSX_" + "__".join(loc).upper()
    more = f"; {len(errors) - 1} more" if len(errors) > 1 else ""
    got = "" if first["type"] == "missing" else f", got {repr(first.get('input'))[:80]}"
    return f"invalid setting {'.'.join(loc)}: {first['msg']} ({variable} or {config_file()}{got}){more}"
