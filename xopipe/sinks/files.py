"""Atomic file writes and content hashes.

Every file of a run is written under a temporary name and renamed into
place, so a crash or an interrupt never leaves a truncated file under the
final name; the manifest lists each file with its sha256. A large table is
hashed as it is written (sinks/hashed_stream.py): sha256_of then finds that
hash instead of reading a gigabyte back, once for the manifest and once more
for the report.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` if the block succeeds."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def save_npy(path: Path, array: np.ndarray) -> None:
    """np.save, atomically (np.save given a name would add its own suffix)."""
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.save(stream, array, allow_pickle=False)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


# sha256 of files hashed as they were written, by absolute path, with what tells that
# version of the file from any later one (inode, size, modification time).
_WRITTEN: dict[str, tuple[tuple[int, int, int], str]] = {}


def _version(path: Path) -> tuple[int, int, int]:
    found = os.stat(path)
    return found.st_ino, found.st_size, found.st_mtime_ns


def remember_sha256(path: Path, hexdigest: str) -> None:
    """`path` (as it is now) has this sha256, found as it was written."""
    _WRITTEN[os.path.abspath(path)] = (_version(path), hexdigest)


def sha256_of(path: Path) -> str:
    known = _WRITTEN.get(os.path.abspath(path))
    if known is not None and known[0] == _version(path):
        return known[1]
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unwritable_reason(folder: Path) -> str | None:
    """Create `folder` and try a write in it: None if that works, else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".xopipe-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return error.strerror or str(error)
    return None
