"""A throw-away ClickHouse server (Debian's `clickhouse-server`, 18.16) on loopback.

18.16 insists on `mark_cache_size` and reads users from a separate file; we write both into the
service's scratch dir so nothing under /etc or /var/lib is touched.
"""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from vsx.services.process import LOOPBACK, ServiceError, ServiceProcess, free_port

CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>{root}/log/clickhouse-server.log</log>
        <errorlog>{root}/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>{host}</listen_host>
    <tcp_port>{tcp_port}</tcp_port>
    <http_port>{http_port}</http_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>{root}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
"""


def clickhouse_binary() -> str:
    """Path of `clickhouse-server` (or the multi-call `clickhouse` binary)."""
    for name in ("clickhouse-server", "clickhouse"):
        found = shutil.which(name)
        if found:
            return found
    raise ServiceError("clickhouse-server not found: run `make setup` (apt-get install clickhouse-server)")


def _http_ping(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/ping", timeout=0.5) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_clickhouse(workdir: Path, timeout: float = 60.0, ports: dict[str, int] | None = None) -> ServiceProcess:
    """Write a config into `workdir`, start the server on free loopback ports and wait for /ping.

    `ports` (`{"tcp": …, "http": …}`, e.g. a stopped server's `.ports`) with the same `workdir` restarts
    that server with its data (fault tests).
    """
    tcp_port, http_port = (ports["tcp"], ports["http"]) if ports else (free_port(), free_port())
    for sub in ("log", "data", "tmp", "user_files", "format_schemas"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    config = workdir / "config.xml"
    config.write_text(CONFIG.format(root=workdir, host=LOOPBACK, tcp_port=tcp_port, http_port=http_port))
    (workdir / "users.xml").write_text(USERS)
    binary = clickhouse_binary()
    argv = [binary, f"--config-file={config}"]
    if binary.endswith("/clickhouse"):
        argv = [binary, "server", f"--config-file={config}"]
    proc = ServiceProcess("clickhouse", argv, workdir, {"tcp": tcp_port, "http": http_port})
    proc.start(lambda: _http_ping(http_port), timeout=timeout)
    return proc


def clickhouse_url(proc: ServiceProcess, database: str = "vsx") -> str:
    """The `clickhouse://` URL clickhouse-driver takes for this server."""
    return f"clickhouse://{LOOPBACK}:{proc.ports['tcp']}/{database}"
