"""A ClickHouse cluster on loopback: one ZooKeeper and N ClickHouse 18.16 servers, one shard each.

The production topology of the README on one machine: every server knows the cluster (`remote_servers`),
ZooKeeper and its own `{shard}`/`{replica}` macros, so `ON CLUSTER` migrations create `events_local`
(`ReplicatedReplacingMergeTree`) on every shard and the `Distributed` `events` table over them. Used by
the cluster integration test and by `vsx services up --cluster`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from vsx.services.clickhouse import ClusterMember, start_clickhouse
from vsx.services.process import ServiceProcess, free_port
from vsx.services.zookeeper import start_zookeeper

CLUSTER_NAME = "vsx"


def distinct_free_ports(n: int) -> list[int]:
    """`n` different free loopback ports (two calls to `free_port` may return the same one)."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@dataclass
class LocalCluster:
    """ZooKeeper plus one ClickHouse server per shard; `nodes[i]` is shard i + 1, all under `workdir`."""

    workdir: Path
    name: str
    zookeeper: ServiceProcess
    nodes: list[ServiceProcess]
    members: list[ClusterMember]

    def start_node(self, index: int, timeout: float = 60.0) -> ServiceProcess:
        """(Re)start shard `index + 1` on its ports, with its data: a stopped or killed node comes back."""
        node = self.nodes[index]
        if node.pid is not None:
            node.stop()
        self.nodes[index] = start_clickhouse(node.workdir, timeout, ports=node.ports, member=self.members[index])
        return self.nodes[index]

    def processes(self) -> dict[str, ServiceProcess]:
        """Every process by a unique label: `zookeeper`, `clickhouse-1`, `clickhouse-2`, …"""
        return {"zookeeper": self.zookeeper} | {f"clickhouse-{i + 1}": node for i, node in enumerate(self.nodes)}

    def stop(self, remove_workdir: bool = False) -> None:
        """Stop the servers, then ZooKeeper (servers talk to it while they shut down); optionally delete the data."""
        for node in self.nodes:
            node.stop()
        self.zookeeper.stop()
        if remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_cluster(workdir: Path, shards: int = 2, name: str = CLUSTER_NAME, timeout: float = 60.0) -> LocalCluster:
    """Start ZooKeeper and `shards` ClickHouse servers under `workdir`; everything already started is
    stopped again if a later step fails."""
    zookeeper = start_zookeeper(workdir / "zookeeper", timeout)
    nodes: list[ServiceProcess] = []
    try:
        free = iter(distinct_free_ports(3 * shards))
        node_ports = [{"tcp": next(free), "http": next(free), "interserver": next(free)} for _ in range(shards)]
        shard_ports = tuple(ports["tcp"] for ports in node_ports)
        members = [
            ClusterMember(name, shard_ports, zookeeper.ports["client"], shard=i + 1, replica=f"replica-{i + 1}")
            for i in range(shards)
        ]
        for i, (ports, member) in enumerate(zip(node_ports, members, strict=True)):
            nodes.append(start_clickhouse(workdir / f"clickhouse-{i + 1}", timeout, ports=ports, member=member))
    except BaseException:
        for node in nodes:
            node.stop()
        zookeeper.stop()
        raise
    return LocalCluster(workdir, name, zookeeper, nodes, members)
