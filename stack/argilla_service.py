"""The stack's Argilla: a genuine argilla-server in its own virtualenv, started in the background."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from common.argilla_adapter import check_argilla
from common.connection import ServiceError
from common.settings import Settings
from stack.credentials import Credentials
from stack.errors import StackError
from stack.paths import StackPaths
from stack.process import port_is_free, running_pid, spawn, stop_recorded, wait_ready

SERVICE = "argilla"
WORKER = "argilla-worker"
"""argilla-server's rq worker: it delivers webhooks (and runs the server's other background jobs)."""
ENTRY_MODULE = "stack.argilla_entry"
REQUIREMENTS = Path(__file__).with_name("server-requirements.txt")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTALLED = ".alloop-installed"


def local_url(settings: Settings) -> str:
    return f"http://{settings.stack_host}:{settings.argilla_port}"


def server_python(settings: Settings, paths: StackPaths) -> Path:
    """The Python of argilla-server's virtualenv, creating that virtualenv when alloop owns it."""
    if settings.argilla_python is not None:
        if not settings.argilla_python.exists():
            raise StackError(
                f"ALLOOP_ARGILLA_PYTHON={settings.argilla_python} does not exist; point it at the python "
                "of a virtualenv with argilla-server, or unset it to let alloop create one"
            )
        return settings.argilla_python
    if not (paths.server_venv / INSTALLED).exists():
        install_server(paths.server_venv, paths.log_file("argilla-install"))
    return paths.server_venv / "bin" / "python"


def install_server(venv: Path, log_file: Path) -> None:
    """Create a virtualenv with the pinned argilla-server (needs PyPI; done once).

    The marker file is written last, so an interrupted install is redone rather than half used.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(venv, ignore_errors=True)
    with log_file.open("ab") as log:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        ]
        for step in steps:
            if subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, check=False).returncode != 0:
                raise StackError(f"installing argilla-server into {venv} failed (log: {log_file})")
    (venv / INSTALLED).touch()


def managed_pid(paths: StackPaths) -> int | None:
    return running_pid(paths.pid_file(SERVICE), ENTRY_MODULE)


def start(settings: Settings, paths: StackPaths, credentials: Credentials, redis_url: str) -> str:
    """Start (or find running) the embedded Argilla server; return its URL once it accepts the owner's key."""
    url = local_url(settings)
    if managed_pid(paths) is not None:
        return url
    if not port_is_free(settings.stack_host, settings.argilla_port):
        raise StackError(
            f"port {settings.argilla_port} for Argilla is already in use; "
            "set ALLOOP_ARGILLA_PORT to a free port"
        )
    python = server_python(settings, paths)
    log_file = paths.log_file(SERVICE)
    env = server_env(settings, paths, redis_url)
    process = spawn(
        [str(python), "-m", ENTRY_MODULE],
        env=env,
        pid_file=paths.pid_file(SERVICE),
        log_file=log_file,
        cwd=paths.root,
    )
    wait_ready(
        process,
        lambda: _accepts(url, credentials.api_key),
        name="the Argilla server",
        timeout=settings.stack_timeout,
        pid_file=paths.pid_file(SERVICE),
        log_file=log_file,
        hint=", or raise ALLOOP_STACK_TIMEOUT",
    )
    return url


def start_worker(settings: Settings, paths: StackPaths, redis_url: str) -> None:
    """Start (or find running) argilla-server's rq worker, once the server has migrated the database."""
    if worker_pid(paths) is not None:
        return
    spawn(
        [str(server_python(settings, paths)), "-m", ENTRY_MODULE, "worker"],
        env=server_env(settings, paths, redis_url),
        pid_file=paths.pid_file(WORKER),
        log_file=paths.log_file(WORKER),
        cwd=paths.root,
    )


def worker_pid(paths: StackPaths) -> int | None:
    return running_pid(paths.pid_file(WORKER), ENTRY_MODULE)


def server_env(settings: Settings, paths: StackPaths, redis_url: str) -> dict[str, str]:
    """The environment of the server and its worker: SQLite under the stack, the stack's Redis."""
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ARGILLA_HOME_PATH": str(paths.argilla_home),
        "ARGILLA_DATABASE_URL": f"sqlite+aiosqlite:///{paths.argilla_home / 'argilla.db'}",
        "ARGILLA_REDIS_URL": redis_url,
        "ARGILLA_ENABLE_TELEMETRY": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1",
        "ALLOOP_CREDENTIALS_FILE": str(paths.credentials),
        "ALLOOP_ARGILLA_HOST": settings.stack_host,
        "ALLOOP_ARGILLA_PORT": str(settings.argilla_port),
    }


def _accepts(url: str, api_key: str) -> bool:
    try:
        check_argilla(url, api_key)
    except ServiceError:
        return False
    return True


def stop(paths: StackPaths) -> bool:
    """Stop the Argilla server and its worker, as this stack started them; False when none was running."""
    worker_stopped = stop_recorded(paths.pid_file(WORKER), ENTRY_MODULE)
    return stop_recorded(paths.pid_file(SERVICE), ENTRY_MODULE) or worker_stopped
