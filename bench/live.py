"""A real local stack and alloop's own services, started and stopped by a benchmark."""

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from common.connection import Connection
from common.settings import Settings
from common.spec import RunSpec, load_spec
from stack import control
from stack.paths import StackPaths
from stack.process import free_port, spawn, terminate

ROOT = Path(__file__).resolve().parent.parent
CONNECTION_VARIABLES = ("ARGILLA_API_URL", "ARGILLA_API_KEY", "REDIS_URL")


@dataclass
class LiveStack:
    """Argilla and Redis under a throwaway ALLOOP_HOME; services spawned here stop with it."""

    settings: Settings
    connection: Connection
    env: dict[str, str]
    cleanup: ExitStack

    def stack_pids(self) -> dict[str, int]:
        """Pids of the stack's own processes (Argilla, and Redis when the stack started it)."""
        paths = StackPaths.under(self.settings.home)
        found = {}
        for service in ("argilla", "redis"):
            pid_file = paths.pid_file(service)
            if pid_file.exists():
                found[service] = int(pid_file.read_text())
        return found

    def start_service(self, name: str, *args: str) -> int:
        """Start `alloop NAME ARGS…` in the background (logs under the home's bench-logs); its pid."""
        logs = self.settings.home / "bench-logs"
        label = "-".join([name, *(arg for arg in args if not arg.startswith("-"))])
        count = len(list(logs.glob(f"{label}*.log"))) if logs.exists() else 0
        process = spawn(
            [sys.executable, "-m", "cli", name, *args],
            env=self.env,
            pid_file=logs / f"{label}-{count}.pid",
            log_file=logs / f"{label}-{count}.log",
            cwd=ROOT,
        )
        self.cleanup.callback(terminate, process.pid)
        return process.pid

    def wait_for_workers(self, count: int, timeout: float = 120, queue_of: str = "train") -> None:
        """Wait until ``count`` alloop workers listen on the train queue (or ``heavy``; they import
        the learning stack first); Argilla's own rq worker, on the same Redis, does not count."""
        from rq import Worker

        from common.queues import QUEUES

        queue = QUEUES[queue_of](self.connection.redis())
        deadline = time.monotonic() + timeout
        while Worker.count(queue=queue) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} workers registered within {timeout} s")
            time.sleep(0.2)

    def new_run(self, name: str, dataset: str, **fields: object) -> RunSpec:
        """Create run ``name`` (batch 0 logged), with spec ``fields`` on top of the defaults."""
        from trainer import lifecycle

        spec = load_spec(None, {"name": name, "dataset.path": dataset, "workspace": "bench", **fields})
        return lifecycle.create(self.settings, self.connection, spec).spec


@contextmanager
def live_stack() -> Iterator[LiveStack]:
    """Bring a fresh stack up on free ports; stop it and every service started through it on exit."""
    with ExitStack() as cleanup:
        home = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="alloop-bench-")))
        server_python = ROOT / ".venv-argilla" / "bin" / "python"
        env = {name: value for name, value in os.environ.items() if name not in CONNECTION_VARIABLES}
        env |= {
            "ALLOOP_HOME": str(home),
            "ALLOOP_ARGILLA_PORT": str(free_port()),
            "ALLOOP_REDIS_PORT": str(free_port()),
            "NO_COLOR": "1",
        }
        if "ALLOOP_ARGILLA_PYTHON" not in env and server_python.exists():
            env["ALLOOP_ARGILLA_PYTHON"] = str(server_python)
        settings = Settings(
            home=home,
            argilla_port=int(env["ALLOOP_ARGILLA_PORT"]),
            redis_port=int(env["ALLOOP_REDIS_PORT"]),
            argilla_python=Path(env["ALLOOP_ARGILLA_PYTHON"]) if "ALLOOP_ARGILLA_PYTHON" in env else None,
        )
        state = control.up(settings)
        cleanup.callback(control.down, settings)
        # Services started later unwind first (ExitStack is LIFO), so they stop before the stack.
        yield LiveStack(settings, state, env, cleanup)


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has waited for (an rq worker's work-horses)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)
