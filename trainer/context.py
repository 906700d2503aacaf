"""What every job of a run shares: its corpus, read once per process, and the names of its models."""

from functools import lru_cache

from common.corpus import Corpus, read_corpus
from common.spec import DatasetSource, RunSpec


@lru_cache(maxsize=4)
def _corpus(source_json: str) -> Corpus:
    return read_corpus(DatasetSource.model_validate_json(source_json))


def corpus_of(spec: RunSpec) -> Corpus:
    """The run's corpus, read once per process."""
    return _corpus(spec.dataset.model_dump_json())


def model_version(spec: RunSpec, batch: int, backend: str) -> str:
    """Names the model that learned up to ``batch``; Argilla shows it as the suggestions' agent.

    Argilla allows letters, digits and ``-_:./`` and spaces in an agent.
    """
    return f"{backend}:{spec.model}/" + ("initial" if batch < 0 else f"batch-{batch}")
