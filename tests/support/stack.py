"""Running `alloop stack` commands in a separate process, as a user would."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from stack.process import free_port

CONNECTION_VARIABLES = ("ARGILLA_API_URL", "ARGILLA_API_KEY", "REDIS_URL")


BIN = Path(sys.executable).parent


def alloop_executable() -> str:
    """The console script of the environment running the tests (activated or not)."""
    found = shutil.which("alloop", path=str(BIN)) or shutil.which("alloop")
    assert found, "the alloop console script is not installed in this environment"
    return found


@dataclass
class LocalStack:
    """One local stack under its own ALLOOP_HOME, on free ports."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    argilla_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)

    @property
    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in CONNECTION_VARIABLES}
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            ALLOOP_HOME=str(self.home),
            ALLOOP_ARGILLA_PORT=str(self.argilla_port),
            ALLOOP_REDIS_PORT=str(self.redis_port),
            NO_COLOR="1",
            COLUMNS="200",
            # One speed unless a test asks for two: a SetFit training would take the test machine's
            # cores for minutes after every batch.
            ALLOOP_HEAVY_BACKEND="none",
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [alloop_executable(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> subprocess.CompletedProcess[str]:
        result = self.run("stack", "up")
        assert result.returncode == 0, f"stack up failed:\n{result.stdout}\n{result.stderr}"
        return result

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.run("stack", "down")

    def connection(self) -> dict[str, str]:
        """ARGILLA_API_URL, ARGILLA_API_KEY and REDIS_URL as `alloop stack env` prints them."""
        result = self.run("stack", "env")
        assert result.returncode == 0, result.stderr
        pairs = (line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
        return {name: value.strip("'") for name, value in pairs}
