"""A background training on CPU gives the machine to the training jobs annotators wait for.

On a machine whose cores a SetFit training shares with a training job, every step of that job ran
about 1.7 times slower, nice or not, one torch thread or two (``bench latency --heavy-backend
setfit``: p50 1.51 s against 0.89 s without it). So a training job claims its machine from when the
watcher queues it until it ends (:mod:`common.claims`), and a background training on CPU runs with a
pauser process beside it (:func:`yielding`) that stops it (SIGSTOP) while any claim of its machine
holds and continues it (SIGCONT) when none does. Machines are named by ``ALLOOP_MACHINE`` (default:
the host name; compose gives all its containers one name, since they share the docker host).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from common.claims import claimed

POLL_S = 0.02
MAX_PAUSE_S = 10.0
"""Longest stop in one go: past it the background training runs for RESUME_S, so that back-to-back
training jobs of many runs cannot starve it, nor its lock's renewal (every 10 s) lapse."""
RESUME_S = 1.0
REDIS_URL_VARIABLE = "ALLOOP_PAUSER_REDIS_URL"
"""How the pauser gets the Redis URL: not in its command line, which every user can read."""


@contextmanager
def yielding(redis_url: str, machine: str) -> Iterator[None]:
    """Let a pauser process stop and continue this process while training jobs of ``machine`` run."""
    pauser = subprocess.Popen(
        [sys.executable, "-m", "trainer.yielding", str(os.getpid()), machine],
        env={**os.environ, REDIS_URL_VARIABLE: redis_url},
        stdin=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        pauser.terminate()  # it continues this process first, if it had stopped it
        pauser.wait()


def pause_while_claimed(
    pid: int, client: redis.Redis, machine: str, ending: Callable[[], bool] = lambda: False
) -> None:
    """The pauser's loop, until process ``pid`` is gone or ``ending()``; it leaves ``pid`` running."""
    stopped_at: float | None = None
    resumed_until = 0.0
    try:
        while not ending() and _alive(pid):
            now = time.monotonic()
            wanted = now >= resumed_until and _claimed(client, machine)
            if stopped_at is not None and now - stopped_at > MAX_PAUSE_S:
                wanted, resumed_until = False, now + RESUME_S
            if wanted and stopped_at is None:
                os.kill(pid, signal.SIGSTOP)
                stopped_at = now
            elif not wanted and stopped_at is not None:
                os.kill(pid, signal.SIGCONT)
                stopped_at = None
            time.sleep(POLL_S)
    finally:
        if stopped_at is not None and _alive(pid):
            os.kill(pid, signal.SIGCONT)


def _claimed(client: redis.Redis, machine: str) -> bool:
    try:
        return claimed(client, machine)
    except redis.RedisError:
        return False  # Redis away: nobody to yield to that could be seen, so run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    """``python -m trainer.yielding PID MACHINE``, Redis's URL in the environment; ends on SIGTERM."""
    told = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: told.set())
    client = redis.Redis.from_url(os.environ[REDIS_URL_VARIABLE])
    pause_while_claimed(int(sys.argv[1]), client, sys.argv[2], told.is_set)


if __name__ == "__main__":
    main()
