"""`alloop check-env`: a compose .env is checked before `docker compose up`."""

import os
import subprocess
from pathlib import Path

import pytest

from common.compose_env import problems
from tests.support.data import ROOT
from tests.support.stack import alloop_executable

COMPOSE = ROOT / "docker-compose.yml"
GOOD = {
    "ARGILLA_OWNER_USERNAME": "alloop",
    "ARGILLA_OWNER_PASSWORD": "a-long-owner-password",
    "ARGILLA_OWNER_API_KEY": "owner.4f9c2a7e1b",
    "ARGILLA_AUTH_SECRET_KEY": "9b1e5d0c7a3f",
    "POSTGRES_PASSWORD": "pg8x2k4q",
}


def env_file(folder: Path, **changes: str | None) -> Path:
    values = {name: value for name, value in {**GOOD, **changes}.items() if value is not None}
    path = folder / ".env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def test_a_filled_in_env_has_no_problems(tmp_path: Path) -> None:
    assert problems(env_file(tmp_path), COMPOSE, {}) == []


def test_the_example_env_is_refused_for_each_placeholder() -> None:
    found = problems(ROOT / ".env.example", COMPOSE, {})
    names = [line.split()[0] for line in found]
    assert names == [
        "ARGILLA_OWNER_PASSWORD",
        "ARGILLA_OWNER_API_KEY",
        "ARGILLA_AUTH_SECRET_KEY",
        "POSTGRES_PASSWORD",
    ]
    assert all("placeholder" in line for line in found)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"ARGILLA_OWNER_API_KEY": "short"},
            "ARGILLA_OWNER_API_KEY has 5 characters, Argilla needs at least 8",
        ),
        ({"ARGILLA_OWNER_PASSWORD": '"two words here"'}, "ARGILLA_OWNER_PASSWORD holds a space"),
        ({"POSTGRES_PASSWORD": "p@ss/word"}, "POSTGRES_PASSWORD must be letters and digits only"),
        ({"ARGILLA_OWNER_USERNAME": "Admin"}, "ARGILLA_OWNER_USERNAME must be lowercase letters"),
        (
            {"ARGILLA_AUTH_SECRET_KEY": None},
            "ARGILLA_AUTH_SECRET_KEY is not set: copy its line from .env.example",
        ),
        ({"ARGILLA_API_KEY": "change-me-argilla-api-key"}, "ARGILLA_API_KEY is still the placeholder"),
    ],
)
def test_each_bad_value_is_one_line_naming_it_and_the_fix(
    tmp_path: Path, changes: dict[str, str | None], expected: str
) -> None:
    found = problems(env_file(tmp_path, **changes), COMPOSE, {})
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_variable_exported_in_the_shell_that_compose_would_take_is_refused(tmp_path: Path) -> None:
    shell = {
        "REDIS_URL": "redis://:secret@localhost:6379/0",
        "ARGILLA_OWNER_API_KEY": GOOD["ARGILLA_OWNER_API_KEY"],
    }
    shell["HOME"] = "/root"  # not one of the compose file's variables
    [line] = problems(env_file(tmp_path), COMPOSE, shell)
    assert line.startswith("REDIS_URL is exported in this shell (redis://:***@localhost:6379/0)")
    assert "secret" not in line and "`unset REDIS_URL`" in line
    [key] = problems(env_file(tmp_path), COMPOSE, {"ARGILLA_OWNER_API_KEY": "another.key.123"})
    assert "over .env's value" in key and "another" not in key, "a secret's value is never shown"


def test_the_command_prints_each_problem_and_exits_1_without_a_traceback(tmp_path: Path) -> None:
    path = env_file(tmp_path, ARGILLA_OWNER_API_KEY="short", POSTGRES_PASSWORD="changeme")
    shell = {
        name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "ARGILLA_API_URL")
    }
    command = [alloop_executable(), "check-env", "--env-file", str(path), "--compose-file", str(COMPOSE)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**shell, "NO_COLOR": "1"}, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["ARGILLA_OWNER_API_KEY", "POSTGRES_PASSWORD"]
    assert lines[-1].startswith("error:") and "2 problem(s)" in lines[-1]
    good = subprocess.run(
        [*command[:3], str(env_file(tmp_path)), *command[4:]],
        capture_output=True,
        text=True,
        env=shell,
        timeout=120,
    )
    assert good.returncode == 0 and "ready for `docker compose up`" in good.stdout
