"""Active learning without annotators: the corpus's gold labels answer every batch (benchmarks)."""

import copy
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.corpus import Corpus
from common.events import Served
from common.spec import RunSpec
from trainer.heavy import Start, fit_and_score, newest_background
from trainer.learner import Learner, Metrics
from trainer.neighbours import Averaging
from trainer.scores import PoolScores, ScoreStore


@dataclass(frozen=True, kw_only=True)
class Round(Metrics):
    """Test-split metrics after one teach, with the seconds that round spent choosing and learning,
    and, for a run with an evaluation sample, what the sample estimates."""

    query_s: float
    update_s: float
    estimate: Metrics | None = None


def run_headless(
    spec: RunSpec,
    corpus: Corpus,
    iterations: int,
    run_dir: Path,
    device: str = "auto",
    on_round: Callable[[Round], None] | None = None,
    eval_sample: bool = False,
) -> list[Round]:
    """Batch 0 and then ``iterations`` query/teach rounds; test-split metrics after every teach.

    Stops early when the pool runs out; the stopping criterion is not consulted, so runs compare
    at equal label counts. ``query_s`` of round 0 is the time to choose batch 0; ``on_round`` sees
    each round as it ends (progress bars). ``eval_sample`` draws ``spec.eval_size`` texts as the run
    would without a test split, and each round also says what they estimate.
    """
    gold = corpus.gold("a simulated run")
    labels = corpus.run_labels(spec.labels)
    learner = Learner.build(spec, corpus, labels, run_dir, device, eval_sample=eval_sample)
    history = []
    for round_ in range(iterations + 1):
        started = time.perf_counter()
        batch = learner.query() if round_ > 0 else learner.first_batch()
        query_s = time.perf_counter() - started
        if not batch:
            break
        update_s = learner.teach([gold[index] for index in batch])
        update_s += learner.reselect()
        metrics = learner.evaluate()
        estimate = learner.estimate() if eval_sample else None
        history.append(Round(**vars(metrics), query_s=query_s, update_s=update_s, estimate=estimate))
        if on_round is not None:
            on_round(history[-1])
    return history


@dataclass(frozen=True, kw_only=True)
class TwoSpeedRound(Round):
    """A round of two-speed learning: the serving model's figures (its own), each model's, and when."""

    served_by: Served
    fast: Metrics
    heavy: Metrics | None
    lag: int | None
    """Batches between the newest one learned and the last the serving background model learned."""
    clock_s: float
    """Simulated seconds from batch 0's log to this batch's figures."""
    heavy_s: tuple[float, float] | None = None
    """The newest background model's training and scoring seconds (timed for real)."""
    heavy_fast_weight: float | None = None
    """The fast model's weight in the newest background model's scores (0: it scores alone)."""


@dataclass(frozen=True)
class _Snapshot:
    """The labels after one batch, for the heavy job queued then, and the fast model of those labels
    (the fast half of a blend) with its neighbours' weight."""

    at: float
    batch: int
    indices: np.ndarray
    y: np.ndarray
    fast: Any
    averaging: Averaging


@dataclass
class _HeavyWorker:
    """One heavy worker on a simulated clock: it trains on the newest labels when it is free, and
    its model is there from the moment the training (timed for real) would have ended."""

    spec: RunSpec
    learner: Learner
    store: ScoreStore
    device: str
    snapshots: list[_Snapshot] = field(default_factory=list)
    free_at: float = 0.0
    trained_up_to: int = -1
    start: Start | None = None
    finished: list[tuple[float, PoolScores]] = field(default_factory=list)

    def queue(self, at: float, batch: int) -> None:
        """The labels after ``batch``, learned at ``at``: a heavy job is queued for them."""
        active = self.learner.active
        self.snapshots.append(
            _Snapshot(
                at,
                batch,
                active.indices_labeled.copy(),
                np.asarray(active.y).copy(),
                copy.deepcopy(active.classifier),
                self.learner.averaging,
            )
        )

    def run_until(self, now: float) -> None:
        """Train every model the worker starts before ``now``; store those that end before it."""
        while True:
            waiting = [s for s in self.snapshots if s.batch > self.trained_up_to]
            if not waiting:
                break
            start = max(self.free_at, waiting[0].at)
            if start > now:
                break
            newest = [s for s in waiting if s.at <= start][-1]  # a backlog collapses
            labelled = (newest.indices, newest.y)
            trained = fit_and_score(
                self.spec, self.learner, newest.batch, self.device, labelled, newest.fast, newest.averaging,
                start=self.start,
            )  # fmt: skip
            self.start = trained.next_start
            manifest = trained.scores.manifest
            self.free_at = start + manifest.train_s + manifest.score_s
            self.trained_up_to = newest.batch
            self.finished.append((self.free_at, trained.scores))
        for ends, scores in self.finished:
            if ends <= now:
                self.store.save(scores)
        self.finished = [(ends, scores) for ends, scores in self.finished if ends > now]


def run_two_speed(
    spec: RunSpec,
    corpus: Corpus,
    iterations: int,
    run_dir: Path,
    seconds_per_label: float,
    device: str = "auto",
    on_round: Callable[[TwoSpeedRound], None] | None = None,
) -> list[TwoSpeedRound]:
    """:func:`run_headless` with ``spec.heavy_backend`` trained in the background as a run does it,
    on a simulated clock: the annotator takes ``seconds_per_label`` a text, the learner and the
    background model the seconds they really take (one after the other here, so a background
    training never slows the learner down as it would on shared cores). The background model
    serves once it is ahead, as in the job (:func:`trainer.heavy.newest_background`)."""
    gold = corpus.gold("a simulated run")
    learner = Learner.build(spec, corpus, corpus.run_labels(spec.labels), run_dir, device)
    worker = _HeavyWorker(spec, learner, ScoreStore(run_dir / "heavy-scores"), device)
    shutil.rmtree(worker.store.folder, ignore_errors=True)  # a run dir shared by seeds: scores are this run's
    clock, proba, share, history = 0.0, None, None, []
    for round_ in range(iterations + 1):
        started = time.perf_counter()
        batch = learner.query(proba, share) if round_ > 0 else learner.first_batch()
        query_s = time.perf_counter() - started
        if not batch:
            break
        clock += query_s + len(batch) * seconds_per_label
        update_s = learner.teach([gold[index] for index in batch]) + learner.reselect()
        clock += update_s
        worker.run_until(clock)
        fast = learner.evaluate()
        background = newest_background(spec, worker.store, learner, fast)
        served = background is not None and background.serving is not None
        proba = background.serving.proba if background and background.serving else None
        share = background.share(spec, round_) if background else None
        headline = background.metrics if background and served else fast
        history.append(
            TwoSpeedRound(
                **{**vars(headline), "labels": fast.labels},
                query_s=query_s,
                update_s=update_s,
                served_by="heavy" if served else "fast",
                fast=fast,
                heavy=background.metrics if background else None,
                lag=round_ - background.manifest.batch if background else None,
                clock_s=clock,
                heavy_s=(background.manifest.train_s, background.manifest.score_s) if background else None,
                heavy_fast_weight=background.manifest.fast_weight if background else None,
            )
        )
        worker.queue(clock, round_)
        if on_round is not None:
            on_round(history[-1])
    return history
