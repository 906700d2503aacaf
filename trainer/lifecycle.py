"""A run's lifecycle: create it (with a rule for a run of that name that exists), resume, stop, forget.

The CLI, the demo, the benches and the tests all go through here; they parse and print. Creating a
run checks everything that needs neither Argilla nor Redis before anything is made, and a creation
that fails part-way removes what it made.
"""

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

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
from common.sources import from_argilla
from common.spec import RunSpec, check_model
from trainer import eval_sample
from trainer.context import corpus_fingerprint, corpus_of, model_version
from trainer.job import Stopwatch, Training
from trainer.learner import Learner

log = logging.getLogger("alloop.trainer")


class OnExists(Enum):
    """What :func:`create` does when a run of that name exists."""

    refuse = "refuse"
    resume = "resume"
    replace = "replace"
    """Forget it (its labels too), once the new run's data has passed its checks."""


@dataclass(frozen=True)
class Started:
    """What :func:`create` did: a new run (with its data) or an existing one resumed."""

    spec: RunSpec
    batch: int
    """The batch annotators label now."""
    corpus: Corpus | None = None
    """The new run's data (its notes, its pool); None when an existing run was resumed."""


Progress = Callable[[str], None]


def create(
    settings: Settings,
    connection: Connection,
    spec: RunSpec,
    *,
    on_exists: OnExists = OnExists.refuse,
    argilla_source: str | None = None,
    progress: Progress = lambda step: None,
) -> Started:
    """Create run ``spec.name`` and log batch 0, or resume or replace a run of that name.

    ``argilla_source``: read the pool from that Argilla dataset (in the run's workspace) into a
    snapshot in the run's folder, which then stands for ``spec.dataset``.
    """
    check_model(spec.model)
    if argilla_source is not None:
        return _create_from_argilla(settings, connection, spec, on_exists, argilla_source, progress)
    progress(f"Reading {spec.dataset.path}…")
    corpus = _checked_corpus(settings, spec, snapshot=False)  # before a run is replaced
    return _settle(settings, connection, spec.name, on_exists) or _new(
        settings, connection, spec, corpus, progress
    )


def _create_from_argilla(
    settings: Settings,
    connection: Connection,
    spec: RunSpec,
    on_exists: OnExists,
    source: str,
    progress: Progress,
) -> Started:
    # The existing run goes first: the source's snapshot is written into the run's folder.
    if (resumed := _settle(settings, connection, spec.name, on_exists)) is not None:
        return resumed
    progress(f"Reading Argilla dataset {source} (workspace {spec.workspace})…")
    spec = from_argilla(ArgillaAdapter(connection), spec, source, _paths(settings, spec).root)
    corpus = _checked_corpus(settings, spec, snapshot=True)
    return _new(settings, connection, spec, corpus, progress)


def _new(
    settings: Settings, connection: Connection, spec: RunSpec, corpus: Corpus, progress: Progress
) -> Started:
    progress(f"Creating run {spec.name}: preparing the model, logging batch 0…")
    spec = _start(settings, connection, spec, corpus)
    return Started(spec=spec, batch=0, corpus=corpus)


def _checked_corpus(settings: Settings, spec: RunSpec, *, snapshot: bool) -> Corpus:
    """The run's data, checked with everything that needs neither Argilla nor Redis; ``snapshot``:
    the run's folder holds only the pool's snapshot so far, removed if the data is refused."""
    try:
        corpus = corpus_of(spec)
        corpus.run_labels(spec.labels)
        if eval_sample.wants_sample(spec, corpus):
            eval_sample.draw(spec, corpus)  # refuses a sample that leaves too little to learn
    except UserError:
        if snapshot:
            shutil.rmtree(_paths(settings, spec).root, ignore_errors=True)
        raise
    return corpus


def _settle(settings: Settings, connection: Connection, name: str, on_exists: OnExists) -> Started | None:
    """Settle a run ``name`` that exists as ``on_exists`` says: resumed, refused or forgotten."""
    registry = RunRegistry(connection.redis())
    if not registry.exists(name):
        return None
    if on_exists is OnExists.refuse:
        raise UserError(f"run {name!r} exists; pick another name, or pass --resume to continue it")
    existing = registry.get(name).spec
    if on_exists is OnExists.resume:
        return Started(spec=existing, batch=resume(settings, connection, name))
    forget(settings, connection, existing)
    return None


def _start(settings: Settings, connection: Connection, spec: RunSpec, corpus: Corpus) -> RunSpec:
    """Register the run, create its dataset and initial checkpoint, and log batch 0."""
    labels = corpus.run_labels(spec.labels)
    spec = spec.model_copy(update={"labels": labels})
    client = connection.redis()
    registry = RunRegistry(client)
    argilla = ArgillaAdapter(connection)
    if argilla.find_dataset(spec) is not None:
        raise UserError(
            f"Argilla already has dataset {spec.dataset_name!r} in workspace {spec.workspace!r}; "
            "set `argilla_dataset` to another name"
        )
    if not registry.register(spec):  # another process created it since the check above
        raise UserError(f"run {spec.name!r} exists; pick another name, or pass --resume to continue it")
    try:
        argilla.create_dataset(spec, labels)
        learner = _initial_checkpoint(settings, spec, corpus)
    except BaseException:
        forget(settings, connection, spec)  # nothing of it existed before this call
        raise
    events.publish(client, _created(spec, corpus, learner))
    Training(settings, connection, client, registry.get(spec.name)).finish(INITIAL, clock=Stopwatch())
    seeded = f", {learner.labelled_count} seed labels learned" if learner.labelled_count else ""
    log.info("run %s: created with %d pool items%s; batch 0 logged", spec.name, learner.pool_size, seeded)
    return spec


def _initial_checkpoint(settings: Settings, spec: RunSpec, corpus: Corpus) -> Learner:
    """Build the learner (learning the seed set, if any), choose batch 0, save checkpoint INITIAL."""
    paths = _paths(settings, spec)
    paths.root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(paths.spec, spec.model_dump_json(indent=2))
    learner = Learner.build(spec, corpus, spec.labels or [], paths.cache, settings.device)
    first = batch_zero(learner, corpus)
    initial = Manifest(
        batch=INITIAL,
        model_version=model_version(spec, INITIAL, learner.version_tag),
        labels=learner.labelled_count,
        next_batch=first,
        # With a seed set, batch 0 is the strategy's choice and carries the seed model's suggestions.
        suggestions=learner.suggest(first) if learner.labelled_count else None,
        corpus=corpus_fingerprint(spec),
        eval_sample=learner.state.eval_sample,
    )
    CheckpointStore(paths.checkpoints).save(initial, learner.save)
    return learner


def _created(spec: RunSpec, corpus: Corpus, learner: Learner) -> events.RunCreated:
    return events.RunCreated(
        run=spec.name,
        dataset=spec.dataset_name,
        workspace=spec.workspace,
        labels=spec.labels or [],
        pool_size=len(corpus.train_texts),
        batch_size=spec.batch_size,
        backend=learner.backend_name,
        query_strategy=spec.query_strategy,
        evaluated_on=learner.evaluated_on,
        eval_size=len(learner.state.eval_sample),
    )


def batch_zero(learner: Learner, corpus: Corpus) -> list[int]:
    """Batch 0: the strategy's choice once the seed set is learned, else chosen without a model."""
    seed = corpus.seed
    if not seed:
        return learner.first_batch()
    learner.learn_seed(seed, [label for label in (corpus.train_labels[i] for i in seed) if label])
    return learner.query()


def forget(settings: Settings, connection: Connection, spec: RunSpec) -> None:
    """Remove a run everywhere: registry, events, jobs, run folder, Argilla dataset (its labels too)."""
    client = connection.redis()
    RunRegistry(client).delete(spec.name)
    delete_jobs_of(client, spec.name)
    shutil.rmtree(_paths(settings, spec).root, ignore_errors=True)
    ArgillaAdapter(connection).delete_dataset(spec)


def stop(connection: Connection, name: str) -> int:
    """Pause or end run ``name``: the watcher ignores it, queued work is kept. Returns its batch."""
    client = connection.redis()
    registry = RunRegistry(client)
    batch = registry.get(name).batch
    registry.set_state(name, RunState.stopped)
    events.publish(client, events.RunStopped(run=name, reason="user", batch=batch))
    return batch


def resume(settings: Settings, connection: Connection, name: str) -> int:
    """Make a stopped or paused run active again; returns the batch annotators should label."""
    client = connection.redis()
    registry = RunRegistry(client)
    run = registry.get(name)
    latest = CheckpointStore(RunPaths.of(settings.home, name).checkpoints).latest()
    if latest is not None and latest >= run.batch:
        # Stopped by its criterion: the batch it chose next was never logged.
        Training(settings, connection, client, run).log_next(latest)
    elif latest == run.batch - 1 and not ArgillaAdapter(connection).batch_records(run.spec, run.batch):
        # Every record of the current batch was deleted in Argilla: log it again, as chosen.
        Training(settings, connection, client, run).log_next(latest)
    registry.set_state(name, RunState.active)
    batch = registry.get(name).batch
    _clear_failed_job(connection, name, batch)
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


def _paths(settings: Settings, spec: RunSpec) -> RunPaths:
    return RunPaths.of(settings.home, spec.name)
