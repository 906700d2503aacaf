"""The rq job that learns one finished batch and logs the next one."""

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from rq import get_current_job

from common import events, keys
from common.argilla_adapter import ArgillaAdapter, BatchRecord, record_id
from common.checkpoints import INITIAL, CheckpointStore, Manifest
from common.connection import Connection, resolve_connection
from common.errors import UserError, describe
from common.events import AutoStop
from common.runs import Run, RunPaths, RunRegistry, RunState, read_metrics
from common.secrets import redact
from common.settings import Settings, get_settings
from common.spec import RunSpec
from trainer.context import corpus_fingerprint, corpus_of, model_version
from trainer.heavy import enqueue_heavy
from trainer.learner import Learner
from trainer.lease import lease
from trainer.metrics import Metrics
from trainer.scores import PoolScores, ScoresManifest, ScoreStore

log = logging.getLogger("alloop.trainer")

LOCK_WAIT_S = 600


def train_batch(
    run_name: str, batch: int, answers: list[dict[str, object]] | None = None
) -> dict[str, object]:
    """Entry point of the training job: learn ``batch`` of ``run_name``, one job of a run at a time.

    ``answers`` are the batch's records as the watcher read them; without them (a job queued by
    hand, say) the job reads them from Argilla.
    """
    settings = get_settings()
    connection = resolve_connection(settings)
    client = connection.redis()
    records = None if answers is None else [BatchRecord.model_validate(answer) for answer in answers]
    try:
        with lease(client, keys.run_lock(run_name), wait_s=LOCK_WAIT_S):
            run = RunRegistry(client).get(run_name)
            return Training(settings, connection, client, run).learn(batch, records)
    except Exception as error:
        report_failure(client, connection, run_name, batch, keys.train_job_id(run_name, batch), error)
        raise


def model_choice(learner: Learner) -> events.ModelChoice | None:
    """The model the ``auto`` backend trained at this update, as the event carries it."""
    selection = learner.serving
    if selection is None:
        return None
    return events.ModelChoice(
        features=selection.choice.features,
        C=selection.choice.C,
        class_weight=selection.choice.class_weight,
        cv_accuracy=selection.cv_accuracy,
        folds=selection.folds,
        labels=selection.labels,
    )


def report_failure(
    client: redis.Redis, connection: Connection, run: str, batch: int, job_id: str, error: Exception
) -> None:
    """Log and publish ``job.failed``; a UserError is not retried, since only its fix can help."""
    job = get_current_job()
    if job is not None and isinstance(error, UserError):
        job.retries_left = 0
    retrying = job is not None and job.should_retry
    message = redact(describe(error), connection.secrets())
    try:
        events.publish(
            client,
            events.JobFailed(run=run, batch=batch, job_id=job_id, error=message[:2000], retrying=retrying),
        )
    except redis.RedisError:
        log.warning("run %s: could not publish job.failed (Redis does not answer)", run)
    if retrying:
        log.warning("run %s: job %s failed, rq retries it: %s", run, job_id, message)
    else:
        log.error(
            "run %s: job %s failed for good: %s; once fixed, `alloop resume --run %s` queues it again",
            run, job_id, message, run,
        )  # fmt: skip


def open_in_background(adapter: ArgillaAdapter, spec: RunSpec) -> "Future[ArgillaAdapter]":
    """Look the run's dataset up in a thread (about ten HTTP calls); ``adapter``, signed in already,
    so that a wrong API key is what the job reports first.

    The job restores and trains meanwhile, so annotators do not wait for both one after the other.
    """

    def open_dataset() -> ArgillaAdapter:
        adapter.dataset(spec)
        return adapter

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argilla")
    try:
        return pool.submit(open_dataset)
    finally:
        pool.shutdown(wait=False)  # the submitted call still runs; the thread ends with it


@dataclass
class Stopwatch:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class Training:
    """One run's learning steps, from the latest checkpoint to the next."""

    def __init__(self, settings: Settings, connection: Connection, client: redis.Redis, run: Run) -> None:
        self.settings = settings
        self.redis = client
        self.run = run
        self.spec = run.spec
        self.paths = RunPaths.of(settings.home, run.name)
        self.store = CheckpointStore(self.paths.checkpoints)
        self.scores = ScoreStore(self.paths.heavy_scores)
        self._argilla = open_in_background(ArgillaAdapter(connection), self.spec)
        self.registry = RunRegistry(client)

    @property
    def argilla(self) -> ArgillaAdapter:
        """Argilla with the run's dataset found; raises what opening it raised."""
        return self._argilla.result()

    def load(self, batch: int) -> Learner:
        return Learner.load(
            self.store.learner(batch), corpus_of(self.spec), self.paths.cache, self.settings.device
        )

    def learn(self, batch: int, records: list[BatchRecord] | None = None) -> dict[str, object]:
        self._check_corpus()
        if self.store.exists(batch):
            return self._finish_retried(batch)
        previous = self.store.latest()
        expected = INITIAL if batch == 0 else batch - 1
        if previous != expected:
            raise RuntimeError(
                f"run {self.run.name}: batch {batch} needs checkpoint {expected}, the latest is {previous}"
            )

        clock = Stopwatch()
        with clock.step("restore"):
            learner = self.load(expected)
        with clock.step("fetch"):
            if records is None:
                records = self.argilla.batch_records(self.spec, batch)
            answers = {record.index: record for record in records}
        missing = sorted(set(learner.awaiting) - set(answers))
        if missing:
            # Deleted in Argilla by hand: learned like discarded records, so never asked again.
            log.warning(
                "run %s: batch %d: records %s are gone from Argilla (deleted?); left out like discarded ones",
                self.run.name, batch, ", ".join(record_id(index) for index in missing),
            )  # fmt: skip
        labels = [
            None if index not in answers or answers[index].discarded else answers[index].label
            for index in learner.awaiting
        ]
        with clock.step("train"):
            learner.teach(labels)
        heavy = self.scores.latest() if self.spec.heavy_backend is not None else None
        metrics: Metrics | None = None
        serving: PoolScores | None = None
        heavy_accuracy = heavy.accuracy if heavy else None
        if heavy is not None and learner.queries_by_scores:
            with clock.step("evaluate"):
                metrics = learner.evaluate()
                serving, heavy_accuracy = self._heavy_if_better(learner, metrics, heavy)
        with clock.step("query"):
            next_batch = learner.query(serving.proba if serving else None)
        own_version = model_version(self.spec, batch, learner.version_tag)
        version = serving.manifest.model_version if serving else own_version
        stopped: AutoStop | None = None
        if learner.stop_reached() or not next_batch:
            stopped = "criterion" if next_batch else "pool-exhausted"
        if stopped is None:
            with clock.step("log"):
                self._log(batch + 1, learner, next_batch, version, serving)
        if metrics is None:
            with clock.step("evaluate"):
                metrics = learner.evaluate()
        updated = events.ModelUpdated(
            run=self.run.name,
            batch=batch,
            model_version=own_version,
            **vars(metrics),
            timings=events.Timings(),
            served_by="heavy" if serving else "fast",
            heavy_accuracy=heavy_accuracy,
            choice=model_choice(learner),
        )
        with clock.step("select"):
            learner.reselect()  # after the log: the annotators do not wait for it
        updated.timings = events.Timings(**clock.seconds, total=sum(clock.seconds.values()))
        with clock.step("checkpoint"):
            manifest = Manifest(
                batch=batch,
                model_version=version,
                labels=metrics.labels,
                next_batch=next_batch,
                # The whole event, so a job retried after a crash past this point can still record it.
                metrics=updated.model_dump(mode="json"),
                stopped=stopped,
                scores_batch=serving.manifest.batch if serving else None,
            )
            self.store.save(manifest, learner.save)
        updated.timings.checkpoint = clock.seconds["checkpoint"]
        updated.timings.total = sum(clock.seconds.values())
        self._record(updated)
        self._close(manifest)
        return {
            "batch": batch,
            "accuracy": metrics.accuracy,
            "evaluated_on": metrics.evaluated_on,
            "labels": metrics.labels,
            "stopped": stopped is not None,
        }

    def _heavy_if_better(
        self, learner: Learner, metrics: Metrics, heavy: ScoresManifest
    ) -> tuple[PoolScores | None, float | None]:
        """The background model's pool scores if it beats the learner on the same held-out labels
        (else None), and its accuracy there.

        On the test split its manifest holds its accuracy; the evaluation sample grows with every
        batch, so there its stored pool scores are scored anew on the answers so far.
        """
        scores = None
        accuracy = heavy.accuracy
        if metrics.evaluated_on == "eval-sample":
            scores = self.scores.load(heavy.batch)
            accuracy = learner.estimate(scores.proba).accuracy
        if accuracy is None or metrics.accuracy is None or accuracy <= metrics.accuracy:
            return None, accuracy
        return scores or self.scores.load(heavy.batch), accuracy  # the pool's scores: read only when used

    def _check_corpus(self) -> None:
        """Refuse to go on if the data changed under the run: its pool indices would name other texts."""
        started_with = self.store.manifest(INITIAL).corpus
        if started_with is not None and started_with != corpus_fingerprint(self.spec):
            raise UserError(
                f"run {self.run.name}: the dataset {self.spec.dataset.path} changed since the run started, "
                "so its pool items no longer match their records; put the original data back, "
                "or start a new run on the new data"
            )

    def _finish_retried(self, batch: int) -> dict[str, object]:
        """Redo what a job that crashed after writing checkpoint ``batch`` may have left undone."""
        manifest = self.store.manifest(batch)
        log.info("run %s: batch %d was learned already; finishing what follows it", self.run.name, batch)
        if manifest.stopped is None:
            self.log_next(batch)
        self._record(events.ModelUpdated.model_validate(manifest.metrics), retried=True)
        self._close(manifest, retried=True)
        return {"batch": batch, "already_learned": True}

    def _close(self, manifest: Manifest, *, retried: bool = False) -> None:
        """Stop the run if its checkpoint says so, else start the background model on the new labels."""
        if manifest.stopped is None:
            if self.spec.heavy_backend is not None:
                enqueue_heavy(self.redis, self.run.name, manifest.batch)
            return
        self.registry.set_state(self.run.name, RunState.stopped)
        if not retried or manifest.batch not in self._published_batches(events.RunStopped):
            events.publish(
                self.redis,
                events.RunStopped(run=self.run.name, reason=manifest.stopped, batch=manifest.batch),
            )
        log.info("run %s stopped after batch %d (%s)", self.run.name, manifest.batch, manifest.stopped)

    def log_next(self, batch: int) -> None:
        """Log the batch that checkpoint ``batch`` chose, with its suggestions (idempotent)."""
        manifest = self.store.manifest(batch)
        if not manifest.next_batch:
            return
        learner = self.load(batch)
        serving = None if manifest.scores_batch is None else self.scores.load(manifest.scores_batch)
        self._log(batch + 1, learner, manifest.next_batch, manifest.model_version, serving)

    def _log(
        self, batch: int, learner: Learner, indices: list[int], version: str, serving: PoolScores | None
    ) -> None:
        texts = corpus_of(self.spec).train_texts
        # Batch 0 comes before any label: nothing to suggest yet.
        suggestions = (
            learner.suggest(indices, serving.proba if serving else None) if learner.labelled_count else None
        )
        self.argilla.log_batch(
            self.spec, batch, indices, [texts[i] for i in indices], suggestions, agent=version
        )
        self.registry.set_batch(self.run.name, batch)
        served_by: events.Served = "heavy" if serving else "fast"
        events.publish(
            self.redis,
            events.BatchLogged(
                run=self.run.name,
                batch=batch,
                records=len(indices),
                model_version=version,
                served_by=served_by,
            ),
        )
        log.info(
            "run %s: logged batch %d (%d records) chosen by %s",
            self.run.name, batch, len(indices), version,
        )  # fmt: skip

    def _record(self, updated: events.ModelUpdated, *, retried: bool = False) -> None:
        """Append ``updated`` to metrics.jsonl and publish it.

        A first try cannot have done either (the checkpoint it just wrote did not exist before), so
        only a ``retried`` job, finding its checkpoint written, looks for what a crash left undone.
        """
        if not retried or updated.batch not in self._recorded_batches():
            self._append_metrics(updated)
        if not retried or updated.batch not in self._published_batches(events.ModelUpdated):
            events.publish(self.redis, updated)
        log.info(
            "run %s: batch %d learned: %d labels, %s, %.1f s",
            self.run.name,
            updated.batch,
            updated.labels,
            updated.summary(),
            updated.timings.total,
        )

    def _append_metrics(self, updated: events.ModelUpdated) -> None:
        self.paths.metrics.parent.mkdir(parents=True, exist_ok=True)
        with self.paths.metrics.open("ab") as metrics_file:
            # Never continue a line that a crash cut short.
            start = b"\n" if metrics_file.tell() > 0 and not self._ends_with_newline() else b""
            metrics_file.write(start + updated.model_dump_json().encode() + b"\n")

    def _ends_with_newline(self) -> bool:
        with self.paths.metrics.open("rb") as metrics_file:
            metrics_file.seek(-1, 2)
            return metrics_file.read(1) == b"\n"

    def _recorded_batches(self) -> set[int]:
        return {int(row["batch"]) for row in read_metrics(self.paths)}

    def _published_batches(self, kind: type[events.ModelUpdated | events.RunStopped]) -> set[int]:
        """The batches of this run's events of ``kind`` on its stream."""
        found: set[int] = set()
        after = "0"
        while entries := list(events.read(self.redis, self.run.name, after=after)):
            after = entries[-1][0]
            found |= {event.batch for _, event in entries if isinstance(event, kind)}
        return found
