"""A file written atomically and hashed as it is written, so no one reads it back to hash it.

A 4096x4096 run's matrices.parquet is a gigabyte: reading it back for its
sha256 took as long as a third of writing it, and the manifest and the report
each did. Here each piece written is also handed to a thread of its own that
hashes it (hashlib lets go of the GIL), in order, while the writer goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xopipe.sinks.files import atomic_path, remember_sha256

# Small writes (Parquet's page headers) are gathered into pieces of at least this many
# bytes, so the file and the hashing thread see few, large pieces.
PIECE_BYTES = 1 << 20
# A large piece goes to the file in writes of this many bytes: whole pieces of several
# MiB were seen to cost the kernel three to ten times the system time of these (4096^2).
WRITE_BYTES = 1 << 18


class HashingStream:
    """A binary file (write, tell, flush, close) that keeps the sha256 of its bytes.

    write(data) hashes `data` on the hashing thread while it writes it, and
    returns once both are done: the caller may reuse its buffer at once.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 (closed by close())
        self._digest = hashlib.sha256()
        self._hasher = ThreadPoolExecutor(1)  # one thread: the pieces are hashed in order
        self._small = bytearray()
        self._position = 0
        self.closed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = view.nbytes
        if size < PIECE_BYTES:
            self._small += view
            if len(self._small) >= PIECE_BYTES:
                self._put(bytes(self._small))
                self._small.clear()
        else:
            if self._small:
                self._put(bytes(self._small))
                self._small.clear()
            self._put(data)
        self._position += size
        return size

    def _put(self, piece: Any) -> None:
        hashed = self._hasher.submit(self._digest.update, piece)
        try:
            view = memoryview(piece).cast("B")
            for start in range(0, view.nbytes, WRITE_BYTES):
                self._file.write(view[start : start + WRITE_BYTES])
        finally:
            hashed.result()

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Kept for the writers that call it: pieces are written as they are made."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._small:
                self._put(bytes(self._small))
        finally:
            self._hasher.shutdown(cancel_futures=True)
            self._file.close()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@contextmanager
def hashed_stream(path: Path) -> Iterator[HashingStream]:
    """A HashingStream to a temporary name beside `path`, renamed to `path` if the block
    succeeds; sha256_of(path) then answers without reading the file."""
    with atomic_path(path) as temporary:
        stream = HashingStream(temporary)
        try:
            yield stream
        finally:
            stream.close()
    remember_sha256(path, stream.hexdigest())
