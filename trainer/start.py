"""Starting a run: the Argilla dataset, the registry entry, the initial learner and batch 0."""

import logging
import shutil

from rq.exceptions import NoSuchJobError
from rq.job import JobStatus

from common import events, keys
from common.argilla_adapter import ArgillaAdapter
from common.checkpoints import INITIAL, CheckpointStore, Manifest
from common.connection import Connection
from common.corpus import Corpus
from common.errors import UserError
from common.files import atomic_write_text
from common.queues import delete_jobs_of, fetch_job
from common.runs import RunPaths, RunRegistry, RunState
from common.settings import Settings
from common.spec import RunSpec
from trainer.context import corpus_fingerprint, corpus_of, model_version
from trainer.job import Stopwatch, Training
from trainer.learner import Learner

log = logging.getLogger("alloop.trainer")


def start_run(settings: Settings, connection: Connection, spec: RunSpec) -> int:
    """Create everything a new run needs and log batch 0; returns the pool size."""
    corpus = corpus_of(spec)
    labels = corpus.run_labels(spec.labels)
    spec = spec.model_copy(update={"labels": labels})

    client = connection.redis()
    registry = RunRegistry(client)
    argilla = ArgillaAdapter(connection)
    if registry.exists(spec.name):
        raise UserError(f"run {spec.name!r} exists; pick another name, or pass --resume to continue it")
    if argilla.find_dataset(spec) is not None:
        raise UserError(
            f"Argilla already has dataset {spec.dataset_name!r} in workspace {spec.workspace!r}; "
            "set `argilla_dataset` to another name"
        )
    if not registry.register(spec):
        raise UserError(f"run {spec.name!r} exists; pick another name, or pass --resume to continue it")
    paths = RunPaths.of(settings.home, spec.name)
    try:
        argilla.create_dataset(spec, labels)
        paths.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(paths.spec, spec.model_dump_json(indent=2))
        learner = Learner.build(spec, corpus, labels, paths.cache, settings.device)
        first = batch_zero(learner, corpus)
        store = CheckpointStore(paths.checkpoints)
        # With a seed set, batch 0 is the strategy's choice and carries the seed model's suggestions.
        suggestions = learner.suggest(first) if learner.labelled_count else None
        initial = Manifest(
            batch=INITIAL,
            model_version=model_version(spec, INITIAL, learner.version_tag),
            labels=learner.labelled_count,
            next_batch=first,
            suggestions=suggestions,
            corpus=corpus_fingerprint(spec),
            eval_sample=learner.state.eval_sample,
        )
        store.save(initial, learner.save)
    except BaseException:
        forget_run(settings, connection, spec)  # nothing of it existed before this call
        raise
    events.publish(
        client,
        events.RunCreated(
            run=spec.name,
            dataset=spec.dataset_name,
            workspace=spec.workspace,
            labels=labels,
            pool_size=len(corpus.train_texts),
            batch_size=spec.batch_size,
            backend=learner.backend_name,
            query_strategy=spec.query_strategy,
            evaluated_on=learner.evaluated_on,
            eval_size=len(learner.state.eval_sample),
        ),
    )
    Training(settings, connection, client, registry.get(spec.name)).finish(INITIAL, clock=Stopwatch())
    seeded = f", {learner.labelled_count} seed labels learned" if suggestions else ""
    log.info("run %s: created with %d pool items%s; batch 0 logged", spec.name, learner.pool_size, seeded)
    return learner.pool_size


def batch_zero(learner: Learner, corpus: Corpus) -> list[int]:
    """Batch 0: the strategy's choice once the seed set is learned, else chosen without a model."""
    seed = corpus.seed
    if not seed:
        return learner.first_batch()
    learner.learn_seed(seed, [label for label in (corpus.train_labels[i] for i in seed) if label])
    return learner.query()


def forget_run(settings: Settings, connection: Connection, spec: RunSpec) -> None:
    """Remove a run everywhere: registry, events, jobs, run folder, Argilla dataset (its labels too)."""
    client = connection.redis()
    RunRegistry(client).delete(spec.name)
    delete_jobs_of(client, spec.name)
    shutil.rmtree(RunPaths.of(settings.home, spec.name).root, ignore_errors=True)
    dataset = ArgillaAdapter(connection).find_dataset(spec)
    if dataset is not None:
        dataset.delete()


def resume_run(settings: Settings, connection: Connection, name: str) -> int:
    """Make a stopped or paused run active again; returns the batch annotators should label."""
    client = connection.redis()
    registry = RunRegistry(client)
    run = registry.get(name)
    store = CheckpointStore(RunPaths.of(settings.home, name).checkpoints)
    latest = store.latest()
    if latest is not None and latest >= run.batch:
        # Stopped by its criterion: the batch it chose next was never logged.
        Training(settings, connection, client, run).log_next(latest)
    elif latest == run.batch - 1 and not ArgillaAdapter(connection).batch_records(run.spec, run.batch):
        # Every record of the current batch was deleted in Argilla: log it again, as chosen.
        Training(settings, connection, client, run).log_next(latest)
    registry.set_state(name, RunState.active)
    _clear_failed_job(connection, name, registry.get(name).batch)
    batch = registry.get(name).batch
    events.publish(client, events.RunResumed(run=name, batch=batch))
    return batch


def _clear_failed_job(connection: Connection, name: str, batch: int) -> None:
    """A job that failed for good keeps its id; delete it so the watcher can queue the batch again."""
    try:
        job = fetch_job(keys.train_job_id(name, batch), connection.redis())
    except NoSuchJobError:
        return
    if job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        job.delete()
