"""A local service process: started with its own log file, waited for, stopped by PID.

Shared by the pytest session fixtures and `vsx services up|down|status`. Shutdown is always
by the PID we started (never by process name), so a developer's own ClickHouse is never touched.
A PID recorded for a later command (`vsx services down`) is signalled only while the process still
has the start time and command line recorded with it: PIDs are reused once a process is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil

from vsx.errors import VsxError

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# psutil adds a process's start (in ticks since boot) to the boot time, which the kernel gives in whole seconds
# and shifts as the wall clock is adjusted, so two readings can differ by a second; the command line must match
# as well, so this slack cannot make another process look like ours.
START_TIME_SLACK_S = 2.0

RecordedState = Literal["running", "gone", "reused"]


class ServiceError(VsxError, RuntimeError):
    """A local service could not be started or did not become ready."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the process, wait, then SIGKILL it; a process already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            waited = 0
        if waited == pid or not pid_alive(pid):
            return
        time.sleep(0.05)
    logger.warning("pid %d ignored SIGTERM for %.0f s; sending SIGKILL", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def process_identity(pid: int) -> dict[str, Any] | None:
    """What tells a process apart from a later one with the same PID: start time and command line."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return {"started": proc.create_time(), "cmdline": proc.cmdline()}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _recorded(record: Mapping[str, Any]) -> tuple[RecordedState, psutil.Process | None]:
    try:
        proc = psutil.Process(record["pid"])
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return "gone", None
            ours = (
                record.get("started") is not None
                and abs(proc.create_time() - record["started"]) <= START_TIME_SLACK_S
                and proc.cmdline() == record.get("cmdline")
            )
    except psutil.NoSuchProcess:
        return "gone", None
    except psutil.AccessDenied:
        return "reused", None  # we could read our own process: this one belongs to someone else
    return ("running", proc) if ours else ("reused", None)


def recorded_state(record: Mapping[str, Any]) -> RecordedState:
    """Whether the process of a record (`pid`, `started`, `cmdline`) still runs, is gone, or its PID was reused."""
    return _recorded(record)[0]


def _exited(proc: psutil.Process, timeout: float) -> bool:
    """Wait up to `timeout` for the process to exit (reaping it if it is our child); a zombie has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(0.1)
            return True
        except psutil.TimeoutExpired:
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    return True
            except psutil.NoSuchProcess:
                return True
        if time.monotonic() > deadline:
            return False


def stop_recorded(record: Mapping[str, Any], timeout: float = 10.0) -> RecordedState:
    """SIGTERM, then SIGKILL after `timeout`, the recorded process — only while it is still the recorded one.

    Returns its state before: only a "running" one was signalled. psutil checks again, right before each
    signal, that the PID still belongs to the process it looked at.
    """
    state, proc = _recorded(record)
    if proc is None:
        return state
    try:
        proc.terminate()
        if not _exited(proc, timeout):
            logger.warning("pid %d ignored SIGTERM for %.0f s; sending SIGKILL", proc.pid, timeout)
            proc.kill()
            _exited(proc, timeout)
    except psutil.NoSuchProcess:
        pass
    return state


@dataclass
class ServiceProcess:
    """One running service: its PID, its ports, its scratch dir and its log."""

    name: str
    argv: list[str]
    workdir: Path
    ports: dict[str, int]
    log_path: Path = field(init=False)
    pid: int | None = None

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.name}.log"

    def start(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        """Launch detached (own session, so Ctrl-C of a parent does not kill it) and wait until ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.pid = proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {proc.returncode} during start-up; log tail:\n"
                    f"{log_tail(self.log_path)}"
                )
            if ready():
                logger.info("%s ready (pid %d, ports %s)", self.name, self.pid, self.ports)
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(
            f"{self.name} not ready after {timeout:.0f} s (ports {self.ports}); log tail:\n{log_tail(self.log_path)}"
        )

    def record(self) -> dict[str, Any]:
        """What `vsx services` keeps of this running service: PID, identity (see `stop_recorded`), ports, log."""
        identity = process_identity(self.pid) if self.pid is not None else None
        if identity is None:
            raise ServiceError(f"{self.name} exited right after start-up; log tail:\n{log_tail(self.log_path)}")
        return {"pid": self.pid, **identity, "ports": self.ports, "log": str(self.log_path)}

    def stop(self, remove_workdir: bool = False) -> None:
        """Stop by PID and optionally delete the scratch dir."""
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None
        if remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
