"""`alloop stack` as a user runs it: start, reuse, env, status, down, and its errors."""

import json
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from stack.process import free_port, port_is_free
from tests.support.stack import LocalStack


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "Traceback" not in message
    assert message.startswith("error:"), message
    for fragment in fragments:
        assert fragment in message, message


def test_up_is_idempotent_and_status_shows_each_part(stack: LocalStack) -> None:
    before = json.loads(stack.run("stack", "status", "--json").stdout)
    again = stack.run("stack", "up")
    assert again.returncode == 0, again.stderr
    after = json.loads(stack.run("stack", "status", "--json").stdout)
    assert {s["name"]: s["pid"] for s in before} == {s["name"]: s["pid"] for s in after}
    assert {s["name"]: s["state"] for s in after} == {"argilla": "running", "redis": "running"}
    table = stack.run("stack", "status").stdout
    assert "argilla" in table and "running" in table and f":{stack.argilla_port}" in table


def test_eval_stack_env_lets_the_sdk_authenticate(stack: LocalStack) -> None:
    script = 'eval "$(alloop stack env)" && python -c "import argilla as rg; print(rg.Argilla().me.username)"'
    result = subprocess.run(
        ["bash", "-c", script], env=stack.env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alloop"


def test_credentials_file_is_private(stack: LocalStack) -> None:
    credentials = stack.home / "stack" / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert json.loads(credentials.read_text())["api_key"] == stack.connection()["ARGILLA_API_KEY"]


def test_check_reports_a_wrong_api_key(stack: LocalStack) -> None:
    connection = stack.connection()
    from_stack = stack.run("check", timeout=60)  # nothing exported: the running local stack is used
    assert from_stack.returncode == 0, from_stack.stderr
    assert "signed in as alloop" in from_stack.stdout
    stack.extra_env.update(connection)
    try:
        assert stack.run("check", timeout=60).returncode == 0
        stack.extra_env["ARGILLA_API_KEY"] = "not-the-key"
        assert_one_line_error(stack.run("check", timeout=60), "rejected the API key", "ARGILLA_API_KEY")
    finally:
        for name in connection:
            stack.extra_env.pop(name, None)


def test_a_taken_port_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    local = LocalStack(home=tmp_path / "home")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", local.argilla_port))
        squatter.listen()
        result = local.run("stack", "up")
    assert_one_line_error(result, f"port {local.argilla_port}", "ALLOOP_ARGILLA_PORT")
    assert port_is_free("127.0.0.1", local.redis_port), "the Redis started for this attempt was left running"
    assert not any((local.home / "stack" / "run").glob("*.pid"))


def test_an_unwritable_home_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(LocalStack(home=blocker / "home").run("stack", "up"), "ALLOOP_HOME")


def test_a_redis_that_does_not_answer_is_named(tmp_path: Path) -> None:
    silent = f"redis://127.0.0.1:{free_port()}/0"
    local = LocalStack(home=tmp_path / "home", extra_env={"REDIS_URL": silent})
    assert_one_line_error(local.run("stack", "up"), silent, "does not answer")
    assert port_is_free("127.0.0.1", local.argilla_port)


def test_env_without_a_running_stack_says_how_to_start_it(tmp_path: Path) -> None:
    assert_one_line_error(LocalStack(home=tmp_path / "home").run("stack", "env"), "alloop stack up")


@pytest.mark.timeout(400)
def test_stale_pid_files_are_ignored_and_down_leaves_no_process(tmp_path: Path) -> None:
    local = LocalStack(home=tmp_path / "home")
    run_dir = local.home / "stack" / "run"
    run_dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    for service in ("argilla", "redis"):
        (run_dir / f"{service}.pid").write_text(f"{dead.pid}\n")

    local.up()
    pids = {s["name"]: s["pid"] for s in json.loads(local.run("stack", "status", "--json").stdout)}
    assert all(pids.values()) and dead.pid not in pids.values()

    down = local.down()
    assert down.returncode == 0 and "argilla" in down.stdout and "redis" in down.stdout
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        for pid in pids.values()
    )
    assert port_is_free("127.0.0.1", local.argilla_port) and port_is_free("127.0.0.1", local.redis_port)
    assert local.run("stack", "status").returncode == 1


def test_bad_run_input_gets_one_line(stack: LocalStack, tmp_path: Path) -> None:
    assert_one_line_error(
        stack.run("init", "--name", "bad", "--dataset", "x", "--backend", "bert"), "backend", "'embeddings'"
    )
    assert_one_line_error(
        stack.run("init", "--name", "bad", "--dataset", str(tmp_path / "missing.csv"), "--test", "t.csv"),
        "does not exist",
    )
    assert_one_line_error(stack.run("stop", "--run", "nobody"), "no run named 'nobody'")


def test_an_unreachable_redis_is_named_for_run_commands(stack: LocalStack) -> None:
    silent = f"redis://127.0.0.1:{free_port()}/0"
    stack.extra_env["REDIS_URL"] = silent
    try:
        assert_one_line_error(stack.run("status"), "Redis does not answer", "REDIS_URL")
    finally:
        stack.extra_env.pop("REDIS_URL")
