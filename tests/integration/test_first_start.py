"""A first start as compose makes it: services that come up before the ones they talk to."""

import subprocess
import time
import venv
from pathlib import Path

import redis

from common import events
from stack.credentials import load_or_create
from stack.paths import StackPaths
from tests.support.data import ROOT
from tests.support.services import Services, alloop, wait_for_log
from tests.support.stack import LocalStack


def test_a_watcher_started_before_the_stack_serves_the_run_once_it_is_up(
    tmp_path: Path, small_trec: Path
) -> None:
    late = LocalStack(home=tmp_path / "home")
    owner = load_or_create(StackPaths.under(late.home).credentials)  # the key `stack up` will give the owner
    env = {
        **late.env,
        "ARGILLA_API_URL": f"http://127.0.0.1:{late.argilla_port}",
        "ARGILLA_API_KEY": owner.api_key,
        "REDIS_URL": f"redis://127.0.0.1:{late.redis_port}/0",
        "ALLOOP_POLL_INTERVAL": "0.5",
    }
    services = Services(env, tmp_path)
    log = tmp_path / "watcher.log"
    try:
        services.start("watcher")
        wait_for_log(log, "connecting failed, next try", count=2)
        late.up()
        content = wait_for_log(log, "watching every")
        assert services.processes["watcher"].poll() is None, "the watcher quit while the stack was down"
        assert "connecting works again" in content and "Traceback" not in content
        alloop(env, "init", "--name", "late", "--dataset", str(small_trec), "--stopping", "none")
        alloop(env, "simulate", "--run", "late", "--batches", "1", "--timeout", "120")
        client = redis.Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            completed = [e for _, e in events.read(client, "late") if isinstance(e, events.BatchCompleted)]
            if completed:
                break
            time.sleep(0.2)
        assert [event.batch for event in completed] == [0], "the watcher queued batch 0's training once"
    finally:
        services.stop_all()
        late.down()


def test_the_dashboard_images_requirements_install_alone_and_import(tmp_path: Path) -> None:
    """What docker/rq-dashboard.Dockerfile installs, in a fresh virtualenv (pip's index, as a build
    has): every dependency pinned, nothing missing from the CLI's imports."""
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    requirements = ROOT / "docker" / "rq-dashboard-requirements.txt"

    def run(*args: str) -> None:
        result = subprocess.run([python, *args], capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"

    run("-m", "pip", "install", "--quiet", "--no-deps", "-r", str(requirements))
    run("-m", "pip", "check")
    run("-c", "import rq_dashboard.cli")
