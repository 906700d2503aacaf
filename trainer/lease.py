"""A Redis lock held by renewing it: it outlives a long training, yet frees itself soon after its
holder dies (a SIGKILLed worker never releases anything).

The lock's value names its holder (``host:pid:nonce``). A waiter on the same host whose holder is
no longer running takes the lock over at once instead of waiting out the ttl.
"""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError

from common.processes import dead_on_this_host, owner_token, take_back

log = logging.getLogger("alloop.trainer")

LEASE_S = 30
"""How long a lock outlives its last renewal; renewed every third of that."""
RETRY_S = 0.2


class LeaseNotAcquired(RuntimeError):
    pass


@contextmanager
def lease(client: redis.Redis, key: str, wait_s: float, ttl_s: float = LEASE_S) -> Iterator[None]:
    """Hold lock ``key`` for the block, waiting up to ``wait_s`` for it; renewed in the background."""
    # Not thread-local: the renewing thread must see the token the acquiring thread got.
    lock = client.lock(key, timeout=ttl_s, thread_local=False)
    _acquire(client, lock, key, wait_s)
    done = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lock, ttl_s, done), daemon=True, name=f"lease {key}")
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        try:
            lock.release()
        except LockError:
            log.warning("lock %s had expired before its release", key)


def _acquire(client: redis.Redis, lock: redis.lock.Lock, key: str, wait_s: float) -> None:
    token = f"{owner_token()}:{uuid.uuid4().hex}"
    deadline = time.monotonic() + wait_s
    while not lock.acquire(blocking=False, token=token):
        _break_if_abandoned(client, key)
        if time.monotonic() >= deadline:
            raise LeaseNotAcquired(f"lock {key} is still held after {wait_s:.0f} s")
        time.sleep(RETRY_S)


def _break_if_abandoned(client: redis.Redis, key: str) -> None:
    holder: bytes | None = client.get(key)  # type: ignore[assignment]  # a bytes client
    if holder is None:
        return
    host, _, rest = holder.decode(errors="replace").partition(":")
    pid = rest.split(":", 1)[0]
    abandoned = pid.isdigit() and dead_on_this_host(host, int(pid))
    if abandoned and take_back(client, key, holder):
        log.warning("lock %s: its holder (pid %s) is gone; taking it over", key, pid)


def _renew(lock: redis.lock.Lock, ttl_s: float, done: threading.Event) -> None:
    while not done.wait(ttl_s / 3):
        try:
            lock.reacquire()
        except (LockError, redis.RedisError) as error:
            # Redis restarted or the lock expired: keep trying; checkpoints stay whole regardless.
            log.warning("renewing lock %s failed: %s", lock.name, error)
