"""Test data from the shared folder: TREC-6, whole or cut down so that a run starts in seconds."""

from pathlib import Path

TREC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "trec6"
TREC_FILES = ("train_5500.label", "TREC_10.label")


def small_trec(folder: Path, train: int = 300, test: int = 100) -> Path:
    """A TREC folder in ``folder`` with the first ``train`` training and ``test`` test questions."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in zip(TREC_FILES, (train, test), strict=True):
        text = (TREC / name).read_text(encoding="latin-1").splitlines(keepends=True)[:lines]
        (folder / name).write_text("".join(text), encoding="latin-1")
    return folder
