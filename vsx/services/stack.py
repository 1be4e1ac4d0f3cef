"""A local stack that outlives the command that started it: Tansu + one ClickHouse server, or with
`cluster=True` Tansu + ZooKeeper + two ClickHouse shards forming cluster `vsx` (the production topology).

`vsx services up` starts it and records PIDs (with their start time and command line), ports and the
scratch dir in a state file; `down` stops those processes — only while they are still the recorded
ones — and removes the scratch dir; `status` checks them. Pytest uses the same `start_*` functions
directly, as fixtures.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from config_files.atomic import write_atomic
from vsx.services.clickhouse import clickhouse_url, start_clickhouse
from vsx.services.cluster import CLUSTER_NAME, start_cluster
from vsx.services.process import ServiceError, ServiceProcess, port_open, recorded_state, stop_recorded
from vsx.services.tansu import bootstrap_servers, start_tansu


def state_file(data_dir: Path) -> Path:
    return data_dir / "services" / "state.json"


def read_state(data_dir: Path) -> dict[str, Any]:
    path = state_file(data_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    write_atomic(state_file(data_dir), json.dumps(state, indent=2))


def build_state(
    scratch: Path, processes: dict[str, ServiceProcess], env: dict[str, str], cluster: bool = False
) -> dict[str, Any]:
    """The state file's content: every process's record (in start order), the env to export, the topology."""
    return {
        "scratch": str(scratch),
        "cluster": cluster,
        "services": {label: proc.record() for label, proc in processes.items()},
        "env": env,
    }


def _start(scratch: Path, cluster: bool) -> dict[str, Any]:
    tansu = start_tansu(scratch / "tansu")
    processes = {"tansu": tansu}
    try:
        if cluster:
            local = start_cluster(scratch / "cluster")
            processes |= local.processes()
            servers = local.nodes
        else:
            servers = [start_clickhouse(scratch / "clickhouse")]
            processes["clickhouse"] = servers[0]
        env = {
            "VSX_EMBEDDED": "false",
            "VSX_KAFKA__BOOTSTRAP_SERVERS": json.dumps(bootstrap_servers(tansu)),
            "VSX_CLICKHOUSE__URL": clickhouse_url(servers[0]),
        }
        if cluster:
            env["VSX_CLICKHOUSE__CLUSTER"] = CLUSTER_NAME
        state = build_state(scratch, processes, env, cluster)
    except BaseException:
        for proc in reversed(processes.values()):
            proc.stop()
        raise
    state["nodes"] = [clickhouse_url(server) for server in servers]
    return state


def up(data_dir: Path, cluster: bool = False) -> dict[str, Any]:
    """Start the stack unless it already runs; return the state (ports, PIDs, env to export).

    A running stack of the other topology is an error: `down` first.
    """
    state = read_state(data_dir)
    services = state.get("services", {})
    if services and all(recorded_state(s) == "running" for s in services.values()):
        if bool(state.get("cluster")) != cluster:
            running = "a cluster" if state.get("cluster") else "a single ClickHouse server"
            raise ServiceError(f"services already run with {running}: run `vsx services down` first")
        return state
    down(data_dir)
    scratch = Path(tempfile.mkdtemp(prefix="vsx-services-"))
    try:
        state = _start(scratch, cluster)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    write_state(data_dir, state)
    return state


def down(data_dir: Path) -> dict[str, list[str]]:
    """Stop the recorded processes, last started first, and remove their scratch dir.

    Returns the labels by outcome: `stopped`, `gone` (already exited), `reused` (the PID now belongs to
    another process, which is left alone).
    """
    state = read_state(data_dir)
    outcome: dict[str, list[str]] = {"stopped": [], "gone": [], "reused": []}
    for label, record in reversed(state.get("services", {}).items()):
        before = stop_recorded(record)
        outcome["stopped" if before == "running" else before].append(label)
    if state.get("scratch"):
        shutil.rmtree(state["scratch"], ignore_errors=True)
    state_file(data_dir).unlink(missing_ok=True)
    return outcome


def status(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Per service: pid, state (running / gone / reused), whether each recorded port accepts connections, log."""
    state = read_state(data_dir)
    return {
        label: {
            "pid": record["pid"],
            "state": recorded_state(record),
            "ports": {k: {"port": v, "open": port_open(v)} for k, v in record["ports"].items()},
            "log": record["log"],
        }
        for label, record in state.get("services", {}).items()
    }
