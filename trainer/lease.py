"""A Redis lock held by renewing it: it outlives a long training, yet frees itself soon after its
holder dies (a SIGKILLed worker never releases anything)."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError

log = logging.getLogger("alloop.trainer")

LEASE_S = 30
"""How long a lock outlives its last renewal; renewed every third of that."""


class LeaseNotAcquired(RuntimeError):
    pass


@contextmanager
def lease(client: redis.Redis, key: str, wait_s: float, ttl_s: float = LEASE_S) -> Iterator[None]:
    """Hold lock ``key`` for the block, waiting up to ``wait_s`` for it; renewed in the background."""
    # Not thread-local: the renewing thread must see the token the acquiring thread got.
    lock = client.lock(key, timeout=ttl_s, blocking_timeout=wait_s, thread_local=False)
    if not lock.acquire():
        raise LeaseNotAcquired(f"lock {key} is still held after {wait_s:.0f} s")
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


def _renew(lock: redis.lock.Lock, ttl_s: float, done: threading.Event) -> None:
    while not done.wait(ttl_s / 3):
        try:
            lock.reacquire()
        except (LockError, redis.RedisError) as error:
            # Redis restarted or the lock expired: keep trying; checkpoints stay whole regardless.
            log.warning("renewing lock %s failed: %s", lock.name, error)
