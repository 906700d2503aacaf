"""The headless loop that benchmarks call, on the real TREC-6 data and on a tiny corpus."""

from pathlib import Path

import pytest

from common.corpus import Corpus, read_corpus
from common.spec import DatasetSource, RunSpec
from tests.support.data import TREC
from trainer.headless import run_headless


@pytest.fixture(scope="session")
def trec_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run dir for the session: TREC's embeddings are computed once."""
    return tmp_path_factory.mktemp("trec")


def test_the_default_learner_clears_the_tutorials_accuracy_at_260_labels(trec_run_dir: Path) -> None:
    """Batch 0 of 20 random + 12 BreakingTies batches of 20, the default backend (``auto``): the
    tutorial reports about 0.80 there.

    A floor, not a target: measured on seeds 0-9 and 42 here with neighbour averaging, the default
    learner reached 0.844 to 0.904 at 260 labels (mean 0.877; the seed this test runs, 42: 0.884;
    0.854 to 0.900 before averaging), so 0.80 is at least 0.044 below every seed and 0.084 below this
    one, more than the 0.035 that BLAS kernels and thread counts have moved one seed's curve
    between machines here.
    Targets live in ``python -m bench al-curve``.
    """
    source = DatasetSource(path=str(TREC))
    spec = RunSpec(name="trec", dataset=source, query_strategy="BreakingTies")
    history = run_headless(spec, read_corpus(source), 12, trec_run_dir, "cpu")
    assert [metrics.labels for metrics in history] == list(range(20, 261, 20))
    assert history[-1].accuracy >= 0.80
    assert set(history[-1].per_class_f1) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}


def test_the_loop_ends_when_the_pool_runs_out(tmp_path: Path) -> None:
    texts = [f"{word} number {n}" for word in ("apple", "stone") for n in range(7)]
    labels = ["fruit"] * 7 + ["rock"] * 7
    corpus = Corpus(texts, labels, texts[:4], labels[:4])
    spec = RunSpec(name="tiny", dataset=DatasetSource(path="-"), backend="embeddings", batch_size=4)
    history = run_headless(spec, corpus, 10, tmp_path, "cpu")
    assert [metrics.labels for metrics in history] == [4, 8, 12, 14]
