"""Active learning without annotators: the corpus's gold labels answer every batch (benchmarks)."""

from pathlib import Path

from common.corpus import Corpus
from common.spec import RunSpec
from trainer.learner import Learner, Metrics


def run_headless(
    spec: RunSpec, corpus: Corpus, iterations: int, run_dir: Path, device: str = "auto"
) -> list[Metrics]:
    """Batch 0 and then ``iterations`` query/teach rounds; test-split metrics after every teach.

    Stops early when the pool runs out; the stopping criterion is not consulted, so runs compare
    at equal label counts.
    """
    learner = Learner.build(spec, corpus, spec.labels or corpus.label_names(), run_dir, device)
    batch = learner.first_batch()
    history = []
    for round_ in range(iterations + 1):
        if round_ > 0:
            batch = learner.query()
            if not batch:
                break
        learner.teach([corpus.train_labels[index] for index in batch])
        history.append(learner.evaluate())
    return history
