"""Writing files so that a reader never sees half of one, and exports never over one unasked.

Every atomic write here goes through :func:`atomic_file`: a temporary file beside the target, synced
to disk, then renamed over it. A staged folder syncs its files before it is renamed into place.
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from common.errors import UserError


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it."""
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path, mode) as handle:
        handle.write(data)


@contextmanager
def atomic_file(path: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file the block writes; it replaces ``path`` whole once synced, or not at all.

    The temporary file lives in ``path``'s folder, so the rename never crosses filesystems.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sync_tree(top: Path) -> None:
    """Flush the file ``top``, or every file under the folder ``top``, to disk: a rename must not
    publish files whose contents are still only in memory."""
    for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def text_digest(texts: Iterable[str], salt: str = "") -> str:
    """SHA-256 (hex) of ``salt`` and the exact ``texts`` in order: a cache key for what was computed
    from them. Length prefixes keep ["ab", "c"] and ["a", "bc"] apart."""
    digest = hashlib.sha256(salt.encode())
    for text in texts:
        encoded = text.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """A temporary folder beside ``final`` that is renamed to ``final`` when the block succeeds.

    Readers see the complete folder or none; a failed block leaves nothing behind.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        yield staging
        _sync_tree(staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_target(path: Path, force: bool) -> None:
    """Refuse ``path`` if something is there, unless ``force``."""
    if not force and (path.exists() or path.is_symlink()):
        raise UserError(f"{path} exists; choose another --out, or pass --force to replace it")


@contextmanager
def staged_output(final: Path, force: bool) -> Iterator[Path]:
    """A path beside ``final``, not yet created, that the block writes (a file or a folder).

    When the block succeeds, what it wrote takes the place of ``final`` (replacing what was there only
    when ``force``); when it fails, nothing is left behind. A file replaces a file in one rename; other
    replacements move the old one aside first, so for a moment ``final`` is absent, never half-written.
    """
    check_target(final, force)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    except PermissionError as error:
        raise UserError(
            f"cannot write in {final.parent} ({error.strerror}); choose an --out in a folder you can write"
        ) from None
    try:
        staged = holder / final.name
        yield staged
        if not staged.exists():
            raise RuntimeError(f"nothing was written to {staged}")
        check_target(final, force)  # something may have appeared there meanwhile
        _sync_tree(staged)
        _swap(staged, final, holder / ".replaced")
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _swap(staged: Path, final: Path, aside: Path) -> None:
    old_is_folder = final.is_dir() and not final.is_symlink()
    if not old_is_folder and staged.is_file():
        os.replace(staged, final)
        return
    if final.exists() or final.is_symlink():
        os.rename(final, aside)
    try:
        os.rename(staged, final)
    except BaseException:
        if aside.exists() or aside.is_symlink():
            os.rename(aside, final)
        raise
