"""`alloop watcher` and `alloop worker`: the two long-running services."""

import signal
import threading
from types import FrameType

import typer
from rq import Queue, Worker

from common import keys, logs
from common.argilla_adapter import ArgillaAdapter
from common.connection import check_redis, resolve_connection
from common.errors import UserError
from common.settings import get_settings
from watcher.service import Watcher


def watcher(
    interval: float = typer.Option(None, help="Seconds between polls (default: ALLOOP_POLL_INTERVAL, 1 s)."),
) -> None:
    """Watch every active run and queue training when its current batch is done. Stops on SIGTERM/Ctrl-C."""
    settings = get_settings()
    logs.configure()
    connection = resolve_connection(settings)
    check_redis(connection.redis_url)
    stop = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    Watcher(ArgillaAdapter(connection), connection.redis()).run_forever(
        interval or settings.poll_interval, stop
    )


QUEUES = {"train": keys.TRAIN_QUEUE, "heavy": keys.HEAVY_QUEUE}


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
    logs.configure()
    connection = resolve_connection(get_settings())
    check_redis(connection.redis_url)
    client = connection.redis()
    from trainer.backends import preload

    preload()  # every job is a fork of this process: imports done here are done once

    listened = [Queue(QUEUES[queue], connection=client) for queue in names]
    Worker(listened, connection=client, name=name).work(burst=burst, with_scheduler=True)
