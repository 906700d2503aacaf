"""Is a process that registered itself in Redis still running? Only its own host can tell at once."""

import os
import socket

import psutil


def owner_token() -> str:
    """``host:pid``, naming this process to others on the same host (a container is its own host)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_on_this_host(hostname: str | None, pid: int | None) -> bool:
    """True when ``pid`` ran on this host and is gone; False when alive or when it ran elsewhere."""
    if not hostname or not pid or hostname != socket.gethostname():
        return False
    return not psutil.pid_exists(pid)
