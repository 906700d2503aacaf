"""The trainer's worker reads a run's corpus before forking its jobs, and again once the data changed."""

import os
from pathlib import Path

import fakeredis
import pytest
from rq import Queue
from rq.job import Job

from common.corpus import Corpus
from common.runs import RunRegistry
from common.spec import DatasetSource, RunSpec
from trainer import context
from trainer.context import corpus_fingerprint, corpus_of
from trainer.worker import TrainerWorker
from watcher.enqueue import TRAIN_JOB


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the corpus is read from, one entry a read, with the per-process cache emptied."""
    context._corpus.cache_clear()
    context._fingerprint.cache_clear()
    seen: list[str] = []
    read = context.read_corpus

    def counting(source: DatasetSource) -> Corpus:
        seen.append(source.path)
        return read(source)

    monkeypatch.setattr(context, "read_corpus", counting)
    return seen


def pool(folder: Path, *texts: str) -> RunSpec:
    (folder / "pool.csv").write_text("text\n" + "\n".join(texts) + "\n")
    return RunSpec(name="r1", dataset=DatasetSource(path=str(folder / "pool.csv")), labels=["A", "B"])


def test_a_corpus_is_read_once_while_its_file_is_unchanged(tmp_path: Path, reads: list[str]) -> None:
    spec = pool(tmp_path, "a goal", "bread")
    first = corpus_of(spec)
    assert corpus_of(spec) is first and corpus_fingerprint(spec) and len(reads) == 1
    before = corpus_fingerprint(spec)
    pool(tmp_path, "a goal", "soup")
    stat = (tmp_path / "pool.csv").stat()
    os.utime(tmp_path / "pool.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # a coarse clock
    assert corpus_of(spec).train_texts == ["a goal", "soup"] and len(reads) == 2
    assert corpus_fingerprint(spec) != before, "a run started on the old data refuses the new"


def test_the_worker_reads_a_runs_corpus_before_forking_its_job(
    tmp_path: Path, reads: list[str], redis: fakeredis.FakeRedis
) -> None:
    spec = pool(tmp_path, "a goal", "bread")
    RunRegistry(redis).register(spec)
    worker = TrainerWorker([Queue("alloop-train", connection=redis)], connection=redis)
    worker.read_corpus_of(Job.create(TRAIN_JOB, args=("r1", 0), connection=redis))
    assert reads == [spec.dataset.path]
    corpus_of(spec)
    corpus_fingerprint(spec)
    assert len(reads) == 1, "a job forked after it finds the corpus read"
    worker.read_corpus_of(Job.create(TRAIN_JOB, args=("gone", 0), connection=redis))
    worker.read_corpus_of(Job.create("builtins.print", args=("r1",), connection=redis))
    assert len(reads) == 1, "an unknown run is left for its job to report; other jobs read nothing"
