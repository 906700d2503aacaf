"""Pools read from elsewhere: an Argilla dataset, written once to a file the run reads like any other.

The run keeps its own copy (``source.jsonl`` in its folder) so that every process reads the same
pool, whatever later happens to the source, and the source dataset is only ever read.
"""

import json
from pathlib import Path

from common.argilla_adapter import ArgillaAdapter
from common.files import atomic_write_text
from common.spec import ArgillaPool, DatasetSource, RunSpec

SNAPSHOT = "source.jsonl"
ID_COLUMN = "source_id"


def from_argilla(adapter: ArgillaAdapter, spec: RunSpec, name: str, folder: Path) -> RunSpec:
    """``spec`` with its pool read from Argilla dataset ``name`` in the run's workspace.

    The texts of the source's text field are the pool, its label question's labels the run's (unless
    the spec names its own), and answers submitted there the seed set.
    """
    source = adapter.read_source(name, spec.workspace)
    lines = [
        json.dumps({"text": record.text, "label": record.label, ID_COLUMN: record.id}, ensure_ascii=False)
        for record in source.records
    ]
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder / SNAPSHOT
    atomic_write_text(snapshot, "".join(line + "\n" for line in lines))
    dataset = DatasetSource(
        path=str(snapshot),
        label_column="label",
        id_column=ID_COLUMN,
        argilla=ArgillaPool(name=name, workspace=spec.workspace),
        max_text_chars=spec.dataset.max_text_chars,
    )
    return spec.model_copy(update={"dataset": dataset, "labels": spec.labels or source.labels})
