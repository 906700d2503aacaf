"""alloop's services and commands as separate processes, as a user would run them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from common import events
from tests.support.data import ROOT
from tests.support.stack import alloop_executable


class Services:
    """A watcher and a worker process, each restartable and killable."""

    def __init__(self, env: dict[str, str], logs: Path, program: list[str] | None = None) -> None:
        self.env = env
        self.logs = logs
        self.program = program or [alloop_executable()]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        """Start `alloop NAME ARGS…` (or ``program NAME ARGS…``), known by ``name`` (unique per process)."""
        log = (self.logs / f"{name}.log").open("ab")
        command = name.split(".")[0]  # "worker.heavy" runs `alloop worker`, with its own log
        self.processes[name] = subprocess.Popen(
            [*self.program, command, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)


def alloop(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [alloop_executable(), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"alloop {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def bench(*args: str, timeout: float = 300) -> None:
    """Run `python -m bench ARGS…` from the repository's root; the test fails if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"bench {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def run_alloop(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`alloop ARGS…`, whatever its exit status."""
    return subprocess.run(
        [alloop_executable(), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """``result`` failed as a user error should: status 1, no traceback, one ``error:`` line on
    stderr holding every fragment; that line."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def wait_for_model(
    client: redis.Redis, run: str, batch: int, timeout: float = 300, strict: bool = True
) -> events.ModelUpdated:
    """The ``model.updated`` of ``batch`` of ``run``; the test fails on any job.failed of the run, or
    when not ``strict`` (for tests that make jobs fail on purpose) only on one of ``batch`` that rq
    will not retry."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, event in events.read(client, run):
            if isinstance(event, events.JobFailed):
                if strict:
                    pytest.fail(f"job failed: {event.error}")
                if event.batch == batch and not event.retrying:
                    pytest.fail(f"batch {batch} failed for good: {event.error}")
            if isinstance(event, events.ModelUpdated) and event.batch == batch:
                return event
        time.sleep(0.3)
    pytest.fail(f"no model.updated for batch {batch} within {timeout} s")


def wait_for_log(path: Path, text: str, count: int = 1, timeout: float = 120) -> str:
    """The log at ``path`` once it holds ``text`` ``count`` times; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if content.count(text) >= count:
            return content
        time.sleep(0.2)
    pytest.fail(f"{path.name} did not log {text!r} {count} time(s) within {timeout} s:\n{content[-3000:]}")
