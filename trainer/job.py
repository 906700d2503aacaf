"""The rq job that learns one finished batch and logs the next one."""

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from pydantic import TypeAdapter

from common import events, keys
from common.argilla_adapter import ArgillaAdapter, BatchRecord, record_id
from common.checkpoints import INITIAL, CheckpointStore, Manifest
from common.claims import claim
from common.connection import Connection, resolve_connection
from common.errors import UserError
from common.events import AutoStop
from common.files import atomic_write_bytes
from common.runs import Run, RunPaths, RunRegistry, RunState, read_metrics
from common.settings import Settings, get_settings
from common.spec import RunSpec
from trainer.backends.selection import Selection
from trainer.context import corpus_fingerprint, corpus_of, model_version
from trainer.failures import report_failure
from trainer.heavy import enqueue_heavy, newest_background
from trainer.learner import Learner
from trainer.lease import lease
from trainer.neighbours import Averaging
from trainer.scores import ScoreStore

log = logging.getLogger("alloop.trainer")

LOCK_WAIT_S = 600
SELECTIONS = "selections.json"
"""Beside a checkpoint: ``auto``'s cross-validations, made after it was saved and the next batch logged."""
SELECTIONS_JSON = TypeAdapter(list[Selection])
AVERAGING = "averaging.json"
AVERAGING_JSON = TypeAdapter(tuple[Averaging, list[dict[float, float]]])


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
    job_id = keys.train_job_id(run_name, batch)
    try:
        # Claimed first: a background training waiting to be stopped would slow the lease and the rest.
        with (
            claim(client, settings.machine, job_id),
            lease(client, keys.run_lock(run_name), wait_s=LOCK_WAIT_S),
        ):
            run = RunRegistry(client).get(run_name)
            return Training(settings, connection, client, run).learn(batch, records)
    except Exception as error:
        report_failure(client, connection, run_name, batch, job_id, error)
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
        neighbours_weight=learner.averaging.weight,
        taught=learner.taught,
    )


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
        """The learner of checkpoint ``batch``, with the model choice worked out after it was saved."""
        learner = Learner.load(
            self.store.learner(batch), corpus_of(self.spec), self.paths.cache, self.settings.device
        )
        note = self.store.note_path(batch, SELECTIONS)
        averaging = self.store.note_path(batch, AVERAGING)
        if note.exists():
            learner.state.selections = SELECTIONS_JSON.validate_json(note.read_bytes())
            if averaging.exists():
                learner.state.averaging, learner.state.averaging_scores = AVERAGING_JSON.validate_json(
                    averaging.read_bytes()
                )
        elif learner.selects and batch != INITIAL:
            self._reselect(batch, learner)  # lost to a crash after the checkpoint: work it out again
        return learner

    def learn(self, batch: int, records: list[BatchRecord] | None = None) -> dict[str, object]:
        """Learn ``batch``: everything of the step goes into checkpoint ``batch`` first, then
        :meth:`finish` logs the next batch and records the step from that checkpoint alone."""
        self._check_corpus()
        if self.store.exists(batch):
            log.info("run %s: batch %d was learned already; finishing what follows it", self.run.name, batch)
            self.finish(batch)
            return {"batch": batch, "already_learned": True}
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
        with clock.step("train"):
            learner.teach(self._labels(batch, learner, records))
        manifest = self._step(batch, learner, clock)
        with clock.step("checkpoint"):
            self.store.save(manifest, learner.save)
        self.finish(batch, clock=clock, after_log=lambda: self._reselect(batch, learner, clock))
        return {
            "batch": batch,
            "accuracy": manifest.metrics.get("accuracy"),
            "evaluated_on": manifest.metrics.get("evaluated_on"),
            "labels": manifest.labels,
            "stopped": manifest.stopped is not None,
        }

    def _labels(self, batch: int, learner: Learner, records: list[BatchRecord]) -> list[str | None]:
        """The answers to the awaited batch, in its order; None for a discarded or deleted record."""
        answers = {record.index: record for record in records}
        missing = sorted(set(learner.awaiting) - set(answers))
        if missing:
            # Deleted in Argilla by hand: learned like discarded records, so never asked again.
            log.warning(
                "run %s: batch %d: records %s are gone from Argilla (deleted?); left out like discarded ones",
                self.run.name, batch, ", ".join(record_id(index) for index in missing),
            )  # fmt: skip
        return [
            None if index not in answers or answers[index].discarded else answers[index].label
            for index in learner.awaiting
        ]

    def _step(self, batch: int, learner: Learner, clock: Stopwatch) -> Manifest:
        """What checkpoint ``batch`` holds beside the learner: the next batch with its suggestions, the
        model that chose it, the figures (the serving model's first), and whether the run stops."""
        with clock.step("evaluate"):
            fast = learner.evaluate()
            background = newest_background(self.spec, self.scores, learner, fast)
        serving = background.serving if background else None
        proba = serving.proba if serving else None
        share = background.share(self.spec, batch) if background else None
        with clock.step("query"):
            next_batch = learner.query(proba, share)
            suggestions = learner.suggest(next_batch, proba)
        own_version = model_version(self.spec, batch, learner.version_tag)
        stopped: AutoStop | None = None
        if learner.stop_reached() or not next_batch:
            stopped = "criterion" if next_batch else "pool-exhausted"
        headline = background.metrics if background and serving else fast
        version = serving.manifest.model_version if serving else own_version
        updated = events.ModelUpdated(
            run=self.run.name,
            batch=batch,
            **{**vars(headline), "labels": fast.labels},
            model_version=version,
            timings=events.Timings(),
            served_by="heavy" if serving else "fast",
            fast=fast.of_model(own_version),
            heavy=background.metrics.of_model(background.manifest.model_version) if background else None,
            choice=model_choice(learner),
        )
        return Manifest(
            batch=batch,
            model_version=version,
            labels=fast.labels,
            next_batch=next_batch,
            suggestions=suggestions or None,
            # The whole event, so that finish() can record it, on a first try or a retry.
            metrics=updated.model_dump(mode="json"),
            stopped=stopped,
            scores_batch=serving.manifest.batch if serving else None,
        )

    def _reselect(self, batch: int, learner: Learner, clock: Stopwatch | None = None) -> None:
        """``auto``: cross-validate the next model on every label so far, and note it beside
        checkpoint ``batch`` (after the log: the annotators do not wait for it)."""
        if not learner.selects:
            return
        with (clock or Stopwatch()).step("select"):
            learner.reselect()
        state = learner.state
        averaging = AVERAGING_JSON.dump_json((state.averaging, state.averaging_scores))
        atomic_write_bytes(self.store.note_path(batch, AVERAGING), averaging)
        # Written last: its presence says the selection (and the averaging) is complete.
        atomic_write_bytes(
            self.store.note_path(batch, SELECTIONS), SELECTIONS_JSON.dump_json(state.selections)
        )

    def finish(
        self, batch: int, *, clock: Stopwatch | None = None, after_log: Callable[[], None] | None = None
    ) -> None:
        """Everything that follows checkpoint ``batch``, read from it alone: log the batch it chose
        (unless the run stops), move the run to it, record the figures, then stop the run or start
        the background model. Idempotent: a retried job (``clock`` None) redoes what a crash left
        undone, and logging a batch again updates the same records."""
        retried = clock is None
        clock = clock or Stopwatch()
        manifest = self.store.manifest(batch)
        if manifest.stopped is None and manifest.next_batch:
            with clock.step("log"):
                self._log(manifest, retried=retried)
        if after_log is not None:
            after_log()
        if manifest.metrics:
            updated = events.ModelUpdated.model_validate(manifest.metrics)
            if not retried:
                updated.timings = events.Timings(**clock.seconds, total=sum(clock.seconds.values()))
            self._record(updated, retried=retried)
        self._close(manifest, retried=retried)

    def _check_corpus(self) -> None:
        """Refuse to go on if the data changed under the run: its pool indices would name other texts."""
        started_with = self.store.manifest(INITIAL).corpus
        if started_with is not None and started_with != corpus_fingerprint(self.spec):
            raise UserError(
                f"run {self.run.name}: the dataset {self.spec.dataset.path} changed since the run started, "
                "so its pool items no longer match their records; put the original data back, "
                "or start a new run on the new data"
            )

    def _close(self, manifest: Manifest, *, retried: bool = False) -> None:
        """Stop the run if its checkpoint says so, else start the background model on the new labels."""
        if manifest.stopped is None:
            if self.spec.heavy_backend is not None and manifest.batch != INITIAL:
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
        """Log the batch that checkpoint ``batch`` chose, with its suggestions (idempotent); also one
        a stopped run chose and never logged, when it is resumed."""
        manifest = self.store.manifest(batch)
        if manifest.next_batch:
            self._log(manifest, retried=True)

    def _log(self, manifest: Manifest, *, retried: bool) -> None:
        batch = manifest.batch + 1
        indices = manifest.next_batch
        texts = corpus_of(self.spec).train_texts
        agent = manifest.model_version if manifest.suggestions else None  # batch 0 of a run without seeds
        self.argilla.log_batch(
            self.spec, batch, indices, [texts[i] for i in indices], manifest.suggestions, agent=agent
        )
        self.registry.set_batch(self.run.name, batch)
        if not retried or batch not in self._published_batches(events.BatchLogged):
            served_by: events.Served = "fast" if manifest.scores_batch is None else "heavy"
            logged = events.BatchLogged(
                run=self.run.name, batch=batch, records=len(indices), model_version=agent, served_by=served_by
            )
            events.publish(self.redis, logged)
        log.info(
            "run %s: logged batch %d (%d records) chosen by %s",
            self.run.name, batch, len(indices), manifest.model_version,
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

    def _published_batches(
        self, kind: type[events.BatchLogged | events.ModelUpdated | events.RunStopped]
    ) -> set[int]:
        """The batches of this run's events of ``kind`` on its stream."""
        found: set[int] = set()
        after = "0"
        while entries := list(events.read(self.redis, self.run.name, after=after)):
            after = entries[-1][0]
            found |= {event.batch for _, event in entries if isinstance(event, kind)}
        return found
