"""Atomic file writes and content hashes.

Every file of a run is written under a temporary name and renamed into
place, so a crash or an interrupt never leaves a truncated file under the
final name; the manifest lists each file with its sha256. A large table is
hashed as it is written (sinks/hashed_stream.py): sha256_of then finds that
hash instead of reading a gigabyte back; file_hashes hashes the others once
for both the manifest and the report.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from xopipe.cores import job_share


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


# Below this many bytes in all, one thread hashes them sooner than several start.
PARALLEL_HASH_BYTES = 64 << 20


def file_hashes(
    root: Path, paths: Iterable[Path], known: dict[str, str] | None = None
) -> dict[str, str]:
    """sha256 of each file by its path relative to `root` (as the manifest names it), in
    path order. `known`: hashes already computed this run, by name; each file is hashed
    once, and the new ones are added to it.

    hashlib lets go of the GIL while it hashes: a large run's tables (3.6 GB at
    8192x8192, about 1.3 GB/s a core) are hashed on this job's share of the cores,
    the largest files first."""
    known = {} if known is None else known
    ordered = sorted(paths)
    todo = [path for path in ordered if path.relative_to(root).as_posix() not in known]
    sizes = {path: path.stat().st_size for path in todo}
    threads = min(job_share(), len(todo))
    if threads <= 1 or sum(sizes.values()) < PARALLEL_HASH_BYTES:
        digests = {path: sha256_of(path) for path in todo}
    else:
        largest = sorted(todo, key=lambda path: -sizes[path])
        pool = ThreadPoolExecutor(threads, thread_name_prefix="xopipe-hash")
        try:
            digests = dict(zip(largest, pool.map(sha256_of, largest), strict=True))
        finally:  # interrupted: the files not yet begun are not hashed
            pool.shutdown(wait=False, cancel_futures=True)
    for path, digest in digests.items():
        known[path.relative_to(root).as_posix()] = digest
    return {name: known[name] for name in (p.relative_to(root).as_posix() for p in ordered)}


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
