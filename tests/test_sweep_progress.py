"""A real sweep's console and exit status: progress lines and failed jobs' error lines.

Progress lines go to a terminal only unless asked; without them each failed job
still gets its error line; a failed sweep's exit status does not leak into the
next call in the same process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.real_sweeps import QUIET, progress_lines, run

pytestmark = pytest.mark.slow


def test_exit_status_of_a_failed_sweep_does_not_leak_into_the_next_call(tmp_path):
    from tests.cli import run_cli

    failed = run_cli("-m", "conv.stride=1,0", *QUIET, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert failed.code == 1
    assert "1 of 2 jobs failed (skipped)" in failed.stdout
    again = run_cli(*QUIET, f"hydra.run.dir={tmp_path / 'run'}")
    assert again.code == 0


def test_progress_lines_go_to_a_terminal_only_unless_asked(tmp_path):
    folder = tmp_path / "auto"
    quiet = run("-m", "conv.stride=1,2", *QUIET, f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert progress_lines(quiet.stderr) == []  # stderr is a pipe here
    assert "summarizing the sweep" in quiet.stderr
    wrong = run(
        "-m",
        "conv.stride=1,2",
        *QUIET,
        "hydra.callbacks.sweep_summary.progress=sometimes",
        f"hydra.sweep.dir={tmp_path / 'wrong'}",
        cwd=tmp_path,
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        "error: hydra.callbacks.sweep_summary.progress must be auto, true or false, got 'sometimes'"
    )


def test_progress_lines_show_on_a_terminal(tmp_path):
    primary, secondary = os.openpty()  # stderr a terminal, as when a user types the command
    command = [sys.executable, "-m", "xopipe", "-m", "conv.stride=1,2", *QUIET]
    command.append(f"hydra.sweep.dir={tmp_path / 'tty'}")
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=120) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert [line.split()[0] for line in progress_lines(text)] == ["[1/2]", "[2/2]"]


def test_without_progress_lines_each_failed_job_still_gets_its_line(tmp_path):
    result = run("-m", "conv.stride=1,0", *QUIET, f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: job 1 (conv.stride=0 print_matrices=False figures=none) failed: conv.stride "
        "must be a positive integer or a pair [h, w] of them, got 0"
    ]
    assert "Traceback" not in result.stderr
