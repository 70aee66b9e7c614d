"""Faults: interrupts, a full disk, reruns. Nothing lost, nothing half-written looks complete."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli import run_cli
from xopipe.backends import BACKENDS
from xopipe.diff.cli import main as diff_main
from xopipe.sinks import hashed_stream, tables


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def table_hashes_in_manifest(run_dir: Path) -> dict[str, str]:
    files = manifest_of(run_dir)["files"]
    return {name: digest for name, digest in files.items() if name.startswith("matrices")}


def table_bytes(run_dir: Path) -> dict[str, str]:
    """sha256 of every table file, by path relative to the run folder."""
    paths = [run_dir / "matrices.parquet", *sorted((run_dir / "matrices").glob("*.csv"))]
    return {
        p.relative_to(run_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
    }


# --- interrupts -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_a_run_leaves_a_failed_manifest(tmp_path, sig, status):
    run_dir = tmp_path / "run"
    # The loop backend on 300x300 takes seconds: long enough to be caught mid-stage.
    command = [
        sys.executable,
        "-m",
        "xopipe",
        "backend=loop",
        "input=random",
        "input.shape=[300,300]",
        "figures=none",
        "print_matrices=false",
        f"hydra.run.dir={run_dir}",
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (run_dir / "xopipe.log").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the conv stage by now
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == status
    name = signal.Signals(sig).name
    assert (
        stderr.strip().splitlines()[-1]
        == f"error: interrupted ({name}); the run folder is marked failed"
    )
    assert "Traceback" not in stderr
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "failed" and manifest["error"] == f"interrupted ({name})"
    assert not (run_dir / "matrices.parquet").exists()
    assert not list(run_dir.rglob("*.partial"))

    # A later run, into a fresh folder, is unaffected.
    again = run_cli("figures=none", "print_matrices=false", f"hydra.run.dir={tmp_path / 'again'}")
    assert again.code == 0 and manifest_of(tmp_path / "again")["status"] == "complete"


# --- a full disk --------------------------------------------------------------------------


def _disk_full_after(calls: int):
    """A stand-in writer that fails with ENOSPC after `calls` successful writes."""
    original = pq.ParquetWriter.write_batch
    count = {"n": 0}

    def write_batch(self, batch, *args, **kwargs):
        count["n"] += 1
        if count["n"] > calls:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, batch, *args, **kwargs)

    return write_batch


@pytest.mark.parametrize("fail_after", [0, 2])
def test_full_disk_while_writing_parquet(tmp_path, monkeypatch, fail_after):
    monkeypatch.setattr(pq.ParquetWriter, "write_batch", _disk_full_after(fail_after))
    monkeypatch.setattr(tables, "BATCH_ROWS", 16)  # several batches, so a write fails midway
    run_dir = tmp_path / "run"
    result = run_cli("figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}")
    assert result.code == 2
    assert (
        result.stderr
        == f"error: could not write the results to {run_dir}: No space left on device\n"
    )
    assert manifest_of(run_dir)["status"] == "failed"
    assert not (run_dir / "matrices.parquet").exists()  # the partial file was removed
    assert not list(run_dir.rglob("*.partial"))


# The files a seed run writes through a hashed stream, in order: matrices.parquet, then the
# CSV files input_0, conv_0-2, pool_0-2, activation_0-2, then the weights: conv_0_0 (the
# 12th), conv_1_0, ...
@pytest.mark.parametrize(
    "failing, name, before",
    [
        (5, "matrices/conv_2.csv", "matrices/conv_1.csv"),
        (13, "weights/conv_1_0.csv", "weights/conv_0_0.csv"),
    ],
)
def test_full_disk_while_writing_csv(tmp_path, monkeypatch, failing, name, before):
    class FillingFile:
        """A file whose `failing`-th opening fails on its first write, as a full disk does."""

        opened = 0

        def __init__(self, path, mode):
            FillingFile.opened += 1
            self.number, self.file = FillingFile.opened, open(path, mode)  # noqa: SIM115

        def write(self, data):
            if self.number == failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.file.name)
            return self.file.write(data)

        def __enter__(self):
            return self

        def close(self):
            self.file.close()

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(hashed_stream, "open", FillingFile, raising=False)
    run_dir = tmp_path / "run"
    result = run_cli("figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}")
    assert result.code == 2
    assert result.stderr.startswith("error: could not write the results to ")
    assert result.stderr.endswith(": No space left on device\n")
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "failed"
    # Neither the file being written when the disk filled nor the one written just before
    # is there: a failed run leaves no table under its final name, and its manifest lists
    # every file of the run on disk (none). Nothing temporary is left either.
    assert not (run_dir / name).exists()
    assert not (run_dir / before).exists()
    assert manifest["files"] == {}
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "manifest.json", "xopipe.log"]


# --- reproducibility ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_reruns_are_byte_identical(tmp_path, backend):
    overrides = [
        f"backend={backend}",
        "input=random",
        "input.shape=[2,12,10]",
        "input.seed=5",
        "kernels=random",
        "kernels.shape=[3,2,3,3]",
        "figures=none",
        "print_matrices=false",
    ]
    first, second = tmp_path / "a", tmp_path / "b"
    assert run_cli(*overrides, f"hydra.run.dir={first}").code == 0
    assert run_cli(*overrides, f"hydra.run.dir={second}").code == 0
    assert table_bytes(first) == table_bytes(second)
    assert table_hashes_in_manifest(first) == table_hashes_in_manifest(second) == table_bytes(first)
    # xopipe-diff of the two reruns: every grid agrees, with zero difference.
    assert diff_main([str(first), str(second), "--out", str(tmp_path / "diff")]) == 0
    rows = list(csv.DictReader((tmp_path / "diff" / "diff.csv").open()))
    assert len(rows) == 2 + 3 * 3  # 2 input channels, and 3 each of conv, pool, activation
    assert all(row["ok"] == "true" and float(row["max_abs_diff"]) == 0.0 for row in rows)
    assert {row["table"] for row in rows} == {"matrices"}


@pytest.mark.slow
def test_reruns_in_separate_processes_are_byte_identical(tmp_path):
    runs = []
    for name in ("a", "b"):
        run_dir = tmp_path / name
        subprocess.run(
            [
                sys.executable,
                "-m",
                "xopipe",
                "input=random",
                "input.seed=3",
                "dtype=float32",
                "figures=none",
                "print_matrices=false",
                f"hydra.run.dir={run_dir}",
            ],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        runs.append(run_dir)
    assert table_bytes(runs[0]) == table_bytes(runs[1])
    assert (
        table_hashes_in_manifest(runs[0])
        == table_hashes_in_manifest(runs[1])
        == table_bytes(runs[0])
    )


@pytest.mark.slow
def test_a_large_run_stays_within_its_memory_budget(tmp_path):
    """4096x4096 through the seed pipeline with tables and figures (the performance
    issue's case): the run's peak resident memory, less a 9x9 run's, is at most
    1.5x the arrays it keeps (1.04 GB). Memory, not time: this is not a timed test."""
    code = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)"
    )

    def peak(*overrides: str) -> int:
        command = [sys.executable, "-m", "xopipe", "print_matrices=false", *overrides]
        out = subprocess.run(
            [sys.executable, "-c", code, *command],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        )
        return int(out.stdout)

    base = peak(f"hydra.run.dir={tmp_path / 'small'}")
    large = peak("input=random", "input.shape=[4096,4096]", f"hydra.run.dir={tmp_path / 'large'}")
    stages = manifest_of(tmp_path / "large")["stages"].values()
    kept = sum(8 * math.prod(stage["shape"]) for stage in stages)  # float64 cells
    assert kept > 900 * 2**20  # the arrays really are about a gigabyte
    assert (large - base) <= 1.5 * kept, (large - base) / kept


def test_a_failed_manifest_is_written_with_further_signals_held_off():
    """After one SIGTERM, later ones are ignored; inside shielded() SIGINT is too."""
    import os

    from xopipe.interrupt import Interrupted, shielded, signals_as_exceptions

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(Interrupted), signals_as_exceptions():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler raises before this ends
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: the process is on its way out
        with shielded():
            os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt while writing
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) == before[1]
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
