"""Background processes tracked by pid files."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

from common.files import atomic_write_text
from stack.errors import StackError


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line contains ``marker``.

    A pid file that names a dead process, or a pid reused by another program, is stale: it is
    removed and None is returned.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return None
    if _is_alive_with(pid, marker):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def _is_alive_with(pid: int, marker: str) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and marker in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def spawn(
    command: Sequence[str], *, env: Mapping[str, str], pid_file: Path, log_file: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, appending its output to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    atomic_write_text(pid_file, f"{process.pid}\n")
    return process


def wait_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    name: str,
    timeout: float,
    pid_file: Path,
    log_file: Path,
    hint: str = "",
) -> None:
    """Poll ``ready`` until it holds; if the process dies or time runs out, stop it and explain."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pid_file.unlink(missing_ok=True)
            raise StackError(f"{name} exited at start: {log_tail(log_file)} (log: {log_file})")
        if time.monotonic() > deadline:
            terminate(process.pid)
            pid_file.unlink(missing_ok=True)
            raise StackError(f"{name} was not ready within {timeout:.0f} s; see {log_file}{hint}")
        time.sleep(0.2)


def stop_recorded(pid_file: Path, marker: str) -> bool:
    """Stop the process a pid file names, if it is still ours; False when none was running."""
    pid = running_pid(pid_file, marker)
    if pid is None:
        return False
    terminate(pid)
    pid_file.unlink(missing_ok=True)
    return True


def terminate(pid: int, timeout: float = 15.0) -> None:
    """Stop the process group led by ``pid``: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while _group_alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if os.getpgid(process.info["pid"]) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(log_file: Path, lines: int = 1) -> str:
    """The last non-empty lines of a log file, for error messages."""
    try:
        text = log_file.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, chosen by the OS (for stacks beside others: tests, benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
