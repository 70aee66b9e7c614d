"""Every file of a run is hashed once (report.html and manifest.json share the hashes), and a
large run's files are hashed on several threads with the sequential digests."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

import numpy as np

import xopipe
from xopipe import cores
from xopipe.sinks import files


def test_a_run_hashes_each_file_once(tmp_path, monkeypatch):
    hashed: Counter[str] = Counter()
    original = files.sha256_of

    def counting(path):
        hashed[path.name] += 1
        return original(path)

    monkeypatch.setattr(files, "sha256_of", counting)
    with xopipe.run("tables.formats=[parquet,npy]", "figures=none", out_dir=tmp_path) as run:
        listed = run.manifest["files"]
    assert set(hashed) == {name.rsplit("/", 1)[-1] for name in listed}
    assert max(hashed.values()) == 1, hashed  # the tables were hashed twice: report, manifest
    for name, digest in listed.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_large_files_are_hashed_side_by_side_with_the_same_digests(tmp_path, monkeypatch):
    monkeypatch.setattr(cores, "job_share", lambda: 3)
    monkeypatch.setattr(files, "job_share", lambda: 3)
    monkeypatch.setattr(files, "PARALLEL_HASH_BYTES", 1000)
    rng = np.random.default_rng(4)
    paths = []
    for index, size in enumerate([5000, 300, 9000, 70]):
        path = tmp_path / f"f{index}.bin"
        path.write_bytes(rng.bytes(size))
        paths.append(path)
    threads: dict[str, str] = {}
    original = files.sha256_of
    together = threading.Barrier(2, timeout=10)  # the two largest: only if hashed at once

    def recording(path):
        threads[path.name] = threading.current_thread().name
        if path.name in ("f0.bin", "f2.bin"):
            together.wait()
        return original(path)

    monkeypatch.setattr(files, "sha256_of", recording)
    known = {"f3.bin": "given"}  # hashed before: kept, not hashed again
    got = files.file_hashes(tmp_path, reversed(paths), known)
    assert list(got) == ["f0.bin", "f1.bin", "f2.bin", "f3.bin"]  # path order
    for path in paths[:3]:
        assert got[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert got["f3.bin"] == "given" and "f3.bin" not in threads
    assert known == got  # the new hashes are added for the next call
    assert all(name.startswith("xopipe-hash") for name in threads.values())
    assert len(set(threads.values())) > 1
