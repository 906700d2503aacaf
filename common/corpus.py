"""Reading a run's data: the pool (with its labels, when known) and the test split, if any.

A pool's labels are optional. Fully labelled, they are gold labels, hidden from the learner (for the
simulator, benchmarks and tests). Partly labelled, the labelled rows are the run's **seed set**:
learned at init and never asked. Without a label column (or a ``.txt`` file of one text a line),
the pool is all unlabelled and the label names come from the spec.

Every text is checked as it is read, so that a bad file fails `alloop init` before anything is
created: an empty text, a text longer than ``dataset.max_text_chars``, or one text with two
different labels in the pool is an error naming the rows and the fix. A text repeated in the pool
with the same label is kept once (the first), with a note: annotators would otherwise label it twice.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from common.errors import UserError
from common.spec import DEFAULT_LABEL_COLUMN, DEFAULT_TEST_SPLIT, DatasetSource

TREC_TRAIN = "train_5500.label"
TREC_TEST = "TREC_10.label"
SHOWN = 5
"""How many offending rows a message names."""

log = logging.getLogger("alloop.corpus")


@dataclass(frozen=True)
class Corpus:
    """Texts and labels of the pool (``train``) and of the test split; labels are names, None where
    a pool text has none.

    ``notes`` says what reading changed (repeated texts dropped, a seed set found).
    """

    train_texts: list[str]
    train_labels: list[str | None]
    test_texts: list[str]
    test_labels: list[str]
    notes: tuple[str, ...] = ()
    train_ids: tuple[str, ...] = ()
    """Each pool text's id in the data it came from, where the spec names an ``id_column``."""

    @property
    def seed(self) -> list[int]:
        """Pool indices of the seed set: the labelled texts of a partly labelled pool (else none)."""
        known = [index for index, label in enumerate(self.train_labels) if label is not None]
        return known if len(known) < len(self.train_labels) else []

    @property
    def has_gold(self) -> bool:
        """Whether every pool text has a label (a simulated annotator can answer from them)."""
        return all(label is not None for label in self.train_labels)

    def gold(self, needed_for: str) -> list[str]:
        """Every pool text's label, for ``needed_for`` (a simulator, a balanced batch 0, a benchmark);
        UserError when some text has none."""
        missing = sum(label is None for label in self.train_labels)
        if missing:
            raise UserError(
                f"{needed_for} needs a label for every pool text, and {missing} of "
                f"{len(self.train_labels)} have none; use a fully labelled copy of the data"
            )
        return [label for label in self.train_labels if label is not None]

    def gold_from(self, path: Path) -> list[str]:
        """Every pool text's label, read from ``path`` (a table with ``text`` and ``label`` columns)."""
        rows = _read_table(path, DatasetSource(path=str(path), label_column=DEFAULT_LABEL_COLUMN))
        known = {row.text.strip(): row.label for row in rows if row.label is not None}
        missing = [text for text in self.train_texts if text.strip() not in known]
        if missing:
            raise UserError(
                f"{path} has no label for {len(missing)} of the pool's {len(self.train_texts)} texts "
                f"(the first: {missing[0][:60]!r}); give it a row (text, label) for every pool text"
            )
        return [str(known[text.strip()]) for text in self.train_texts]

    def label_names(self) -> list[str]:
        """The labels found in the data, sorted."""
        found = {label for label in self.train_labels if label is not None}
        return sorted(found | set(self.test_labels))

    def run_labels(self, labels: list[str] | None) -> list[str]:
        """The run's label names: ``labels`` (the spec's), else those of the data; checked."""
        if labels is None and not self.label_names():
            raise UserError(
                "the data has no labels to take the label names from; give them with "
                "--labels A,B,C (or `labels:` in the spec)"
            )
        chosen = labels or self.label_names()
        self.check_labels(chosen)
        return chosen

    def check_labels(self, labels: list[str]) -> None:
        """Raise UserError unless ``labels`` are two or more and hold every label of the data."""
        if len(labels) < 2:
            found = ", ".join(repr(label) for label in labels) or "none"
            raise UserError(
                f"the data has only one label ({found}); a classifier needs two or more: add texts of "
                "other classes, or set `labels` (--labels) to every label annotators may choose"
            )
        unknown = sorted(set(self.label_names()) - set(labels))
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise UserError(
                f"the data has labels not in the spec's labels: {shown}; "
                "add them to `labels`, or leave `labels` out to take them from the data"
            )


@dataclass(frozen=True)
class _Row:
    text: str
    label: str | None
    where: str
    """Names the row for a message: ``train.csv row 3``, ``train_5500.label line 12``, ``sport/001.txt``."""
    source_id: str | None = None


def read_corpus(source: DatasetSource) -> Corpus:
    """Read and check the corpus a spec names, or raise UserError saying what is wrong and how to fix it."""
    train, test, notes = _read(source)
    _check_texts(train, source)
    _check_texts(test, source)
    pool, dropped = _without_repeats(train)
    if dropped:
        notes.append(dropped)
    if not pool:
        raise UserError(f"dataset {source.path} has no texts to label; fix `dataset.path`")
    unlabelled_test = [row.where for row in test if row.label is None]
    if unlabelled_test:
        raise UserError(
            f"the test split has rows without a label ({_names(unlabelled_test)}); "
            "label them, or delete them from the test file"
        )
    seeded = sum(row.label is not None for row in pool)
    if 0 < seeded < len(pool):
        notes.append(
            f"{seeded} labelled text(s) of the pool are the seed set, learned at init and never asked; "
            f"the other {len(pool) - seeded} are the pool"
        )
    for note in notes:
        log.info("%s", note)
    return Corpus(
        [row.text for row in pool],
        [row.label for row in pool],
        [row.text for row in test],
        [row.label for row in test if row.label is not None],
        tuple(notes),
        tuple(str(row.source_id) for row in pool) if source.id_column else (),
    )


def _read(source: DatasetSource) -> tuple[list[_Row], list[_Row], list[str]]:
    notes: list[str] = []
    if source.is_hub:
        train, test = _read_hub(source)
        return train, test, notes
    path = Path(source.path).expanduser()
    if path.is_dir():
        if (path / TREC_TRAIN).exists():
            return _read_trec_file(path / TREC_TRAIN), _read_trec_file(path / TREC_TEST), notes
        if any(path.glob("*/*.txt")):
            train, test = _read_label_folders(path)
            return train, test, notes
        raise UserError(
            f"{path} is neither a TREC folder ({TREC_TRAIN}) nor a folder of label folders of .txt files"
        )
    if not path.exists():
        raise UserError(f"dataset {path} does not exist; fix `dataset.path`")
    train = _read_table(path, source)
    if source.test is None:
        notes.append("no test file: the figures rest on the evaluation sample (`eval_size`, 0 for none)")
        return train, [], notes
    test = _read_table(Path(source.test).expanduser(), source)
    return train, test, notes


def _read_trec_file(path: Path) -> list[_Row]:
    """Lines ``COARSE:fine question text``; the label is the coarse part."""
    if not path.exists():
        raise UserError(f"TREC file {path} is missing")
    rows = []
    for number, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        label, _, rest = line.partition(" ")
        coarse = label.split(":", 1)[0]
        if not coarse or ":" not in label or not rest.strip():
            raise UserError(f"{path}:{number} is not a TREC line `COARSE:fine question text`")
        rows.append(_Row(rest.strip(), coarse, f"{path.name} line {number}"))
    return rows


def _read_label_folders(folder: Path, test_every: int = 5) -> tuple[list[_Row], list[_Row]]:
    """One sub-folder per label, one text per ``.txt`` file; every ``test_every``-th file goes to test."""
    train: list[_Row] = []
    test: list[_Row] = []
    for label_folder in sorted(child for child in folder.iterdir() if child.is_dir()):
        for number, file in enumerate(sorted(label_folder.glob("*.txt"))):
            text = " ".join(file.read_text(encoding="utf-8", errors="replace").split())
            row = _Row(text, label_folder.name, f"{label_folder.name}/{file.name}")
            (test if number % test_every == 0 else train).append(row)
    return train, test


def _read_table(path: Path, source: DatasetSource) -> list[_Row]:
    if path.suffix.lower() == ".txt":
        return _read_lines(path)
    readers = {".csv": pd.read_csv, ".jsonl": _read_jsonl, ".parquet": pd.read_parquet}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UserError(
            f"cannot read {path}: use a .csv, .jsonl, .parquet or .txt (one text a line) file, "
            "or a TREC folder"
        )
    try:
        frame = reader(path)
    except FileNotFoundError:
        raise UserError(f"dataset file {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8 (a spreadsheet's 'CSV UTF-8') and run init again"
        ) from None
    except Exception as error:  # pandas raises many parser errors; each means the same to the user
        raise UserError(f"cannot read {path}: {error}") from None
    suffix = path.suffix.lower()
    # Rows as people see them: a spreadsheet's (the CSV header is row 1), a JSONL file's lines.
    unit, first = {".csv": ("row", 2), ".jsonl": ("line", 1)}.get(suffix, ("row", 1))
    return _columns(frame, source, path.name, unit, first)


def _read_lines(path: Path) -> list[_Row]:
    """A ``.txt`` pool: one unlabelled text a line; blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"dataset file {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8 and run init again"
        ) from None
    return [
        _Row(line.strip(), None, f"{path.name} line {number}")
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True)


def _columns(frame: pd.DataFrame, source: DatasetSource, where: str, unit: str, first: int = 1) -> list[_Row]:
    """The rows of ``frame``, named ``WHERE UNIT N``, N counted from ``first``.

    The label column may be missing (an unlabelled pool), unless the spec names it.
    """
    column_of = source.labels_from
    required = [("text", source.text_column)]
    if source.label_column is not None:
        required.append(("label", column_of))
    if source.id_column is not None:
        required.append(("id", source.id_column))
    for role, column in required:
        if column not in frame.columns:
            raise UserError(
                f"{where} has no {role} column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                f"set `dataset.{role}_column`"
            )
    texts = frame[source.text_column].tolist()
    labels = frame[column_of].tolist() if column_of in frame else [None] * len(texts)
    ids = frame[source.id_column].tolist() if source.id_column in frame else [None] * len(texts)
    return [
        _Row(
            "" if pd.isna(text) else str(text),
            None if label is None or pd.isna(label) else str(label),
            f"{where} {unit} {number}" if record is None else f"record {record}",
            None if record is None else str(record),
        )
        for number, (text, label, record) in enumerate(zip(texts, labels, ids, strict=True), start=first)
    ]


def _check_texts(rows: list[_Row], source: DatasetSource) -> None:
    empty = [row.where for row in rows if not row.text.strip()]
    if empty:
        raise UserError(
            f"empty text in {_names(empty)}; write the text there or delete the row(s), and run init again"
        )
    limit = source.max_text_chars
    huge = [row for row in rows if len(row.text) > limit]
    if huge:
        first = huge[0]
        others = f" (and {len(huge) - 1} more)" if len(huge) > 1 else ""
        raise UserError(
            f"{first.where} has a text of {len(first.text):,} characters{others}, more than "
            f"dataset.max_text_chars ({limit:,}); shorten or split it, or raise `dataset.max_text_chars`"
        )


def _without_repeats(rows: list[_Row]) -> tuple[list[_Row], str | None]:
    """The pool with each text once: a repeat with the same label (or without one) is dropped, and
    a repeat of an unlabelled text lends it its label; two different labels are an error."""
    first: dict[str, int] = {}
    kept: list[_Row] = []
    repeats: list[_Row] = []
    conflicts: list[tuple[_Row, _Row]] = []
    for row in rows:
        key = row.text.strip()
        position = first.get(key)
        if position is None:
            first[key] = len(kept)
            kept.append(row)
            continue
        earlier = kept[position]
        if row.label is None or earlier.label in (None, row.label):
            if earlier.label is None:
                kept[position] = _Row(earlier.text, row.label, earlier.where, earlier.source_id)
            repeats.append(row)
        else:
            conflicts.append((earlier, row))
    if conflicts:
        shown = "; ".join(
            f"{a.where} ({a.label!r}) and {b.where} ({b.label!r})" for a, b in conflicts[:SHOWN]
        )
        more = f" (and {len(conflicts) - SHOWN} more)" if len(conflicts) > SHOWN else ""
        raise UserError(
            f"the same text has different labels in {shown}{more}; give each text one label "
            "(correct or delete the other rows) and run init again"
        )
    if not repeats:
        return kept, None
    return kept, (
        f"dropped {len(repeats)} repeated text(s) of the pool ({_names([r.where for r in repeats])}): "
        "same text and label as an earlier row, which is kept"
    )


def _names(wheres: list[str]) -> str:
    shown = ", ".join(wheres[:SHOWN])
    return shown + (f" and {len(wheres) - SHOWN} more" if len(wheres) > SHOWN else "")


def _read_hub(source: DatasetSource) -> tuple[list[_Row], list[_Row]]:
    name, _, config = source.path.removeprefix("hf:").partition(":")
    try:
        import datasets

        loaded = datasets.load_dataset(name, config or None)
    except Exception as error:  # offline, unknown name, missing config: all surface the same way
        raise UserError(f"cannot load {source.path} from the Hugging Face hub: {error}") from None
    splits: dict[str, list[_Row]] = {source.test_split: []}
    for split in (source.train_split, source.test_split):
        if split == source.test_split == DEFAULT_TEST_SPLIT and split not in loaded:
            continue  # a dataset without a test split: figures rest on the evaluation sample
        if split not in loaded:
            raise UserError(f"{source.path} has no split {split!r} (splits: {', '.join(loaded)})")
        frame = loaded[split].to_pandas()
        column = source.labels_from
        label_feature = loaded[split].features.get(column)
        if label_feature is not None and hasattr(label_feature, "int2str") and column in frame:
            frame[column] = frame[column].map(label_feature.int2str)
        splits[split] = _columns(frame, source, f"{source.path} {split}", "row")
    return splits[source.train_split], splits[source.test_split]
