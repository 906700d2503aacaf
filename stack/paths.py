"""Where the local stack keeps its data, pid files and logs under ``$ALLOOP_HOME``."""

import os
from dataclasses import dataclass
from pathlib import Path

from common.connection import stack_state_file
from stack.errors import StackError


@dataclass(frozen=True)
class StackPaths:
    """The folder layout of one local stack."""

    root: Path

    @classmethod
    def under(cls, home: Path) -> "StackPaths":
        return cls(home / "stack")

    @property
    def argilla_home(self) -> Path:
        return self.root / "argilla"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def server_venv(self) -> Path:
        return self.root / "argilla-server-venv"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.json"

    @property
    def state(self) -> Path:
        return stack_state_file(self.root.parent)

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def ensure(self) -> None:
        """Create the folders, or explain why they cannot be."""
        try:
            for folder in (self.argilla_home, self.redis_dir, self.run_dir, self.log_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StackError(
                f"cannot create the stack's folders under {self.root.parent} ({error.strerror}); "
                "set ALLOOP_HOME to a writable folder"
            ) from None
        if not os.access(self.root, os.W_OK):
            raise StackError(
                f"{self.root} is not writable; set ALLOOP_HOME to a writable folder or fix its permissions"
            )
