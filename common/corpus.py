"""Reading a run's data: the unlabelled pool (with gold labels, when known) and the test split."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from common.errors import UserError
from common.spec import DatasetSource

TREC_TRAIN = "train_5500.label"
TREC_TEST = "TREC_10.label"


@dataclass(frozen=True)
class Corpus:
    """Texts and gold labels of the pool (``train``) and of the test split; labels are names."""

    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]

    def label_names(self) -> list[str]:
        """The labels found in the data, sorted."""
        return sorted(set(self.train_labels) | set(self.test_labels))

    def check_labels(self, labels: list[str]) -> None:
        """Raise UserError when the data holds labels that are not among ``labels``."""
        unknown = sorted(set(self.label_names()) - set(labels))
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise UserError(
                f"the data has labels not in the spec's labels: {shown}; "
                "add them to `labels`, or leave `labels` out to take them from the data"
            )


def read_corpus(source: DatasetSource) -> Corpus:
    """Read the corpus a spec names, or raise UserError saying what is wrong with it."""
    if source.is_hub:
        return _read_hub(source)
    path = Path(source.path).expanduser()
    if path.is_dir():
        if (path / TREC_TRAIN).exists():
            return _read_trec(path)
        if any(path.glob("*/*.txt")):
            return _read_label_folders(path)
        raise UserError(
            f"{path} is neither a TREC folder ({TREC_TRAIN}) nor a folder of label folders of .txt files"
        )
    if not path.exists():
        raise UserError(f"dataset {path} does not exist; fix `dataset.path`")
    if source.test is None:
        raise UserError(f"dataset {path} needs a test file: set `dataset.test` (or --test)")
    train_texts, train_labels = _read_table(path, source)
    test_texts, test_labels = _read_table(Path(source.test).expanduser(), source)
    return Corpus(train_texts, train_labels, test_texts, test_labels)


def _read_trec(folder: Path) -> Corpus:
    train = _read_trec_file(folder / TREC_TRAIN)
    test = _read_trec_file(folder / TREC_TEST)
    return Corpus(
        [t for t, _ in train],
        [label for _, label in train],
        [t for t, _ in test],
        [label for _, label in test],
    )


def _read_trec_file(path: Path) -> list[tuple[str, str]]:
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
        rows.append((rest.strip(), coarse))
    return rows


def _read_label_folders(folder: Path, test_every: int = 5) -> Corpus:
    """One sub-folder per label, one text per ``.txt`` file; every ``test_every``-th file goes to test."""
    train_texts: list[str] = []
    train_labels: list[str] = []
    test_texts: list[str] = []
    test_labels: list[str] = []
    for label_folder in sorted(child for child in folder.iterdir() if child.is_dir()):
        for number, file in enumerate(sorted(label_folder.glob("*.txt"))):
            text = " ".join(file.read_text(encoding="utf-8", errors="replace").split())
            texts, labels = (
                (test_texts, test_labels) if number % test_every == 0 else (train_texts, train_labels)
            )
            texts.append(text)
            labels.append(label_folder.name)
    return Corpus(train_texts, train_labels, test_texts, test_labels)


def _read_table(path: Path, source: DatasetSource) -> tuple[list[str], list[str]]:
    readers = {".csv": pd.read_csv, ".jsonl": _read_jsonl, ".parquet": pd.read_parquet}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UserError(f"cannot read {path}: use a .csv, .jsonl or .parquet file, or a TREC folder")
    try:
        frame = reader(path)
    except FileNotFoundError:
        raise UserError(f"dataset file {path} does not exist") from None
    except Exception as error:  # pandas raises many parser errors; each means the same to the user
        raise UserError(f"cannot read {path}: {error}") from None
    return _columns(frame, source, str(path))


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True)


def _columns(frame: pd.DataFrame, source: DatasetSource, where: str) -> tuple[list[str], list[str]]:
    for role, column in (("text", source.text_column), ("label", source.label_column)):
        if column not in frame.columns:
            raise UserError(
                f"{where} has no {role} column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                f"set `dataset.{role}_column`"
            )
    frame = frame.dropna(subset=[source.text_column, source.label_column])
    return frame[source.text_column].astype(str).tolist(), frame[source.label_column].astype(str).tolist()


def _read_hub(source: DatasetSource) -> Corpus:
    name, _, config = source.path.removeprefix("hf:").partition(":")
    try:
        import datasets

        loaded = datasets.load_dataset(name, config or None)
    except Exception as error:  # offline, unknown name, missing config: all surface the same way
        raise UserError(f"cannot load {source.path} from the Hugging Face hub: {error}") from None
    splits = {}
    for split in (source.train_split, source.test_split):
        if split not in loaded:
            raise UserError(f"{source.path} has no split {split!r} (splits: {', '.join(loaded)})")
        frame = loaded[split].to_pandas()
        label_feature = loaded[split].features.get(source.label_column)
        if label_feature is not None and hasattr(label_feature, "int2str") and source.label_column in frame:
            frame[source.label_column] = frame[source.label_column].map(label_feature.int2str)
        splits[split] = _columns(frame, source, source.path)
    train, test = splits[source.train_split], splits[source.test_split]
    return Corpus(train[0], train[1], test[0], test[1])
