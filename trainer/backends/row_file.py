"""A read-only memory-mapped matrix whose sparse row selections are read from the file instead.

Indexing rows through a memory map maps the pages around each row into the process, up to 2 MiB at a
time where the page cache holds large folios: 20,000 random rows of a 1M x 384 float32 pool mapped
nearly all of its 1.5 GB. Reading them with ``preadv`` costs only the rows. Everything else (slices,
arithmetic, whole-matrix use) is an ordinary read-only ``np.memmap``.
"""

import os
from pathlib import Path
from typing import Any

import numpy as np

# Selections of more rows than this fraction of the matrix go through the map: they touch most of it.
SPARSE_FRACTION = 0.125


class RowFile(np.memmap):
    """A 2-D .npy file mapped read-only; ``rows[indices]`` with few integer or boolean indices reads them."""

    # Set on the matrix that open_rows returns; views and results derived from it keep None.
    _row_source: tuple[str, int] | None = None

    def __getitem__(self, key: Any) -> Any:
        indices = self._sparse_rows(key)
        if indices is None:
            return super().__getitem__(key)
        return self._read(indices)

    def _sparse_rows(self, key: Any) -> np.ndarray | None:
        """``key`` as non-negative row numbers when it selects few whole rows; else None."""
        if self._row_source is None or not isinstance(key, np.ndarray | list):
            return None
        indices = np.asarray(key)
        if indices.ndim != 1 or indices.dtype.kind not in "biu":
            return None
        count = self.shape[0]
        if indices.dtype.kind == "b":
            if indices.shape[0] != count:
                raise IndexError(f"boolean index of length {indices.shape[0]} for {count} rows")
            indices = np.flatnonzero(indices)
        if indices.shape[0] > SPARSE_FRACTION * count:
            return None
        indices = indices.astype(np.int64)
        if indices.size and (indices.min() < -count or indices.max() >= count):
            raise IndexError(f"row index out of range for {count} rows")
        return np.where(indices < 0, indices + count, indices)

    def _read(self, indices: np.ndarray) -> np.ndarray:
        assert self._row_source is not None
        path, offset = self._row_source
        out = np.empty((indices.shape[0], *self.shape[1:]), dtype=self.dtype)
        row_bytes = out.itemsize * int(np.prod(self.shape[1:]))
        buffer = out.reshape(-1).view(np.uint8).data
        with open(path, "rb", buffering=0) as handle:
            # In file order, so the disk (or page cache) is read forwards.
            for position in np.argsort(indices, kind="stable").tolist():
                target = buffer[position * row_bytes : (position + 1) * row_bytes]
                read = os.preadv(handle.fileno(), [target], offset + int(indices[position]) * row_bytes)
                if read != row_bytes:
                    raise OSError(f"{path} ended early: wanted {row_bytes} bytes, got {read}")
        return out


def open_rows(path: Path) -> np.ndarray:
    """The .npy matrix at ``path``, mapped read-only; a :class:`RowFile` when it is a C-ordered 2-D array."""
    with path.open("rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran_order, dtype = read_header(handle)
        offset = handle.tell()
    if fortran_order or len(shape) != 2 or dtype.hasobject or 0 in shape:
        return np.load(path, mmap_mode="r")
    rows = RowFile(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    rows._row_source = (str(path), offset)
    return rows
