"""The embedded Argilla server process: argilla-server 2.8.0 on SQLite with the in-memory search engine.

Runs inside argilla-server's own virtualenv (``python -m stack.argilla_entry``), configured by the
environment that ``stack.argilla_service`` prepares. Before serving it migrates the database, makes
sure the owner account matches the credentials file, and rebuilds the index from the database, all
in this process, because the index lives in this process's memory.
"""

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from argilla_server.settings import settings

from stack.engine import ENGINE_NAME

settings.search_engine = ENGINE_NAME

log = logging.getLogger("alloop.argilla")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.argv[1:] == ["worker"]:
        work()
        return
    migrate_database()
    credentials = json.loads(Path(os.environ["ALLOOP_CREDENTIALS_FILE"]).read_text())
    asyncio.run(serve(credentials, os.environ["ALLOOP_ARGILLA_HOST"], int(os.environ["ALLOOP_ARGILLA_PORT"])))


def migrate_database() -> None:
    import alembic.config
    from argilla_server.database import ALEMBIC_CONFIG_FILE

    alembic.config.main(argv=["-c", ALEMBIC_CONFIG_FILE, "upgrade", "head"])


async def serve(credentials: dict[str, str], host: str, port: int) -> None:
    import uvicorn

    await ensure_owner(credentials)
    await rebuild_index()
    run_status_job_in_process()

    from argilla_server._app import app

    config = uvicorn.Config(app, host=host, port=port, workers=1, access_log=False, log_level="info")
    await uvicorn.Server(config).serve()


async def ensure_owner(credentials: dict[str, str]) -> None:
    """Create the owner account, or bring its password and API key in line with the credentials file."""
    from argilla_server.contexts import accounts
    from argilla_server.database import AsyncSessionLocal
    from argilla_server.enums import UserRole

    async with AsyncSessionLocal() as db:
        user = await accounts.get_user_by_username(db, credentials["username"])
        if user is None:
            attrs = {"username": credentials["username"], "first_name": "alloop", "last_name": "owner"}
            user = await accounts.create_user(
                db, {**attrs, "role": UserRole.owner, "password": credentials["password"]}
            )
            log.info("created owner user %r", user.username)
        user.api_key = credentials["api_key"]
        user.password_hash = accounts.hash_password(credentials["password"])
        user.role = UserRole.owner
        await db.commit()


async def rebuild_index() -> None:
    """Index every dataset and record from the database, as argilla-server's reindex command does."""
    from argilla_server.cli.search_engine.reindex import Reindexer
    from argilla_server.database import AsyncSessionLocal
    from argilla_server.search_engine import SearchEngine

    datasets = records = 0
    async with AsyncSessionLocal() as db, SearchEngine.get_by_name(ENGINE_NAME) as engine:
        async for dataset in Reindexer.reindex_datasets(db, engine):
            datasets += 1
            async for batch in Reindexer.reindex_dataset_records(db, engine, dataset):
                records += len(batch)
    log.info("rebuilt the in-memory index: %d datasets, %d records", datasets, records)


def run_status_job_in_process() -> None:
    """Run argilla-server's record-status job as a task of this server instead of an rq worker.

    The job writes to the search engine, whose index only exists in this process.
    """
    from argilla_server.jobs import dataset_jobs

    job = dataset_jobs.update_dataset_records_status_job
    running: set[asyncio.Task[Any]] = set()

    def delay(dataset_id: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(job(dataset_id))
        running.add(task)
        task.add_done_callback(running.discard)
        return task

    job.delay = delay


def work() -> None:
    """argilla-server's rq worker, for the jobs that need no index: webhook deliveries, chiefly.

    One worker process rather than the server's default pool of two: deliveries are light.
    """
    from argilla_server.jobs.queues import DEFAULT_QUEUE, HIGH_QUEUE, REDIS_CONNECTION
    from rq import Worker

    Worker([HIGH_QUEUE, DEFAULT_QUEUE], connection=REDIS_CONNECTION).work(with_scheduler=True)


if __name__ == "__main__":
    main()
