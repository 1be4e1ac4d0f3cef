"""Effective settings, read once: `VSX_*` environment variables over an optional `vsx.toml`.

Nested fields use `__`: `VSX_KAFKA__BOOTSTRAP_SERVERS='["10.0.0.1:9092","10.0.0.2:9092"]'`,
`VSX_CLICKHOUSE__URL=clickhouse://127.0.0.1:9000/vsx`.

State lives under one home folder, never the current directory, so `vsx` answers the same from any folder:
`VSX_HOME` when set, else the source checkout the package runs from (`make setup` installs it editable, so
that is the project root), else `$XDG_DATA_HOME/vsx` (`~/.local/share/vsx`) for an installed wheel. Relative
state paths (`data_dir`, `artifacts_dir`, `experiments_dir`, `reports_dir`, from any source) are taken
relative to home. `vsx.toml` is read from home (or from `$VSX_CONFIG_FILE`); it holds the same keys as the
model below.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from analysis.config import AnalysisConfig
from event_logging.config import ClickHouseConfig, KafkaConfig
from search_core.milvus_config import MilvusConfig
from vsx.errors import SettingsError

ENV_PREFIX = "VSX_"
STATE_DIRS = ("data_dir", "artifacts_dir", "experiments_dir", "reports_dir")


def checkout_root() -> Path | None:
    """The source checkout this package runs from (its `pyproject.toml` names the `vsx` project), if any."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        return root if 'name = "vsx"' in pyproject.read_text() else None
    except OSError:
        return None


def default_home() -> Path:
    """Home when `VSX_HOME` is not set: the source checkout, else the user's data folder."""
    root = checkout_root()
    if root is not None:
        return root
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "vsx"


def env_name(field: str) -> str:
    """The environment variable that sets a field: `reports_dir` → `VSX_REPORTS_DIR`."""
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    """Everything a vsx process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    home: Path = Field(default_factory=default_home)
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
    milvus: MilvusConfig = MilvusConfig()
    admin_token: SecretStr = SecretStr("")
    trust_client_time: bool = False
    """`vsx serve` takes "now" and request ids from the simulator's headers (`vsx simulate --url`); never in
    production, where a client could then write events into any experiment window."""
    client_time_window_days: float | None = Field(default=None, gt=0, le=36_500)
    """With `trust_client_time`: refuse (422) a simulated time further than this from the server's clock, e.g. 1
    for a load test replaying live traffic. Unset, any time the event store holds is taken (1970 to 2106): a
    simulation's calendar is its own (the demo's starts in January 2026)."""
    report_refresh_minutes: float = Field(default=10.0, ge=0)
    """How often `vsx serve` on the embedded store re-analyses its running experiments into `reports_dir`
    (it owns the store, so nobody else can); 0 turns the schedule off (`POST /v1/admin/analyze/{name}` still
    works)."""

    @model_validator(mode="after")
    def _state_under_home(self) -> Settings:
        self.home = self.home.expanduser().absolute()
        for name in STATE_DIRS:
            path = getattr(self, name).expanduser()
            setattr(self, name, path if path.is_absolute() else self.home / path)
        return self

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

    @property
    def chdb_path(self) -> Path:
        """The embedded event store (chdb), one process at a time."""
        return self.data_dir / "chdb"

    @property
    def spool_dir(self) -> Path:
        """Where a Kafka sink spools events while the brokers are unreachable."""
        return self.data_dir / "spool"

    def moved_by(self, field: str) -> str:
        """How a user moves a state folder, for "not found" messages: `set VSX_REPORTS_DIR or VSX_HOME to move it`."""
        return f"set {env_name(field)} (or {env_name('home')}, for all state) to move it"

    @property
    def catalog_additions_dir(self) -> Path:
        """Where images added to catalogs after their build are kept (`search_core.catalog_additions`)."""
        return self.data_dir / "catalog"

    @property
    def milvus_uri(self) -> str:
        """The Milvus cluster of the settings, or else an embedded milvus-lite file in the data folder."""
        return self.milvus.uri or str(self.data_dir / "milvus" / "milvus.db")

    def public_dict(self) -> dict[str, Any]:
        """The settings as JSON-able data with secrets masked (what `vsx config` prints)."""
        data = self.model_dump(mode="json")
        data["admin_token"] = "********" if self.admin_token.get_secret_value() else ""
        data["milvus"]["token"] = "********" if self.milvus.token.get_secret_value() else ""
        return data


def config_file() -> Path:
    """The `vsx.toml` read: `$VSX_CONFIG_FILE`, else `vsx.toml` in the home folder (absent is fine)."""
    home = Path(os.environ[env_name("home")]) if os.environ.get(env_name("home")) else default_home()
    return Path(os.environ.get("VSX_CONFIG_FILE") or home / "vsx.toml")


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
    variable = env_name("__".join(loc))
    more = f"; {len(errors) - 1} more" if len(errors) > 1 else ""
    got = "" if first["type"] == "missing" else f", got {repr(first.get('input'))[:80]}"
    return f"invalid setting {'.'.join(loc)}: {first['msg']} ({variable} or {config_file()}{got}){more}"
