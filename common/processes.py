"""Is a process that registered itself in Redis still running? Only its own host can tell at once."""

import os
import socket

import psutil
import redis


def owner_token() -> str:
    """``host:pid``, naming this process to others on the same host (a container is its own host)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_on_this_host(hostname: str | None, pid: int | None) -> bool:
    """True when ``pid`` ran on this host and is gone; False when alive or when it ran elsewhere."""
    if not hostname or not pid or hostname != socket.gethostname():
        return False
    return not psutil.pid_exists(pid)


# Delete the key only if it still holds the value read: never someone else's fresh lock.
_DELETE_IF_SAME = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def take_back(client: redis.Redis, key: str, value: bytes | str) -> bool:
    """Delete lock ``key`` if it still holds ``value`` (its dead holder's); True when deleted."""
    return bool(client.eval(_DELETE_IF_SAME, 1, key, value))
