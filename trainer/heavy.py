"""Two-speed learning's slow half: a stronger model trained in the background on every label so far.

Annotators are served by the run's own learner (the fast half), which learns each finished batch in
well under a second. After each batch, a job on the heavy queue trains ``spec.heavy_backend`` on the
labels of the newest checkpoint, scores the whole pool and the test split once, and stores the pool's
class probabilities and the model, for `alloop export-model` (:mod:`trainer.scores`). The next
training job compares the two on the test split: while the heavy model is more accurate, its stored
scores choose and pre-label the next batch, so serving it costs a lookup rather than a pass of a
transformer over the pool.

A SetFit background model continues from the last one saved rather than from the base model, so
that its bounded steps add up across trainings instead of starting over on more labels each time.

Heavy jobs never take the run's training lock, so the fast half is never kept waiting; they take a
lock of their own, and one that finds scores as new as the newest checkpoint returns at once, so a
backlog of heavy jobs collapses into one training on the newest labels.
"""

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import redis

from common import events, keys
from common.checkpoints import CheckpointCorrupt, CheckpointStore
from common.connection import resolve_connection
from common.corpus import Corpus
from common.queues import JOB_TIMEOUT_S, enqueue_once, heavy_queue
from common.runs import RunPaths, RunRegistry
from common.settings import Settings, get_settings
from common.spec import FRESH_BATCHES, Backend, RunSpec
from trainer.backends import make_backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.devices import resolve_device
from trainer.context import corpus_of, model_version
from trainer.export import SAVED_ALONE, save_classifier, save_model
from trainer.failures import report_failure
from trainer.learner import Learner
from trainer.lease import lease
from trainer.metrics import Metrics, measure, unmeasured
from trainer.neighbours import Averaging
from trainer.scores import PoolScores, ScoresManifest, ScoreStore
from trainer.yielding import yielding

log = logging.getLogger("alloop.trainer.heavy")

HEAVY_JOB = "trainer.heavy.train_heavy"
LOCK_WAIT_S = JOB_TIMEOUT_S


@dataclass(frozen=True)
class Background:
    """The background model at one step of a run: its figures beside the learner's, and its pool
    scores when it serves the next batch."""

    manifest: ScoresManifest
    metrics: Metrics
    serving: PoolScores | None

    def share(self, spec: RunSpec, batch: int) -> float:
        """The share of the batch after ``batch`` its scores choose: ``spec.heavy_share`` while they
        are at most :data:`FRESH_BATCHES` batches old, then shrinking in proportion to their age, as
        stale scores keep pointing at a boundary the labels since have moved."""
        behind = batch - self.manifest.batch
        return spec.heavy_share * min(1.0, FRESH_BATCHES / max(behind, 1))


def newest_background(
    spec: RunSpec, scores: ScoreStore, learner: Learner, fast: Metrics
) -> Background | None:
    """The newest background model, scored on the same held-out labels as the learner (``fast``
    its figures), with its pool scores when it is the better of the two and the strategy chooses
    by scores alone.

    On the test split its manifest holds its figures; the evaluation sample grows with every
    batch, so there its stored pool scores are scored anew on the answers so far.
    """
    newest = scores.newest() if spec.heavy_backend is not None else None
    if newest is None:
        return None
    stored = None
    if fast.evaluated_on == "eval-sample":
        stored = scores.load(newest.batch)
        metrics = replace(learner.estimate(stored.proba), labels=newest.labels)
    else:
        metrics = Metrics.of(newest)
    if not (_ahead(metrics, fast) and learner.queries_by_scores):
        return Background(newest, metrics, None)
    return Background(newest, metrics, stored or scores.load(newest.batch))  # read only when it serves


def _ahead(heavy: Metrics, fast: Metrics) -> bool:
    return heavy.accuracy is not None and fast.accuracy is not None and heavy.accuracy > fast.accuracy


def enqueue_heavy(connection: redis.Redis, run: str, batch: int) -> None:
    """Queue the background model's training on the labels up to ``batch`` (once per batch)."""
    enqueue_once(
        heavy_queue(connection),
        HEAVY_JOB,
        run,
        batch,
        job_id=keys.heavy_job_id(run, batch),
        description=f"train {run}'s background model on batches up to {batch}",
    )


def train_heavy(run_name: str, batch: int) -> dict[str, object]:
    """Entry point of the heavy job: train and score the background model on the newest labels."""
    settings = get_settings()
    connection = resolve_connection(settings)
    client = connection.redis()
    run = RunRegistry(client).get(run_name)
    paths = RunPaths.of(settings.home, run_name)
    scores = ScoreStore(paths.heavy_scores)
    # All of the job yields, its loading too: it may start while annotators wait on a training job.
    pausable = yielding(connection.redis_url, settings.machine) if on_cpu(settings) else nullcontext()
    try:
        with pausable, lease(client, keys.heavy_lock(run_name), wait_s=LOCK_WAIT_S):
            checkpoints = CheckpointStore(paths.checkpoints)
            newest = checkpoints.latest()
            done = scores.newest()
            if newest is None or newest < 0 or (done is not None and done.batch >= newest):
                return {"batch": batch, "skipped": True}
            learner = Learner.load(
                checkpoints.learner(newest),
                corpus_of(run.spec),
                paths.cache,
                settings.device,
            )
            start = last_saved(run.spec, scores)
            trained = fit_and_score(run.spec, learner, newest, settings.device, start=start)
            scores.save(trained.scores, trained.saver)
    except Exception as error:
        job_id = keys.heavy_job_id(run_name, batch)
        once_fixed = "the next batch's training queues the background model again"
        report_failure(client, connection, run_name, batch, job_id, error, once_fixed)
        raise
    manifest = trained.scores.manifest
    events.publish(client, events.HeavyUpdated(run=run_name, **manifest.event_fields()))
    log.info(
        "run %s: background model learned %d labels (to batch %d, from %s): %s, %.1f s + %.1f s scoring",
        run_name, manifest.labels, manifest.batch, manifest.origin(), manifest.summary(), manifest.train_s,
        manifest.score_s,
    )  # fmt: skip
    return {"batch": manifest.batch, "accuracy": manifest.accuracy}


@dataclass(frozen=True)
class Start:
    """A background model to continue training from: the one that learned up to ``batch``."""

    batch: int
    model: Any


CONTINUES = (Backend.setfit,)
"""Background backends whose trainings continue from the last model.

SetFit's budget bounds each training to 150 steps of pairs on a CPU, and from the base model its
accuracy stopped growing with the labels: two-speed TREC-6 at 3 s a label (`bench al-curve`, 3
seeds) served 0.916 at 260 labels and 0.923 at 500. Continued, the steps add up: 0.941 and 0.958."""


def last_saved(spec: RunSpec, scores: ScoreStore) -> Start | None:
    """The newest background model still saved, checked against its manifest, for a backend that
    continues (:data:`CONTINUES`); None when there is none that can be read (the training then
    starts from the base model, as the first one does)."""
    if spec.heavy_backend not in CONTINUES:
        return None
    from trainer.backends.setfit import saved_model  # SetFit's imports, for SetFit runs only

    for batch in reversed(scores.models()):
        try:
            folder = scores.model(batch)
            return Start(
                batch, saved_model(folder / BLEND_HEAVY if (folder / BLEND_HEAVY).is_dir() else folder)
            )
        except (OSError, CheckpointCorrupt, ValueError) as error:
            log.warning(
                "run %s: the background model of batch %d cannot be continued (%s)", spec.name, batch, error
            )
    return None


BLEND_WEIGHT = 0.5
"""The fast model's weight when its class probabilities are averaged with the background model's.

Each misses what the other catches: TREC-6, random labels, SetFit 0.918 and the fast model ``auto``
0.913 at 500 labels (seed 0) average to 0.932; seed 1, 0.920 and 0.892 to 0.938 at 500, 0.922 and
0.860 to 0.934 at 260. Weights 0.4 and 0.6 did no better than 0.5; 0.3 and 0.7 did worse.
"""


@dataclass(frozen=True)
class Trained:
    """A background model just trained: its scores, the classifier :attr:`saver` writes, and the
    fast model averaged in (None when the background model scores alone)."""

    scores: PoolScores
    classifier: Any
    backend: ClassifierBackend
    fast: Learner | None = None

    @property
    def next_start(self) -> Start | None:
        """This model, for the next training to continue from (None for a backend that does not)."""
        if self.backend.kind not in CONTINUES:
            return None
        return Start(self.scores.manifest.batch, self.classifier.model)

    @property
    def saver(self) -> Callable[[Path], str] | None:
        """What writes the model to a folder as ``alloop export-model`` hands it out (returning the
        library it loads with); None for a backend whose model needs more of the run than itself."""
        if self.backend.kind not in SAVED_ALONE:
            return None
        if self.scores.manifest.fast_weight > 0:
            return self._save_blend if self.fast is not None else None
        kind, labels = self.backend.kind, self.scores.manifest.label_names
        return lambda folder: save_classifier(kind, self.classifier, self.backend, labels, folder)

    def _save_blend(self, folder: Path) -> str:
        """Both models, each in its own form (``heavy/``, ``fast/``), and how to average them."""
        assert self.fast is not None
        folder.mkdir()
        labels = self.scores.manifest.label_names
        heavy = save_classifier(
            self.backend.kind, self.classifier, self.backend, labels, folder / BLEND_HEAVY
        )
        fast = save_model(self.fast, folder / "fast")
        weight = self.scores.manifest.fast_weight
        (folder / "README.md").write_text(BLEND_README.format(heavy=heavy, fast=fast, weight=weight))
        return f"{heavy} + {fast}, averaged"


BLEND_HEAVY = "heavy"
"""The background model's own folder in a saved blend."""
BLEND_README = """# The serving model: two models, their class probabilities averaged

`heavy/` loads with {heavy}, `fast/` with {fast} (its README.md says how). Both give one
probability per label, in the order of `labels` in `alloop.json`; the serving model's are
`(1 - {weight}) * heavy + {weight} * fast`, and its label the most probable one.
"""


def fit_and_score(
    spec: RunSpec,
    learner: Learner,
    batch: int,
    device: str,
    labelled: tuple[np.ndarray, np.ndarray] | None = None,
    fast: Any = None,
    fast_averaging: Averaging | None = None,
    start: Start | None = None,
) -> Trained:
    """Train ``spec.heavy_backend`` on the learner's labels (or ``labelled``: pool indices and their
    class indices, learned earlier); score the pool and the test split. Where averaging its class
    probabilities with the fast model's of the same labels (``fast``, a classifier, with its
    neighbours' weight ``fast_averaging``; default the learner's) does better on the held-out
    labels, those averages are its scores. ``start``: the model this training continues from
    (:func:`last_saved`); None: from the base model."""
    if spec.heavy_backend is None:
        raise ValueError(f"run {spec.name} has no heavy_backend")
    heavy_spec = spec.model_copy(update={"backend": spec.heavy_backend})
    backend = make_backend(heavy_spec, learner.label_names, learner.backend.run_dir, device)
    corpus: Corpus = learner.corpus
    indices, y = labelled or (learner.active.indices_labeled, learner.active.y)
    started = time.perf_counter()
    train = backend.dataset([corpus.train_texts[int(index)] for index in indices])
    train.y = np.asarray(y, dtype=int)
    classifier = backend.classifier_factory().new()
    if start is not None:
        classifier.model = start.model  # small-text fits the model it holds, and loads one only if none
    classifier.fit(train)
    trained = time.perf_counter()
    alone = _Proba.of(classifier, learner, backend)
    blend = alone.mixed(_Proba(*learner.probabilities(fast, fast_averaging)), BLEND_WEIGHT)
    alone_figures, blend_figures = alone.figures(learner, len(indices)), blend.figures(learner, len(indices))
    blended = _better(blend_figures, alone_figures)
    chosen, metrics = (blend, blend_figures) if blended else (alone, alone_figures)
    tag = Backend(spec.heavy_backend).value + (".blend" if blended else "")
    manifest = ScoresManifest(
        batch=batch,
        model_version=model_version(spec, batch, tag),
        **vars(metrics),
        label_names=learner.label_names,
        train_s=trained - started,
        score_s=time.perf_counter() - trained,
        fast_weight=BLEND_WEIGHT if blended else 0.0,
        alone_accuracy=alone_figures.accuracy,
        continued_from=None if start is None else start.batch,
    )
    # The learner's model is the fast half of the blend only when it learned these very labels.
    same = labelled is None and fast is None and fast_averaging is None
    return Trained(
        PoolScores(manifest, chosen.pool), classifier, backend, learner if blended and same else None
    )


def on_cpu(settings: Settings) -> bool:
    """Whether this worker's background trainings run on the CPU (and so yield to training jobs)."""
    return resolve_device(settings.device) == "cpu"


def _better(blend: Metrics, alone: Metrics) -> bool:
    return blend.accuracy is not None and alone.accuracy is not None and blend.accuracy > alone.accuracy


@dataclass(frozen=True)
class _Proba:
    """One model's class probabilities of the pool and of the test split (None without one)."""

    pool: np.ndarray
    test: np.ndarray | None

    @classmethod
    def of(cls, classifier: Any, learner: Learner, backend: ClassifierBackend) -> "_Proba":
        """``classifier``'s, on the rows ``backend`` makes of the learner's pool and test split."""
        corpus = learner.corpus
        test = None
        if learner.evaluated_on == "test":
            test = np.asarray(classifier.predict_proba(backend.dataset(corpus.test_texts, cache=True)))
        pool = np.asarray(classifier.predict_proba(backend.dataset(corpus.train_texts, cache=True)))
        return cls(pool, test)

    def mixed(self, other: "_Proba", weight: float) -> "_Proba":
        """``(1 - weight) * self + weight * other``."""
        test = (
            None
            if self.test is None or other.test is None
            else (1 - weight) * self.test + weight * other.test
        )
        return _Proba((1 - weight) * self.pool + weight * other.pool, test)

    def figures(self, learner: Learner, labels: int) -> Metrics:
        """Figures on the learner's held-out labels: the test split, else the evaluation sample."""
        if self.test is not None:
            predicted = self.test.argmax(axis=1)
            return measure(learner.corpus.test_labels, predicted, learner.label_names, labels)
        if learner.evaluated_on == "eval-sample":
            return replace(learner.estimate(self.pool), labels=labels)
        return unmeasured(labels)
