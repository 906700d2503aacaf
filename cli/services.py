"""`alloop watcher` and `alloop worker`: the two long-running services."""

import os
import signal
import threading
from contextlib import ExitStack
from types import FrameType

import typer

from common import logs
from common.connection import check_redis, resolve_connection
from common.errors import UserError
from common.queues import QUEUES, SERIALIZER
from common.settings import get_settings
from watcher.hints import webhook_hints
from watcher.service import Watcher, connect


def watcher(
    interval: float = typer.Option(
        None, help="Seconds between polls (default: ALLOOP_POLL_INTERVAL, 0.25 s)."
    ),
    webhook_port: int = typer.Option(
        None,
        help="Receive Argilla's webhooks on this port and poll as soon as one arrives "
        "(default: ALLOOP_WEBHOOK_PORT; unset: polling only).",
    ),
) -> None:
    """Watch every active run and queue training when its current batch is done. Stops on SIGTERM/Ctrl-C."""
    settings = get_settings()
    connection = resolve_connection(settings)
    logs.configure(secrets=connection.secrets())
    stop = threading.Event()
    wakes: list[threading.Event] = []

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()
        for wake in wakes:
            wake.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    interval = interval or settings.poll_interval
    argilla = connect(connection, interval, stop)
    if argilla is None:
        return
    port = webhook_port if webhook_port is not None else settings.webhook_port
    with ExitStack() as stack:
        if port is not None:
            wakes.append(
                stack.enter_context(webhook_hints(argilla, settings.webhook_host, port, settings.webhook_url))
            )
        Watcher(argilla, connection.redis(), settings.machine).run_forever(
            interval, stop, wakes[0] if wakes else None
        )


# A dead worker's registration expires this long after its last heartbeat; the watcher's reaper
# then retries its job (on the worker's own host it notices sooner, by the missing process).
WORKER_TTL_S = 30
MONITORING_INTERVAL_S = 10
# rq's default is ten minutes: a worker would take over the scheduler of a dead one (and with it
# every scheduled retry) only that late.
MAINTENANCE_INTERVAL_S = 10
HEAVY_NICE = 10
"""How much lower a worker of the heavy queue alone runs than other processes (see os.nice)."""


def worker(
    burst: bool = typer.Option(False, help="Quit once the queues are empty."),
    name: str = typer.Option(None, help="Worker name (default: rq's, unique per process)."),
    queues: str = typer.Option(
        "train,heavy",
        help="Queues in priority order: train (annotators wait for it) and heavy (two-speed learning's "
        "background model). Give a GPU worker `heavy` alone so training never waits behind it.",
    ),
) -> None:
    """Run a trainer worker: an rq worker that forks one process per job."""
    names = [part.strip() for part in queues.split(",") if part.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        raise UserError(f"unknown queue(s) {', '.join(unknown) or '(none)'}; use train, heavy or train,heavy")
    connection = resolve_connection(get_settings())
    logs.configure(secrets=connection.secrets())
    check_redis(connection.redis_url)
    client = connection.redis()
    from trainer.backends import preload

    preload()  # every job is a fork of this process: imports done here are done once
    from trainer.worker import TrainerWorker

    if names == ["heavy"]:
        # A background training takes minutes of every core; on a machine it shares with the
        # training annotators wait for, that one gets the cores first.
        os.nice(HEAVY_NICE)
    TrainerWorker(
        [QUEUES[queue](client) for queue in names],
        connection=client,
        name=name,
        serializer=SERIALIZER,
        worker_ttl=WORKER_TTL_S,
        job_monitoring_interval=MONITORING_INTERVAL_S,
        maintenance_interval=MAINTENANCE_INTERVAL_S,
    ).work(burst=burst, with_scheduler=True)
