"""A throw-away ZooKeeper (Debian's `zookeeper` package, 3.8) on loopback: the coordination service a
ClickHouse cluster needs for `Replicated*MergeTree` tables and `ON CLUSTER` DDL.

Run as the Java main class with our own `zoo.cfg` and data dir, so nothing under /etc or /var/lib is
touched; the slf4j-simple binding sends ZooKeeper's log to stderr, which is the service's log file.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from vsx.services.process import LOOPBACK, ServiceError, ServiceProcess, free_port

JARS = (Path("/usr/share/java/zookeeper.jar"), Path("/usr/share/java/slf4j-simple.jar"))
MAIN_CLASS = "org.apache.zookeeper.server.ZooKeeperServerMain"

# A short tick keeps session timeouts short (2–20 ticks): a ClickHouse server killed without a goodbye
# holds its replicas' "active" marks until its session expires, and a restarted one waits for that.
ZOO_CFG = """tickTime=500
dataDir={data}
clientPort={port}
clientPortAddress={host}
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
"""


def _serving(port: int) -> bool:
    """True once `srvr` reports a mode. (`ruok` answers `imok` before the server takes sessions, and a
    ClickHouse 18.16 server whose first ZooKeeper session fails can crash later.)"""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"srvr")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return False
    return b"Mode: " in answer


def zookeeper_argv(config: Path) -> list[str]:
    """The `java … ZooKeeperServerMain zoo.cfg` command line; a clear error when Java or the jars are missing."""
    java = shutil.which("java")
    missing = [str(jar) for jar in JARS if not jar.exists()]
    if java is None or missing:
        what = "java" if java is None else ", ".join(missing)
        raise ServiceError(f"ZooKeeper needs {what}: run `make setup` (apt-get install zookeeper)")
    return [java, "-Xmx256m", "-cp", ":".join(str(jar) for jar in JARS), MAIN_CLASS, str(config)]


def start_zookeeper(workdir: Path, timeout: float = 60.0, port: int | None = None) -> ServiceProcess:
    """A standalone ZooKeeper on `port` (default: a free loopback port), data under `workdir`, waited for."""
    port = port or free_port()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = workdir / "zoo.cfg"
    config.write_text(ZOO_CFG.format(data=data, port=port, host=LOOPBACK))
    proc = ServiceProcess("zookeeper", zookeeper_argv(config), workdir, {"client": port})
    proc.start(lambda: _serving(port), timeout=timeout)
    return proc
