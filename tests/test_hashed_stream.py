"""Tables hashed as they are written: the manifest's sha256 without reading the file back,
and a file changed since is hashed from its bytes again."""

from __future__ import annotations

import builtins
import hashlib

import numpy as np
import pytest

from xopipe.sinks import tables
from xopipe.sinks.csv_grid import write_csv_grid
from xopipe.sinks.files import sha256_of
from xopipe.sinks.hashed_stream import PIECE_BYTES, hashed_stream


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"input": rng.uniform(-1, 1, (1, 37, 41)), "conv": rng.uniform(-1, 1, (3, 35, 39))}


def _no_reading(*args, **kwargs):
    raise AssertionError("the file was read back to hash it")


@pytest.mark.parametrize("write", ["parquet", "csv"])
def test_the_hash_comes_from_the_writing_and_a_changed_file_is_read_again(
    tmp_path, monkeypatch, write
):
    path = tmp_path / ("m.parquet" if write == "parquet" else "m.csv")
    if write == "parquet":
        monkeypatch.setattr(tables, "BATCH_ROWS", 64)  # many small writes
        tables.write_parquet(path, _arrays())
    else:
        write_csv_grid(path, _arrays()["conv"][1])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    with monkeypatch.context() as patched:
        patched.setattr(builtins, "open", _no_reading)
        assert sha256_of(path) == expected
    path.write_bytes(b"other")  # the same path, another version: hashed from the file
    assert sha256_of(path) == hashlib.sha256(b"other").hexdigest()


def test_small_and_large_writes_keep_their_order(tmp_path):
    pieces = [b"a" * 10, b"b" * (PIECE_BYTES + 3), b"c" * 7, bytes(range(256)) * 5000, b"d"]
    path = tmp_path / "f.bin"
    with hashed_stream(path) as stream:
        for piece in pieces:
            stream.write(piece)
        assert stream.tell() == sum(map(len, pieces))
    data = b"".join(pieces)
    assert path.read_bytes() == data
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()


def test_a_failed_write_leaves_no_file_and_no_hash(tmp_path):
    path = tmp_path / "f.bin"
    with pytest.raises(RuntimeError), hashed_stream(path) as stream:
        stream.write(b"x" * 100)
        raise RuntimeError("disk gone")
    assert not path.exists()
    assert not list(tmp_path.iterdir())
