"""Failed jobs of a sweep on a real SLURM cluster (tests/slurm_cluster.py), and resuming them.

A job cancelled with scancel, a job that reaches its time limit and a job that
fails are each reported failed while the others complete
(with accounting or, through squeue, without); resume=true then submits only
those jobs. Ctrl-C leaves the jobs to the cluster, and resume collects them.
Skipped, with the reason, where the daemons cannot start (XOPIPE_REQUIRE_SLURM=1,
as .ci/run sets it, turns that skip into a failure).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.real_sweeps import assert_summary_matches_runs, progress_lines
from tests.slurm_cluster import SlurmCluster
from tests.slurm_sweeps import SLURM, SWEEP_LIMIT_S, command, environment, run, slurm_job_ids

pytestmark = pytest.mark.slow


def manifest(job: Path) -> dict:
    return json.loads((job / "manifest.json").read_text())


def _inputs(folder: Path) -> dict[str, Path]:
    """A small input, two large ones (the loop backend takes minutes), and one never written."""
    folder.mkdir()
    rng = np.random.default_rng(15)
    names = {"ok": (9, 9), "cancelled": (2048, 2048), "timed_out": (2048, 2048), "missing": None}
    paths = {}
    for name, shape in names.items():
        paths[name] = folder / f"{name}.npy"
        if shape is not None:
            np.save(paths[name], rng.uniform(-1, 1, shape))
    return paths


def _cancel_when_running(slurm: SlurmCluster, sweep: Path, job: int, process) -> float:
    """scancel the SLURM job of sweep job `job` once its run has started; the time it took."""
    start = time.monotonic()
    while time.monotonic() - start < SWEEP_LIMIT_S and process.poll() is None:
        ids = [i for i in slurm_job_ids(sweep) if i.endswith(f"_{job}")]
        if ids and (sweep / str(job) / ".hydra").is_dir():
            assert slurm.states()[ids[0]] == "RUNNING"
            assert slurm.run("scancel", ids[0]).returncode == 0
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"job {job} never started running on the cluster")


def test_cancelled_timed_out_and_failing_jobs_are_reported_and_resumed(slurm, tmp_path):
    paths = _inputs(tmp_path / "data")
    grid = [
        "input=file",
        "input.path=" + ",".join(str(p) for p in paths.values()),
        "backend=loop",
        *SLURM,
        # SLURM warns a job at its first check (every 30 s) within signal_delay_s + 30 s
        # of the limit: here 20 to 50 s into the job, when its Python is surely up.
        "hydra.launcher.timeout_min=2",
        "hydra.launcher.signal_delay_s=70",
    ]
    sweep = tmp_path / "sweep"
    process = subprocess.Popen(
        command(sweep, *grid),
        cwd=tmp_path,
        env=environment(slurm),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _cancel_when_running(slurm, sweep, 1, process)
        stdout, stderr = process.communicate(timeout=SWEEP_LIMIT_S)
    finally:
        if process.poll() is None:
            process.kill()
    # It finishes at all (communicate's timeout); how soon the launcher acts on a state
    # is tested on a stand-in clock (tests/test_slurm_states.py), not on this machine's load.
    assert process.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr

    jobs = [manifest(sweep / str(n)) for n in range(4)]
    assert [job["status"] for job in jobs] == ["complete", "failed", "failed", "failed"]
    cancelled_id = next(i for i in slurm_job_ids(sweep) if i.endswith("_1"))
    assert jobs[1]["error"].startswith(
        f"SLURM job {cancelled_id} ended without a result (CANCELLED"
    )
    assert f".submitit/{cancelled_id}/{cancelled_id}_0_log.err" in jobs[1]["error"]
    # Stopped by SLURM's warning, as a rule; if the warning came before the job's Python
    # was up (SLURM may send it early), SLURM killed the job at its limit instead.
    timed_out_id = next(i for i in slurm_job_ids(sweep) if i.endswith("_2"))
    assert jobs[2]["error"].startswith(
        "TimeLimitReached: SLURM's time limit is near (hydra.launcher.timeout_min=2"
    ) or jobs[2]["error"].startswith(f"SLURM job {timed_out_id} ended without a result (TIMEOUT)")
    assert jobs[3]["error"] == (
        f"input.path must name a readable file, got '{paths['missing']}' (no such file)"
    )
    assert_summary_matches_runs(sweep)
    frame = pq.read_table(sweep / "summary.parquet").to_pandas()
    failed = frame[frame.status == "failed"]
    assert failed.job.tolist() == [1, 2, 3]
    assert failed.error.tolist() == [job["error"] for job in jobs[1:]]
    assert "3 of 4 jobs failed (skipped)" in stdout
    lines = progress_lines(stderr)
    assert len(lines) == 4 and sum(" failed " in line for line in lines) == 3
    errors = [line for line in stderr.splitlines() if line.startswith("error: job ")]
    assert errors == []  # progress lines named each failure already

    # The user fixes the inputs and resumes: only the three failed jobs go to the cluster.
    first_ids = slurm_job_ids(sweep)
    complete_before = (sweep / "0" / "manifest.json").read_bytes()
    np.save(paths["cancelled"], np.eye(6))
    np.save(paths["timed_out"], np.eye(7))
    np.save(paths["missing"], np.eye(8))
    resumed = run(slurm, sweep, *grid, "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    new_ids = slurm_job_ids(sweep) - first_ids
    assert sorted(i.split("_")[1] for i in new_ids) == ["0", "1", "2"]  # a 3-task array
    assert (sweep / "0" / "manifest.json").read_bytes() == complete_before
    assert [manifest(sweep / str(n))["status"] for n in range(4)] == ["complete"] * 4
    assert [manifest(sweep / str(n))["input"]["shape"] for n in range(1, 4)] == [
        [1, 6, 6],
        [1, 7, 7],
        [1, 8, 8],
    ]
    assert_summary_matches_runs(sweep)
    assert re.search(r"^\[\d/4\] complete", resumed.stderr, flags=re.MULTILINE)


def test_without_accounting_a_cancelled_job_is_seen_through_squeue(slurm, tmp_path):
    """sacct fails on a cluster without slurmdbd: the launcher asks squeue instead."""
    env = environment(slurm, accounting=False)
    assert subprocess.run(["sacct"], env=env, capture_output=True).returncode != 0
    paths = _inputs(tmp_path / "data")
    sweep = tmp_path / "sweep"
    grid = ["input=file", f"input.path={paths['ok']},{paths['cancelled']}", "backend=loop", *SLURM]
    process = subprocess.Popen(
        command(sweep, *grid),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _cancel_when_running(slurm, sweep, 1, process)
        stdout, stderr = process.communicate(timeout=SWEEP_LIMIT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stderr[-3000:]
    assert "Bypassing sacct error" not in stderr  # sacct is not asked again and again
    assert manifest(sweep / "0")["status"] == "complete"
    cancelled = manifest(sweep / "1")
    assert cancelled["status"] == "failed"
    assert re.match(r"SLURM job \d+_1 ended without a result \(CANCELLED\)", cancelled["error"])
    assert "1 of 2 jobs failed (skipped)" in stdout


def test_ctrl_c_leaves_the_jobs_to_the_cluster_and_resume_collects_them(slurm, tmp_path):
    paths = _inputs(tmp_path / "data")
    sweep = tmp_path / "sweep"
    grid = ["input=file", f"input.path={paths['ok']},{paths['cancelled']}", "backend=loop", *SLURM]
    process = subprocess.Popen(
        command(sweep, *grid),
        cwd=tmp_path,
        env=environment(slurm),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + SWEEP_LIMIT_S
        while not (sweep / "1" / ".hydra").is_dir() and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    (array,) = {i.split("_")[0] for i in slurm_job_ids(sweep)}
    (error,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert f"the sweep's SLURM jobs (job array {array}) are not stopped and keep running" in error
    assert f"scancel {array} stops them; add resume=true to finish the sweep" in error
    assert "marked failed" not in stderr
    assert "Traceback" not in stderr
    assert slurm.states()[f"{array}_1"] == "RUNNING"  # the large input is still being computed
    assert slurm.run("scancel", array).returncode == 0
    np.save(paths["cancelled"], np.eye(5))
    resumed = run(slurm, sweep, *grid, "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [manifest(sweep / str(n))["status"] for n in range(2)] == ["complete"] * 2
