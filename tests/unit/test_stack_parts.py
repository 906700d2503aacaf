import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common.files import atomic_write_text
from stack import redis_service
from stack.control import StackState, env_lines
from stack.credentials import load_or_create
from stack.errors import StackError
from stack.paths import StackPaths
from stack.process import port_is_free, running_pid


def test_credentials_are_random_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    first = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first
    assert load_or_create(tmp_path / "other.json").api_key != first.api_key
    assert len(first.api_key) >= 32 and len(first.password) >= 12


def test_damaged_credentials_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{not json")
    with pytest.raises(StackError, match="delete it"):
        load_or_create(path)


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two", mode=0o600)
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_stale_pid_files_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{dead.pid}\n")
    assert running_pid(pid_file, "python") is None
    assert not pid_file.exists()


def test_a_pid_reused_by_another_program_is_not_ours(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert running_pid(pid_file, "stack.argilla_entry") is None
    pid_file.write_text("garbage")
    assert running_pid(pid_file, "python") is None


def test_a_live_process_with_the_marker_is_found(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)", "marker-xyz"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Until the child has exec'd, its command line is still this process's: wait for its word.
        assert sleeper.stdout is not None and sleeper.stdout.readline() == "up\n"
        pid_file = tmp_path / "x.pid"
        pid_file.write_text(str(sleeper.pid))
        assert running_pid(pid_file, "marker-xyz") == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_port_is_free_sees_a_listening_socket() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert not port_is_free("127.0.0.1", server.getsockname()[1])


def test_unwritable_home_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StackError, match="ALLOOP_HOME"):
        StackPaths.under(blocker).ensure()


def test_env_lines_are_shell_safe() -> None:
    state = StackState(
        argilla_api_url="http://127.0.0.1:6900",
        argilla_api_key="key with 'quote'",
        redis_url="redis://127.0.0.1:6380/0",
        redis_managed=True,
        username="alloop",
        password="p",
    )
    lines = env_lines(state)
    assert lines[0] == "export ARGILLA_API_URL=http://127.0.0.1:6900"
    script = "\n".join(lines) + '\nprintf %s "$ARGILLA_API_KEY"'
    assert subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout == "key with 'quote'"


def test_without_redis_server_on_path_the_valkey_wheel_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    binary = redis_service.server_binary()
    assert binary.name == "valkey-server" and binary.exists()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert "v=" in version


def test_interrupted_server_install_is_redone_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.settings import Settings
    from stack import argilla_service

    paths = StackPaths.under(tmp_path)
    (paths.server_venv / "bin").mkdir(parents=True)
    (paths.server_venv / "bin" / "python").touch()  # what a killed `pip install` leaves behind
    steps: list[list[str]] = []

    def fake_run(step: list[str], **_: object) -> subprocess.CompletedProcess[bytes]:
        steps.append(step)
        paths.server_venv.mkdir(parents=True, exist_ok=True)
        return subprocess.CompletedProcess(step, 1 if "pip" in step and len(steps) == 2 else 0)

    monkeypatch.setattr(argilla_service.subprocess, "run", fake_run)
    settings = Settings(home=tmp_path, argilla_python=None)
    with pytest.raises(StackError, match="argilla-install"):
        argilla_service.server_python(settings, paths)
    assert not (paths.server_venv / argilla_service.INSTALLED).exists()

    assert argilla_service.server_python(settings, paths) == paths.server_venv / "bin" / "python"
    assert (paths.server_venv / argilla_service.INSTALLED).exists()
    assert len(steps) == 4  # the failed install was started over: venv and pip again
