"""A run stopped while it writes its files: no table, figure or report under its final name,
a failed manifest that lists every file of the run on disk, and a log of what it printed.

Each run is the real command in a subprocess, paused by this test (not by xopipe) right
after a chosen file is written, so the signal always lands at that moment.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.run_folders import manifest_of, run_files
from xopipe.sinks import staging

# `python -c PAUSED TARGET MARKER overrides...`: xopipe's command line, which pauses for the
# test's signal once a file named TARGET has been renamed into place (as every file is).
PAUSED = """
import os, sys, time
from pathlib import Path

target, marker = sys.argv[1], Path(sys.argv[2])
replace = os.replace

def replace_then_pause(source, destination, *args, **kwargs):
    replace(source, destination, *args, **kwargs)
    if Path(destination).name == target and not marker.exists():
        marker.write_text(str(destination))
        time.sleep(120)  # until the test's signal

os.replace = replace_then_pause
sys.argv = ["xopipe", *sys.argv[3:]]
from xopipe.cli import entry
entry()
"""

INPUT = ["input=random", "input.shape=[256,256]"]


def paused_run(tmp_path: Path, run_dir: Path, target: str) -> subprocess.Popen:
    """The seed pipeline on a 256x256 input, paused once `target` is written."""
    marker = tmp_path / "paused"
    command = [sys.executable, "-c", PAUSED, target, str(marker), *INPUT]
    process = subprocess.Popen(
        [*command, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the run never wrote {target}: {process.communicate()}")
        time.sleep(0.02)
    return process


@pytest.mark.parametrize(
    ("sig", "status", "target"),
    [
        # After matrices.parquet, input_0.csv and conv_0.csv: the Ctrl-C.
        (signal.SIGINT, 130, "conv_0.csv"),
        # Every table written, and two figures: the SIGTERM.
        (signal.SIGTERM, 143, "01_kernels_conv.png"),
        # Everything but the manifest: the page is not left behind either.
        (signal.SIGINT, 130, "report.html"),
    ],
)
def test_a_signal_while_files_are_written_leaves_none_of_them(tmp_path, sig, status, target):
    run_dir = tmp_path / "run"
    process = paused_run(tmp_path, run_dir, target)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)

    name = signal.Signals(sig).name
    line = f"error: interrupted ({name}); the run folder is marked failed"
    assert process.returncode == status
    assert stderr.splitlines()[-1] == line
    assert "Traceback" not in stderr
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "failed" and manifest["error"] == f"interrupted ({name})"
    # Nothing of the run under any name, and the manifest lists exactly what is there: nothing.
    assert run_files(run_dir) == set(manifest["files"]) == set()
    # The log holds what the console showed before the signal, then why the run stopped.
    log = (run_dir / "xopipe.log").read_text()
    assert stdout.startswith("input [1x256x256]\n") and "pool [3x127x127]" in stdout
    assert stdout.rstrip("\n") in log
    assert log.rstrip("\n").endswith(line)

    # The next run into the same folder completes.
    again = run_cli(*INPUT, "figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}")
    assert again.code == 0 and manifest_of(run_dir)["status"] == "complete"


def test_a_run_killed_outright_leaves_no_table_and_the_next_run_cleans_up(tmp_path):
    """SIGKILL runs no handler: what the run wrote stays in its hidden staging folder."""
    run_dir = tmp_path / "run"
    process = paused_run(tmp_path, run_dir, "conv_0.csv")
    process.kill()
    process.communicate(timeout=60)

    assert not (run_dir / "manifest.json").exists()
    left = run_files(run_dir)
    assert {"matrices.parquet", "matrices/input_0.csv", "matrices/conv_0.csv"} <= {
        Path(name).relative_to(Path(name).parts[0]).as_posix() for name in left
    }
    assert {Path(name).parts[0] for name in left} == {f"{staging.PREFIX}{process.pid}"}

    again = run_cli(*INPUT, "figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}")
    assert again.code == 0
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "complete"
    assert run_files(run_dir) == set(manifest["files"])  # the staging folder is gone


def test_a_failure_while_moving_files_into_place_lists_those_moved(tmp_path, monkeypatch):
    """Publishing stops at the third file: the two moved are whole and listed, nothing else."""
    replace, moves = os.replace, []

    def failing_third_move(source, destination):
        if staging.PREFIX in str(source) and staging.PREFIX not in str(destination):
            moves.append(destination)
            if len(moves) == 3:
                raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(destination))
        replace(source, destination)

    monkeypatch.setattr(staging.os, "replace", failing_third_move)
    run_dir = tmp_path / "run"
    result = run_cli("figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}")

    assert result.code == 2
    assert result.stderr == (
        f"error: could not write the results to {moves[2]}: Permission denied\n"
    )
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "failed"
    moved = {Path(path).relative_to(run_dir).as_posix() for path in moves[:2]}
    assert run_files(run_dir) == set(manifest["files"]) == moved
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest
