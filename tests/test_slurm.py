"""Sweeps with hydra/launcher=submitit_slurm on a real SLURM cluster (tests/slurm_cluster.py).

The seed across the three backends must give the summary, diff report and
exit status of the local launcher. A job cancelled with scancel, a job that
reaches its time limit and a job that fails are each reported failed, in
bounded time, while the others complete; resume=true then submits only
those jobs. Skipped, with the reason, where the daemons cannot start
(XOPIPE_REQUIRE_SLURM=1, as .ci/run sets it, turns that skip into a failure).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.real_sweeps import (
    PROGRESS,
    QUIET,
    assert_summary_matches_runs,
    assert_three_backends_agree,
    progress_lines,
)
from tests.slurm_cluster import (
    ClusterUnavailable,
    SlurmCluster,
    new_cluster_root,
    start_cluster,
    stop_cluster,
)

pytestmark = pytest.mark.slow

SLURM = ["hydra/launcher=submitit_slurm"]
# No sweep here may take longer than this; the launcher itself never waits forever.
SWEEP_LIMIT_S = 300


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    root = new_cluster_root()
    try:
        cluster = start_cluster(root)
    except ClusterUnavailable as why:
        shutil.rmtree(root, ignore_errors=True)
        if os.environ.get("XOPIPE_REQUIRE_SLURM") == "1":
            pytest.fail(f"XOPIPE_REQUIRE_SLURM=1 but no SLURM cluster could start: {why}")
        pytest.skip(f"no single-node SLURM cluster can start here: {why}")
    try:
        yield cluster
    finally:
        stop_cluster(cluster)
        shutil.rmtree(root, ignore_errors=True)


def command(folder: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "xopipe",
        "-m",
        *args,
        *QUIET,
        PROGRESS,
        f"hydra.sweep.dir={folder}",
    ]


def environment(cluster: SlurmCluster, accounting: bool = True) -> dict[str, str]:
    """The cluster's environment; without the sacct stand-in, sacct fails as with no slurmdbd."""
    env = {k: v for k, v in cluster.env.items() if k != "HYDRA_FULL_ERROR"}
    if not accounting:
        stand_in = str(cluster.root / "bin")
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != stand_in)
    return env


def run(cluster: SlurmCluster, folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = environment(cluster)
    return subprocess.run(
        command(folder, *args),
        cwd=folder.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=SWEEP_LIMIT_S,
    )


def slurm_job_ids(folder: Path) -> set[str]:
    """The SLURM ids (array_task) of the jobs a sweep submitted, from submitit's folders."""
    submitit = folder / ".submitit"
    found = submitit.iterdir() if submitit.is_dir() else ()
    return {p.name for p in found if p.is_dir() and re.fullmatch(r"\d+_\d+", p.name)}


def manifest(job: Path) -> dict:
    return json.loads((job / "manifest.json").read_text())


def test_seed_sweep_on_slurm_matches_the_local_launcher(slurm, tmp_path):
    grid = "backend=loop,numpy,torch"
    local = tmp_path / "local"
    expected = run(slurm, local, grid)
    cluster = tmp_path / "cluster"
    result = run(slurm, cluster, grid, *SLURM)
    assert_three_backends_agree(cluster, result)
    assert len(slurm_job_ids(cluster)) == 3  # each job ran as a SLURM job
    for job in range(3):  # ... on the node, with SLURM's own environment
        log = next((cluster / ".submitit").glob(f"*_{job}/*_{job}_0_log.out")).read_text()
        assert "submitit INFO" in log
    assert result.returncode == expected.returncode == 0
    # The preset's defaults, as sbatch got them (no GPU asked for unless gpus_per_node is set).
    (script,) = (cluster / ".submitit").glob("*/*_submission.sh")
    flags = {line for line in script.read_text().splitlines() if line.startswith("#SBATCH")}
    for flag in ("cpus-per-task=1", "mem=4GB", "time=60", "signal=USR2@90", "job-name=xopipe"):
        assert f"#SBATCH --{flag}" in flags
    assert not any("gpus" in flag or "partition" in flag for flag in flags)

    def verdict(stdout: str, folder: Path) -> list[str]:
        return [line.replace(str(folder), "SWEEP") for line in stdout.splitlines()[-3:]]

    assert verdict(result.stdout, cluster) == verdict(expected.stdout, local)
    for name in ("diff.csv", "diff_report.md"):
        assert (cluster / name).read_text().replace(str(cluster), "SWEEP") == (
            local / name
        ).read_text().replace(str(local), "SWEEP")
    mine, theirs = (pq.read_table(f / "summary.parquet") for f in (cluster, local))
    assert mine.schema == theirs.schema
    assert mine.drop(["run"]).equals(theirs.drop(["run"]))
    assert [Path(r).name for r in mine.column("run").to_pylist()] == [
        Path(r).name for r in theirs.column("run").to_pylist()
    ]


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
    while time.monotonic() - start < 120 and process.poll() is None:
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
    started = time.monotonic()
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
    seconds = time.monotonic() - started
    assert process.returncode == 1, stderr[-3000:]
    # SLURM's warning comes 20 to 50 s into the job as a rule (seen late under heavy load),
    # its kill at its next check after the 120 s limit (every 30 s): bounded either way.
    assert seconds < 240
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
    started = time.monotonic()
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
    assert time.monotonic() - started < 90
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
        deadline = time.monotonic() + 120
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


def test_the_preset_composes_with_xopipes_launcher_and_defaults():
    """Without a cluster: hydra/launcher=submitit_slurm is xopipe's preset of Hydra's launcher."""
    import yaml

    from tests.cli import run_cli

    shown = run_cli("hydra/launcher=submitit_slurm", "--cfg", "hydra", "-p", "hydra.launcher")
    assert shown.code == 0, shown.stderr
    launcher = yaml.safe_load(shown.stdout)
    assert launcher["_target_"] == (
        "hydra_plugins.xopipe_submitit.slurm_launcher.XopipeSlurmLauncher"
    )
    preset = {key: launcher[key] for key in ("partition", "timeout_min", "cpus_per_task")}
    assert preset == {"partition": None, "timeout_min": 60, "cpus_per_task": 1}
    assert (launcher["mem_gb"], launcher["gpus_per_node"], launcher["signal_delay_s"]) == (
        4,
        None,
        90,
    )
    assert launcher["max_num_timeout"] == 0  # a job at its time limit fails, not requeued
    typo = run_cli("hydra/launcher=submitit_slurm", "hydra.launcher.partiton=gpu", "-m")
    assert typo.code != 0 and "partiton" in typo.stderr
