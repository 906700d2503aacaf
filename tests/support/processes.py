"""Looking at a process from outside, as ps does."""

import time
from pathlib import Path


def state(pid: int) -> str:
    """The process's state letter from /proc: T when stopped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def wait_for(pid: int, wanted: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while state(pid) != wanted:
        assert time.monotonic() < deadline, f"process {pid} is {state(pid)}, not {wanted}"
        time.sleep(0.01)
