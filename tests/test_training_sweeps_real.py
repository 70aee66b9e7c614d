"""Real training sweeps, as a user types them (`xopipe-train -m ...`), each in its own process:
the sweep's callback writes the summary and the diff, a drifting backend is named, jobs draw
no figures unless the command line asks, a crashing job fails alone, and resume=true leaves
complete jobs as they are and finishes an interrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import xopipe
from tests.faulty_training import SHARED
from tests.finished_runs import read_csv
from tests.test_training_sweeps import WEIGHTS_PER_JOB
from xopipe.figures.settings import SWEEP_NOTE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
PROGRESS = "hydra.callbacks.sweep_summary.progress=true"  # the lines, though stderr is a pipe


def xopipe_train(*args: str, cwd: Path, module: str = "xopipe.train", **extra: str):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | extra
    command = [sys.executable, "-m", module, *args, PROGRESS]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_real_training_sweep_with_the_drift_names_numpy(tmp_path):
    """`xopipe-train -m backend=loop,numpy,torch` in its own process, numpy's weight gradient
    transposed there: the sweep's own callback writes the diff that finds it, with the
    training config's diff.rtol."""
    folder = tmp_path / "sweep"
    args = ["-m", "backend=loop,numpy,torch", *SHARED, "diff.rtol=0", f"hydra.sweep.dir={folder}"]
    result = xopipe_train(*args, cwd=ROOT, module="tests.faulty_training")
    assert result.returncode == 0, result.stderr[-3000:]  # backends that differ: still 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert sorted(line.split()[1] for line in lines) == ["complete"] * 3
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("backends"))
    assert verdict.startswith("backends differ: ") and "in 2 of 3 pairs" in verdict
    assert (
        "backend=loop vs backend=numpy" in verdict and "backend=numpy vs backend=torch" in verdict
    )
    assert "(weights: conv_0, conv_1, conv_2, conv_bias, head_0, head_1, head_bias; " in verdict
    rows = read_csv(folder / "diff.csv")
    bad = {(r["backend_a"], r["backend_b"], r["table"]) for r in rows if r["ok"] != "true"}
    assert {(a, b) for a, b, _ in bad} == {("loop", "numpy"), ("numpy", "torch")}
    assert {table for _, _, table in bad} == {"weights", "history"}
    assert {r["rtol"] for r in rows} == {"0.0"} and {r["atol"] for r in rows} == {"1e-09"}
    for job in ("0", "1", "2"):
        assert manifest(folder / job)["job"] == int(job)
    summary = pq.read_table(folder / "summary.parquet", columns=["job", "backend"]).to_pydict()
    assert summary["job"].count(0) == WEIGHTS_PER_JOB
    assert sorted(set(summary["backend"])) == ["loop", "numpy", "torch"]


def test_a_training_sweep_of_settings_summarizes_draws_no_figures_and_resumes(tmp_path):
    folder = tmp_path / "sweep"
    args = ["-m", "optim.lr=0.05,0.5", "kernels=xo,random", "data.n_train=32", "data.n_test=16"]
    args += ["train.epochs=1", f"hydra.sweep.dir={folder}"]
    result = xopipe_train(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count(f"note: {SWEEP_NOTE}\n") == 1
    assert "nothing to compare: no two complete runs differ only in backend" in result.stdout
    jobs = sorted(p for p in folder.iterdir() if p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    finished = {}
    for job in jobs:
        record = manifest(job)
        assert record["status"] == "complete" and record["kind"] == "training"
        assert not (job / "figures").exists()
        assert "Figures are off in sweep jobs" in (job / "report.html").read_text()
        finished[job.name] = record["finished"]
    frame = pq.read_table(folder / "summary.parquet").to_pandas()
    assert list(frame.columns[8:10]) == ["optim.lr", "kernels"]
    assert frame["optim.lr"].dtype == "float64" and set(frame["optim.lr"]) == {0.05, 0.5}
    for job in jobs:
        rows = frame[frame.job == int(job.name)]
        final = manifest(job)["final"]
        assert set(rows.test_accuracy) == {final["test"]["accuracy"]}
        assert set(rows.train_loss) == {final["train"]["loss"]}
        assert len(rows) == WEIGHTS_PER_JOB
    report = (folder / "diff_report.md").read_text()
    table = report.split("## Final scores\n")[1].splitlines()
    assert len(table) == 2 + 4 + 1
    assert table[3].startswith("| 0 | optim.lr=0.05 kernels=xo ")
    # resume=true: the complete jobs stay as they are, the summary is written again
    again = xopipe_train(*args, "resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {job.name: manifest(job)["finished"] for job in jobs} == finished
    for job in jobs:  # each said why it did nothing, none that its folder was taken
        log = (job / "xopipe-train.log").read_text()
        assert "a complete training of this config is already here" in log
        assert "error:" not in log
    assert pq.read_table(folder / "summary.parquet").num_rows == len(frame)


def test_a_training_sweep_that_names_figures_draws_them(tmp_path):
    folder = tmp_path / "sweep"
    args = ["-m", "backend=numpy", "figures=svg", "data.n_train=32", "data.n_test=16"]
    result = xopipe_train(*args, "train.epochs=1", f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "note: figures are off" not in result.stderr
    record = manifest(folder / "0")
    drawn = [name for name in record["files"] if name.startswith("figures/")]
    assert drawn and all(name.endswith((".svg", ".gif")) for name in drawn), drawn
    assert all((folder / "0" / name).is_file() for name in drawn)


def test_a_job_that_crashes_fails_alone_and_the_sweep_is_summarized(tmp_path):
    """An error that is no user's mistake (the numpy backend's conv backward raises) fails its
    job with a failed manifest; the other job completes, the summary and report are written,
    and the sweep exits 1."""
    folder = tmp_path / "sweep"
    # Hydra's basic launcher re-raises a job's exception after the batch, and then never
    # calls the callback that summarizes: the job must catch it.
    args = ["-m", "backend=numpy,torch", *SHARED, "hydra/launcher=basic"]
    args.append(f"hydra.sweep.dir={folder}")
    result = xopipe_train(*args, cwd=ROOT, module="tests.faulty_training", XOPIPE_TEST_CRASH="1")
    assert result.returncode == 1, result.stderr[-3000:]
    failed, complete = manifest(folder / "0"), manifest(folder / "1")
    assert failed["status"] == "failed" and failed["kind"] == "training"
    assert failed["error"] == "RuntimeError: conv2d_backward crashed"
    assert complete["status"] == "complete" and complete["backend"] == "torch"
    summary = pq.read_table(folder / "summary.parquet", columns=["job", "status"]).to_pydict()
    assert summary["status"].count("failed") == 1 and summary["job"].count(1) == WEIGHTS_PER_JOB
    assert "1 of 2 jobs failed (skipped)" in result.stdout
    assert "job 0 failed" in (folder / "0" / "xopipe-train.log").read_text()  # with its trace


def test_an_interrupted_training_sweep_says_how_to_resume_and_resumes(tmp_path):
    """Ctrl-C during a sweep: the line names the sweep; resume=true there continues the
    job from its last epoch to the weights an uninterrupted training ends with."""
    folder = tmp_path / "sweep"
    args = ["-m", "backend=loop", "train.epochs=12", "data.n_train=64", "data.n_test=16"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [sys.executable, "-m", "xopipe.train", *args, f"hydra.sweep.dir={folder}"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    while not (folder / "0" / "history.parquet").exists():  # epoch 0 is on disk
        assert time.monotonic() - started < 120 and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert stderr.splitlines()[-1] == (
        "error: interrupted (SIGINT); the run folder is marked failed and keeps the epochs "
        f"done (resume=true in the sweep in {folder} continues)"
    )
    stopped = manifest(folder / "0")
    assert stopped["status"] == "failed" and stopped["error"] == "interrupted (SIGINT)"
    done = pq.read_table(folder / "0" / "history.parquet").column("epoch").to_pylist()
    assert max(done) < 12
    again = xopipe_train(*args, "resume=true", f"hydra.sweep.dir={folder}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert manifest(folder / "0")["status"] == "complete"
    history = pq.read_table(folder / "0" / "history.parquet").column("epoch").to_pylist()
    assert history == [epoch for epoch in range(13) for _ in ("train", "test")]
    resumed = pq.read_table(folder / "0" / "weights.parquet").column("value").to_numpy()
    with xopipe.train(*args[2:], "backend=numpy", "figures=none") as whole:
        expected = pq.read_table(whole.out_dir / "weights.parquet").column("value").to_numpy()
    np.testing.assert_allclose(resumed, expected, rtol=1e-9, atol=1e-12)
