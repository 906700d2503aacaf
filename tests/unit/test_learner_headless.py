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


def test_the_default_learner_learns_trec_in_260_labels(trec_run_dir: Path) -> None:
    """Batch 0 of 20 random + 12 BreakingTies batches of 20, the default backend (``auto``).

    A floor that says the learner learns, far from any seed's result: measured on seeds 0-9 and 42
    here with neighbour averaging, it reached 0.844 to 0.904 at 260 labels (mean 0.877; seed 42,
    the one this test runs: 0.884), so 0.70 sits 0.144 below the worst seed, four times the 0.035
    that BLAS kernels and thread counts have moved one seed between machines here; always guessing
    the largest class (DESC) scores 0.277. Whether it beats the tutorial (about 0.80 there) is a benchmark's
    question: ``python -m bench al-curve`` (README "Performance": 0.870 at 260, mean of 3 seeds).
    """
    source = DatasetSource(path=str(TREC))
    spec = RunSpec(name="trec", dataset=source, query_strategy="BreakingTies")
    history = run_headless(spec, read_corpus(source), 12, trec_run_dir, "cpu")
    assert [metrics.labels for metrics in history] == list(range(20, 261, 20))
    assert history[-1].accuracy >= 0.70
    assert set(history[-1].per_class_f1) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}


def test_the_loop_ends_when_the_pool_runs_out(tmp_path: Path) -> None:
    texts = [f"{word} number {n}" for word in ("apple", "stone") for n in range(7)]
    labels = ["fruit"] * 7 + ["rock"] * 7
    corpus = Corpus(texts, labels, texts[:4], labels[:4])
    spec = RunSpec(name="tiny", dataset=DatasetSource(path="-"), backend="embeddings", batch_size=4)
    history = run_headless(spec, corpus, 10, tmp_path, "cpu")
    assert [metrics.labels for metrics in history] == [4, 8, 12, 14]
