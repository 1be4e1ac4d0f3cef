"""Local Tansu broker, ClickHouse server or cluster (with ZooKeeper) on loopback, for tests and `vsx services`."""

from vsx.services.clickhouse import ClusterMember, clickhouse_url, start_clickhouse
from vsx.services.cluster import LocalCluster, start_cluster
from vsx.services.process import ServiceError, ServiceProcess, free_port
from vsx.services.tansu import bootstrap_servers, start_tansu
from vsx.services.zookeeper import start_zookeeper

__all__ = [
    "ClusterMember",
    "LocalCluster",
    "ServiceError",
    "ServiceProcess",
    "bootstrap_servers",
    "clickhouse_url",
    "free_port",
    "start_clickhouse",
    "start_cluster",
    "start_tansu",
    "start_zookeeper",
]
