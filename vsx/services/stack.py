"""A local stack (Tansu + ClickHouse) that outlives the command that started it.

`vsx services up` starts both and records PIDs, ports and scratch dirs in a state file;
`down` stops those PIDs and removes the scratch dirs; `status` checks them. Pytest uses the same
`start_tansu` / `start_clickhouse` functions directly, as session fixtures.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from vsx.services.clickhouse import clickhouse_url, start_clickhouse
from vsx.services.process import pid_alive, port_open, stop_pid
from vsx.services.tansu import bootstrap_servers, start_tansu


def state_file(data_dir: Path) -> Path:
    return data_dir / "services" / "state.json"


def read_state(data_dir: Path) -> dict[str, Any]:
    path = state_file(data_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def up(data_dir: Path) -> dict[str, Any]:
    """Start whatever is not already running; return the state (ports, PIDs, env to export)."""
    state = read_state(data_dir)
    if state and all(pid_alive(s["pid"]) for s in state["services"].values()):
        return state
    down(data_dir)
    scratch = Path(tempfile.mkdtemp(prefix="vsx-services-"))
    tansu = start_tansu(scratch / "tansu")
    try:
        clickhouse = start_clickhouse(scratch / "clickhouse")
    except Exception:
        tansu.stop()
        raise
    state = {
        "scratch": str(scratch),
        "services": {p.name: {"pid": p.pid, "ports": p.ports, "log": str(p.log_path)} for p in (tansu, clickhouse)},
        "env": {
            "VSX_EMBEDDED": "false",
            "VSX_KAFKA__BOOTSTRAP_SERVERS": json.dumps(bootstrap_servers(tansu)),
            "VSX_CLICKHOUSE__URL": clickhouse_url(clickhouse),
        },
    }
    path = state_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    return state


def down(data_dir: Path) -> list[str]:
    """Stop the recorded PIDs (never by name) and remove their scratch dir; return what was stopped."""
    state = read_state(data_dir)
    stopped = []
    for name, svc in state.get("services", {}).items():
        if pid_alive(svc["pid"]):
            stop_pid(svc["pid"])
            stopped.append(name)
    if state.get("scratch"):
        shutil.rmtree(state["scratch"], ignore_errors=True)
    state_file(data_dir).unlink(missing_ok=True)
    return stopped


def status(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Per service: pid, alive, and whether each recorded port accepts connections."""
    state = read_state(data_dir)
    return {
        name: {
            "pid": svc["pid"],
            "alive": pid_alive(svc["pid"]),
            "ports": {k: {"port": v, "open": port_open(v)} for k, v in svc["ports"].items()},
            "log": svc["log"],
        }
        for name, svc in state.get("services", {}).items()
    }
