"""Active learning without annotators: the corpus's gold labels answer every batch (benchmarks)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.corpus import Corpus
from common.spec import RunSpec
from trainer.learner import Learner, Metrics


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
