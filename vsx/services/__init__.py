"""Local Tansu broker and ClickHouse server on loopback, for tests and for `vsx services`."""

from vsx.services.clickhouse import clickhouse_url, start_clickhouse
from vsx.services.process import ServiceError, ServiceProcess, free_port
from vsx.services.tansu import bootstrap_servers, start_tansu

__all__ = [
    "ServiceError",
    "ServiceProcess",
    "bootstrap_servers",
    "clickhouse_url",
    "free_port",
    "start_clickhouse",
    "start_tansu",
]
