"""Container healthcheck of the alloop images: exit 0 when healthy, 1 with a reason otherwise.

    python healthcheck.py redis    REDIS_URL answers PING (the watcher: it rides out Argilla outages)
    python healthcheck.py worker   an rq worker of this container is registered in REDIS_URL

A worker's registration expires when its heartbeats stop (rq's worker_ttl), so `worker` also
catches a worker that hangs or died while the container lives on.
"""

import os
import socket
import sys

import redis

TIMEOUT_S = 5.0


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that gives up after TIMEOUT_S."""
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)


def redis_answers(client: redis.Redis) -> bool:
    """True when Redis answers PING."""
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def worker_registered(client: redis.Redis, hostname: str) -> bool:
    """True when an rq worker started on ``hostname`` is registered and has not announced its death."""
    from rq import Worker

    try:
        return any(
            worker.hostname == hostname and worker.death_date is None
            for worker in Worker.all(connection=client)
        )
    except redis.RedisError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("redis", "worker"):
        print("usage: healthcheck.py redis|worker", file=sys.stderr)
        return 2
    url = os.environ.get("REDIS_URL")
    if not url:
        print("unhealthy: REDIS_URL is not set")
        return 1
    try:
        client = connect(url)
    except ValueError as error:
        print(f"unhealthy: REDIS_URL is not a Redis URL ({error})")
        return 1
    if not redis_answers(client):
        print("unhealthy: Redis does not answer PING")
        return 1
    if argv[1] == "worker" and not worker_registered(client, socket.gethostname()):
        print(f"unhealthy: no rq worker of host {socket.gethostname()} is registered")
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
