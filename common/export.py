"""A run's labelled records as a table: read from Argilla, written as CSV, Parquet or a `datasets` folder.

One row per record someone answered, and one per text of the run's seed set (status ``seed``:
labelled in the data, learned at init, never in Argilla). ``label`` is what the learner learned
from it (the most common submitted answer, as the trainer reads it), ``annotator`` the Argilla
usernames of everyone who submitted it (or, for a discarded record, discarded it), joined by
commas, and ``answers`` each of their answers as ``user=label``, so disagreements stay visible.
Records nobody answered yet are left out.
"""

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from common.argilla_adapter import (
    DISCARDED,
    SUBMITTED,
    Answer,
    ArgillaAdapter,
    Suggested,
    pool_index,
    record_id,
    vote,
)
from common.corpus import Corpus, read_corpus
from common.errors import UserError
from common.files import staged_output
from common.spec import RunSpec

SEED = "seed"


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"
    hf = "hf"


def parse_format(value: str) -> Format:
    try:
        return Format(value.lower())
    except ValueError:
        choices = ", ".join(item.value for item in Format)
        raise UserError(f"unknown --format {value!r}; use one of {choices}") from None


@dataclass(frozen=True)
class ExportRow:
    """One labelled or discarded record; the field order is the column order."""

    record_id: str
    pool_index: int
    text: str
    label: str | None
    status: str
    annotator: str
    answers: str
    batch: int | None
    suggested_label: str | None
    suggestion_score: float | None
    suggestion_agent: str | None
    source_id: str | None = None
    """The record's id in the dataset the pool was read from (--from-argilla, or ``dataset.id_column``)."""
    eval_sample: bool = False
    """A text of the run's evaluation sample: drawn at random, labelled, never learned (a test set)."""


COLUMNS = [field.name for field in fields(ExportRow)]


def row_of(
    record_id: str,
    text: str,
    batch: int | None,
    answers: Sequence[Answer],
    suggested: Suggested | None,
) -> ExportRow | None:
    """The row of one record, or None when nobody submitted or discarded it (yet)."""
    submitted = [answer for answer in answers if answer.status == SUBMITTED and answer.label is not None]
    discarded = [answer for answer in answers if answer.status == DISCARDED]
    if not submitted and not discarded:
        return None
    counted = submitted or discarded
    label = vote(submitted)
    return ExportRow(
        record_id=record_id,
        pool_index=pool_index(record_id),
        text=text,
        label=label,
        status=SUBMITTED if submitted else DISCARDED,
        annotator=",".join(sorted({answer.user for answer in counted})),
        answers="; ".join(
            f"{answer.user}={answer.label or DISCARDED}" for answer in [*submitted, *discarded]
        ),
        batch=batch,
        suggested_label=suggested.label if suggested else None,
        suggestion_score=suggested.score if suggested else None,
        suggestion_agent=suggested.agent if suggested else None,
    )


def read_rows(
    adapter: ArgillaAdapter, spec: RunSpec, on_record: Callable[[], None] | None = None
) -> list[ExportRow]:
    """The rows of every answered record of the run's dataset, by batch and pool index.

    ``on_record`` is called once per record read (answered or not), for a progress display.
    """
    rows = [
        row_of(record.id, record.text, record.batch, record.answers, record.suggested)
        for record in adapter.answered_records(spec, on_record)
    ]
    found = [row for row in rows if row is not None]
    return sorted(found, key=lambda row: (row.batch if row.batch is not None else -1, row.pool_index))


def seed_rows(corpus: Corpus) -> list[ExportRow]:
    """The rows of the run's seed set, read from its data (the seed set never goes to Argilla)."""
    return [
        ExportRow(
            record_id=record_id(index),
            pool_index=index,
            text=corpus.train_texts[index],
            label=corpus.train_labels[index],
            status=SEED,
            annotator="",
            answers="",
            batch=None,
            suggested_label=None,
            suggestion_score=None,
            suggestion_agent=None,
        )
        for index in corpus.seed
    ]


def annotated(rows: list[ExportRow], corpus: Corpus, eval_sample: Collection[int]) -> list[ExportRow]:
    """``rows`` with the id each text has in the data it came from (where the data has ids), and
    whether it is one of the evaluation sample's."""
    ids = corpus.train_ids
    return [
        replace(
            row,
            source_id=ids[row.pool_index] if row.pool_index < len(ids) else None,
            eval_sample=row.pool_index in eval_sample,
        )
        for row in rows
    ]


def columns(rows: Iterable[ExportRow]) -> dict[str, list[Any]]:
    """The rows as one list per column, in column order."""
    table: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for row in rows:
        for name, value in asdict(row).items():
            table[name].append(value)
    return table


def write_rows(rows: Sequence[ExportRow], labels: Sequence[str], fmt: Format, path: Path) -> None:
    """Write ``rows`` to ``path``, which does not exist yet (a file, or a folder for ``hf``)."""
    if fmt == Format.hf:
        _write_dataset(rows, labels, path)
        return
    import pandas as pd

    frame = pd.DataFrame(columns(rows), columns=COLUMNS).astype(
        {"pool_index": "int64", "batch": "Int64", "suggestion_score": "float64"}
    )
    if fmt == Format.csv:
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _write_dataset(rows: Sequence[ExportRow], labels: Sequence[str], path: Path) -> None:
    """A `datasets.Dataset` whose ``label`` is a ClassLabel of the run's labels, -1 for a discarded record."""
    import datasets

    table = columns(rows)
    known = {label: position for position, label in enumerate(labels)}
    unknown = sorted({label for label in table["label"] if label is not None and label not in known})
    if unknown:
        raise UserError(
            f"records are labelled {', '.join(map(repr, unknown))}, not one of the run's labels "
            f"{', '.join(labels)}; correct them in Argilla, or export as csv or parquet"
        )
    table["label"] = [-1 if label is None else known[label] for label in table["label"]]
    text = datasets.Value("string")
    features = datasets.Features(
        {
            "record_id": text,
            "pool_index": datasets.Value("int64"),
            "text": text,
            "label": datasets.ClassLabel(names=list(labels)),
            "status": text,
            "annotator": text,
            "answers": text,
            "batch": datasets.Value("int64"),
            "suggested_label": text,
            "suggestion_score": datasets.Value("float64"),
            "suggestion_agent": text,
            "source_id": text,
            "eval_sample": datasets.Value("bool"),
        }
    )
    datasets.disable_progress_bars()
    datasets.Dataset.from_dict(table, features=features).save_to_disk(str(path))


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    submitted: int
    discarded: int
    batches: list[int]
    seeds: int = 0
    eval_sample: int = 0


def export_labels(
    adapter: ArgillaAdapter,
    spec: RunSpec,
    fmt: Format,
    out: Path,
    force: bool = False,
    on_record: Callable[[], None] | None = None,
    eval_sample: Collection[int] = (),
) -> ExportSummary:
    """Write the run's labelled records to ``out`` in ``fmt``, atomically; refuse an existing ``out``
    unless ``force``. ``eval_sample``: pool indices of the run's evaluation sample, marked as such."""
    try:
        corpus = read_corpus(spec.dataset)
    except UserError as error:
        raise UserError(f"cannot read the run's data (its seed set, its source ids): {error}") from None
    with staged_output(out, force) as staged:
        rows = annotated([*seed_rows(corpus), *read_rows(adapter, spec, on_record)], corpus, set(eval_sample))
        labels = spec.labels or sorted({row.label for row in rows if row.label is not None})
        write_rows(rows, labels, fmt, staged)
    return ExportSummary(
        path=out,
        submitted=sum(row.status == SUBMITTED for row in rows),
        discarded=sum(row.status == DISCARDED for row in rows),
        batches=sorted({row.batch for row in rows if row.batch is not None}),
        seeds=sum(row.status == SEED for row in rows),
        eval_sample=sum(row.eval_sample for row in rows),
    )
