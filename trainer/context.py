"""What every job of a run shares: its corpus, read once per process while its files are unchanged,
and the names of its models."""

import hashlib
from functools import lru_cache
from pathlib import Path

from common.corpus import Corpus, read_corpus
from common.spec import DatasetSource, RunSpec

Signature = tuple[tuple[str, int, int], ...]


def files_signature(source: DatasetSource) -> Signature:
    """Path, size and modification time of every local file the corpus is read from (none for the
    hub), so that a corpus read before is read again once its data changed."""
    if source.is_hub:
        return ()
    found = []
    for root in (Path(name).expanduser() for name in (source.path, source.test) if name is not None):
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                stat = path.stat()
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


@lru_cache(maxsize=4)
def _corpus(source_json: str, _files: Signature) -> Corpus:
    return read_corpus(DatasetSource.model_validate_json(source_json))


def corpus_of(spec: RunSpec) -> Corpus:
    """The run's corpus, read once per process while its files are unchanged (a worker reads it
    before forking a job, :mod:`trainer.worker`, so jobs do not read it at all)."""
    return _corpus(spec.dataset.model_dump_json(), files_signature(spec.dataset))


def corpus_fingerprint(spec: RunSpec) -> str:
    """SHA-256 of the run's pool and test split: pool indices mean the same texts while it is unchanged."""
    return _fingerprint(spec.dataset.model_dump_json(), files_signature(spec.dataset))


@lru_cache(maxsize=4)
def _fingerprint(source_json: str, files: Signature) -> str:
    corpus = _corpus(source_json, files)
    # Not common.files.text_digest: every run's initial checkpoint holds this value, and another
    # encoding would make each existing run refuse its own data.
    digest = hashlib.sha256()
    for part in (corpus.train_texts, corpus.train_labels, corpus.test_texts, corpus.test_labels):
        for item in part:
            # A text without a label leaves its own mark; labelled data hashes as it always has.
            digest.update(b"\2" if item is None else item.encode("utf-8", errors="surrogatepass") + b"\0")
        digest.update(b"\1")
    return digest.hexdigest()


def model_version(spec: RunSpec, batch: int, tag: str) -> str:
    """Names the model that learned up to ``batch``; Argilla shows it as the suggestions' agent.

    ``tag`` is the backend, and for ``auto`` the model it chose (``Learner.version_tag``). Argilla
    allows letters, digits and ``-_:./`` and spaces in an agent.
    """
    return f"{tag}:{spec.model}/" + ("initial" if batch < 0 else f"batch-{batch}")
