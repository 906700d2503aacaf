"""The embedding cache's row file: sparse row selections read from the file equal numpy's indexing."""

from pathlib import Path

import numpy as np
import pytest

from trainer.backends.row_file import RowFile, open_rows


@pytest.fixture
def matrix(tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    values = np.random.default_rng(0).normal(size=(100, 7)).astype(np.float32)
    np.save(tmp_path / "m.npy", values)
    return values, open_rows(tmp_path / "m.npy")


def test_row_selections_equal_numpys(matrix: tuple[np.ndarray, np.ndarray]) -> None:
    values, rows = matrix
    assert isinstance(rows, RowFile)
    for key in ([5, 2, 99, 2], np.array([-1, 0, 37]), np.array([], dtype=int), np.arange(100) % 9 == 0):
        selected = rows[key]
        assert type(selected) is np.ndarray
        np.testing.assert_array_equal(selected, values[key])
    # Dense selections, slices and scalars go through the map, as for any memmap.
    np.testing.assert_array_equal(rows[np.arange(60)], values[:60])
    np.testing.assert_array_equal(rows[10:20][[1, 3]], values[10:20][[1, 3]])
    assert rows[3, 4] == values[3, 4]
    np.testing.assert_allclose(np.asarray(rows) @ np.ones(7), values @ np.ones(7))


def test_bad_indices_fail_like_numpys(matrix: tuple[np.ndarray, np.ndarray]) -> None:
    _, rows = matrix
    with pytest.raises(IndexError):
        rows[[100]]
    with pytest.raises(IndexError):
        rows[np.array([True, False])]
