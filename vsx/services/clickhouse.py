"""A throw-away ClickHouse server (Debian's `clickhouse-server`, 18.16) on loopback.

18.16 insists on `mark_cache_size` and reads users from a separate file; we write both into the
service's scratch dir so nothing under /etc or /var/lib is touched.
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
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
{cluster}</yandex>
"""

# One replica per shard: `internal_replication` lets the Replicated tables copy data between replicas
# (the Distributed table writes each row once). The ZooKeeper session is short so that a killed server's
# replicas stop counting as active soon after it dies (see `vsx.services.zookeeper`).
CLUSTER_CONFIG = """    <interserver_http_host>{host}</interserver_http_host>
    <interserver_http_port>{interserver_port}</interserver_http_port>
    <remote_servers><{cluster}>
{shards}    </{cluster}></remote_servers>
    <zookeeper>
        <node><host>{host}</host><port>{zookeeper_port}</port></node>
        <session_timeout_ms>5000</session_timeout_ms>
    </zookeeper>
    <macros><shard>{shard}</shard><replica>{replica}</replica></macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
"""

SHARD = """        <shard><internal_replication>true</internal_replication>
            <replica><host>{host}</host><port>{port}</port></replica></shard>
"""

# `poll_interval`: an idle connection notices a shutdown only this often (default 10 s), and cluster nodes
# keep connections to each other, so SIGTERM would otherwise take 10 s.
USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default>
        <max_memory_usage>4000000000</max_memory_usage>
        <poll_interval>1</poll_interval>
    </default></profiles>
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


@dataclass(frozen=True)
class ClusterMember:
    """A server's place in a cluster: the cluster's name, every shard's TCP port, ZooKeeper, its macros."""

    cluster: str
    shard_ports: tuple[int, ...]
    zookeeper_port: int
    shard: int
    replica: str

    def config(self, interserver_port: int) -> str:
        shards = "".join(SHARD.format(host=LOOPBACK, port=port) for port in self.shard_ports)
        return CLUSTER_CONFIG.format(
            host=LOOPBACK,
            interserver_port=interserver_port,
            cluster=self.cluster,
            shards=shards,
            zookeeper_port=self.zookeeper_port,
            shard=self.shard,
            replica=self.replica,
        )


def start_clickhouse(
    workdir: Path,
    timeout: float = 60.0,
    ports: dict[str, int] | None = None,
    member: ClusterMember | None = None,
) -> ServiceProcess:
    """Write a config into `workdir`, start the server on free loopback ports and wait for /ping.

    `ports` (`{"tcp": …, "http": …}`, e.g. a stopped server's `.ports`) with the same `workdir` restarts
    that server with its data (fault tests). `member` makes it a node of a cluster (`vsx.services.cluster`),
    with an `interserver` port too.
    """
    ports = dict(ports) if ports else {"tcp": free_port(), "http": free_port()}
    cluster = ""
    if member is not None:
        ports.setdefault("interserver", free_port())
        cluster = member.config(ports["interserver"])
    for sub in ("log", "data", "tmp", "user_files", "format_schemas"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    config = workdir / "config.xml"
    config.write_text(
        CONFIG.format(root=workdir, host=LOOPBACK, tcp_port=ports["tcp"], http_port=ports["http"], cluster=cluster)
    )
    (workdir / "users.xml").write_text(USERS)
    binary = clickhouse_binary()
    argv = [binary, f"--config-file={config}"]
    if binary.endswith("/clickhouse"):
        argv = [binary, "server", f"--config-file={config}"]
    proc = ServiceProcess("clickhouse", argv, workdir, ports)
    proc.start(lambda: _http_ping(ports["http"]), timeout=timeout)
    return proc


def clickhouse_url(proc: ServiceProcess, database: str = "vsx") -> str:
    """The `clickhouse://` URL clickhouse-driver takes for this server."""
    return f"clickhouse://{LOOPBACK}:{proc.ports['tcp']}/{database}"
