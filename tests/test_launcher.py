"""hydra/launcher=xopipe gives every job exactly what Hydra's basic launcher gives it.

Random sweep grids (group choices and values mixed) run under both
launchers; each job's .hydra/config.yaml and overrides.yaml, its hydra.yaml
(but for the launcher's own name and the sweep folder) and its tables must
be byte-identical.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydra_plugins.xopipe_launcher._core import worker_count
from hydra_plugins.xopipe_launcher._workers import run_in_workers
from tests.cli import run_cli

# Sweepable keys and the values a grid may take for them (groups and plain values).
AXES = {
    "backend": ["numpy", "torch", "loop"],
    "pool": ["max", "avg"],
    "activation": ["relu", "tanh", "leaky_relu"],
    "input": ["x", "o"],
    "kernels": ["xo", "sobel", "laplacian"],
    "dtype": ["float64", "float32"],
    "conv.stride": ["1", "2"],
    "conv.bias": ["0", "0.5", "-1"],
    "conv.padding": ["0", "1", "same"],
    "pool.size": ["2", "3"],
    "+pipeline.stages.pool.params.ceil_mode": ["true", "false"],
}


@st.composite
def grids(draw) -> list[str]:
    keys = draw(st.lists(st.sampled_from(sorted(AXES)), min_size=2, max_size=3, unique=True))
    grid = []
    for key in keys:
        values = draw(st.lists(st.sampled_from(AXES[key]), min_size=1, max_size=2, unique=True))
        grid.append(f"{key}={','.join(values)}")
    return grid


def sweep(grid: list[str], folder: Path, launcher: str, *extra: str) -> list[Path]:
    result = run_cli(
        "-m",
        *grid,
        "figures=none",
        "print_matrices=false",
        f"hydra.sweep.dir={folder}",
        f"hydra/launcher={launcher}",
        *extra,
    )
    assert result.code == 0, result.stderr
    return sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def hydra_yaml(job: Path, sweep_dir: Path, launcher: str) -> str:
    text = (job / ".hydra" / "hydra.yaml").read_text().replace(str(sweep_dir), "SWEEP")
    lines = [
        line
        for line in text.splitlines()
        if "_target_: hydra" not in line
        and "reuse_compositions" not in line
        and "n_jobs" not in line
    ]
    return (
        "\n".join(lines)
        .replace(f"hydra/launcher={launcher}", "LAUNCHER")
        .replace(f"hydra/launcher: {launcher}", "hydra/launcher: LAUNCHER")
    )


@pytest.mark.slow
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grid=grids(), n_jobs=st.sampled_from([1, 2]))
def test_jobs_match_the_basic_launcher(tmp_path_factory, grid, n_jobs):
    """In this process (n_jobs=1) or in two forked workers, every job's files are the same."""
    root = tmp_path_factory.mktemp("launchers")
    fast, basic = root / "xopipe", root / "basic"
    fast_jobs = sweep(grid, fast, "xopipe", f"hydra.launcher.n_jobs={n_jobs}")
    basic_jobs = sweep(grid, basic, "basic")
    assert [j.name for j in fast_jobs] == [j.name for j in basic_jobs]
    for mine, theirs in zip(fast_jobs, basic_jobs, strict=True):
        for name in ("config.yaml", "overrides.yaml"):
            assert (mine / ".hydra" / name).read_text() == (theirs / ".hydra" / name).read_text()
        assert hydra_yaml(mine, fast, "xopipe") == hydra_yaml(theirs, basic, "basic")
        assert (mine / "matrices.parquet").read_bytes() == (
            theirs / "matrices.parquet"
        ).read_bytes()
        tables = {
            k: v
            for k, v in json.loads((mine / "manifest.json").read_text())["files"].items()
            if k.startswith("matrices")
        }
        theirs_tables = {
            k: v
            for k, v in json.loads((theirs / "manifest.json").read_text())["files"].items()
            if k.startswith("matrices")
        }
        assert tables == theirs_tables


def _compositions_in(monkeypatch) -> list[int]:
    from xopipe.private_api.sweep_loader import ReusingSweepLoader

    made: list[int] = []
    original = ReusingSweepLoader.load_sweep_config

    def spy(self, master_config, sweep_overrides):
        config = original(self, master_config, sweep_overrides)
        made.append(self.compositions)
        return config

    monkeypatch.setattr(ReusingSweepLoader, "load_sweep_config", spy)
    return made


@pytest.mark.slow
def test_one_composition_per_group_choice(tmp_path, monkeypatch):
    made = _compositions_in(monkeypatch)
    jobs = sweep(["pool=max,avg", "conv.stride=1,2,3", "conv.bias=0,1"], tmp_path / "s", "xopipe")
    assert len(jobs) == 12
    assert max(made) == 2  # one full composition for pool=max, one for pool=avg


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixed", "compositions"),
    [
        # Plain and ++ assignments: the sweep's own composition is every job's base.
        (["kernels=sobel", "++dtype=float32", "hydra.job.chdir=true", "conv.padding=1"], 0),
        # A +key would be added twice to the sweep's composition: composed again once.
        (["kernels=sobel", "+pipeline.stages.pool.params.ceil_mode=true"], 1),
    ],
)
def test_a_value_sweep_starts_from_the_sweeps_own_composition(
    tmp_path, monkeypatch, fixed, compositions
):
    made = _compositions_in(monkeypatch)
    grid = ["conv.stride=1,2", "conv.bias=0,0.5", *fixed]
    mine = sweep(grid, tmp_path / "xopipe", "xopipe", "hydra.launcher.n_jobs=1")
    assert made and max(made) == compositions
    theirs = sweep(grid, tmp_path / "basic", "basic")
    for job, other in zip(mine, theirs, strict=True):
        for name in ("config.yaml", "overrides.yaml"):
            assert (job / ".hydra" / name).read_text() == (other / ".hydra" / name).read_text()
        assert hydra_yaml(job, tmp_path / "xopipe", "xopipe") == hydra_yaml(
            other, tmp_path / "basic", "basic"
        )
        assert (job / "matrices.parquet").read_bytes() == (other / "matrices.parquet").read_bytes()


# --- worker processes -------------------------------------------------------------------


def _square(job: int) -> JobReturn:
    ret = JobReturn()
    ret.status = JobStatus.COMPLETED
    ret.return_value = (job * job, os.getpid())
    return ret


def test_workers_run_every_job_once_and_return_them_in_order():
    runs = run_in_workers(_square, 9, workers=2)
    assert [ret.return_value[0] for ret in runs] == [job * job for job in range(9)]
    pids = {ret.return_value[1] for ret in runs}
    assert len(pids) == 2 and os.getpid() not in pids


def _dies_on_job_one(job: int) -> JobReturn:
    if job == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return _square(job)


def test_a_worker_that_dies_fails_only_the_job_it_was_running(caplog):
    runs = run_in_workers(_dies_on_job_one, 5, workers=2)
    assert [ret.status for ret in runs] == [JobStatus.COMPLETED] * 5  # the sweep goes on
    assert runs[1].return_value == "failed"  # as xopipe's own jobs report a crash
    assert "job 1 failed: its worker process died (signal SIGKILL)" in caplog.text
    assert [ret.return_value[0] for i, ret in enumerate(runs) if i != 1] == [0, 4, 9, 16]


def _raises_on_job_two(job: int) -> JobReturn:
    if job == 2:
        raise OSError("disk gone")
    return _square(job)


def test_an_error_outside_the_task_fails_its_job_as_hydra_would():
    runs = run_in_workers(_raises_on_job_two, 4, workers=2)
    assert [ret.status for ret in runs] == [
        JobStatus.COMPLETED,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.COMPLETED,
    ]
    with pytest.raises(RuntimeError, match="job 2 failed: OSError: disk gone"):
        _ = runs[2].return_value


def test_n_jobs_zero_is_refused_in_one_line(tmp_path):
    folder = f"hydra.sweep.dir={tmp_path}"
    result = run_cli("-m", "conv.stride=1,2", "figures=none", folder, "hydra.launcher.n_jobs=0")
    assert result.code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: hydra.launcher.n_jobs must be a number of worker processes (1 runs every job "
        "in this process) or -1 for one per core (-2: all but one), got 0"
    )


def test_worker_count_reads_n_jobs_as_joblib_does():
    cores = len(os.sched_getaffinity(0))
    assert worker_count(3) == 3
    assert worker_count(-1) == cores
    assert worker_count(-2) == max(1, cores - 1)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_parallel_sweep_and_marks_its_running_jobs_failed(tmp_path, sig, status):
    sweep_dir = tmp_path / "sweep"
    # Four loop-backend jobs of seconds each, on two workers: two are running when the signal comes.
    command = [
        sys.executable,
        "-m",
        "xopipe",
        "-m",
        "backend=loop",
        "input=random",
        "input.shape=[300,300]",
        "input.seed=1,2,3,4",
        "figures=none",
        "print_matrices=false",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    logs = [sweep_dir / "0" / "xopipe.log", sweep_dir / "1" / "xopipe.log"]
    while not all(log.exists() for log in logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # both inside the conv stage by now
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)  # Ctrl-C: the terminal signals the whole group
    else:
        process.send_signal(sig)  # kill PID: the launching process alone
    _, stderr = process.communicate(timeout=90)

    assert process.returncode == status, stderr
    name = signal.Signals(sig).name
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted ({name}); the jobs that were running are marked failed; "
        f"add resume=true to finish the sweep in {sweep_dir}"
    )
    assert "Traceback" not in stderr
    for job in ("0", "1"):
        manifest = json.loads((sweep_dir / job / "manifest.json").read_text())
        assert manifest["status"] == "failed" and manifest["error"] == f"interrupted ({name})"
    for job in ("2", "3"):  # never started
        assert not (sweep_dir / job / "manifest.json").exists()


# --- the job's copies of its config ---------------------------------------------------


def test_the_job_copies_are_what_run_job_deep_copies():
    """_task_copy and _hydra_copy give what Hydra's run_job gets by deepcopy, and touch nothing."""
    import copy

    from hydra import compose, initialize_config_module
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict, read_write

    from xopipe.config import register_configs
    from xopipe.private_api.job_runner import _hydra_copy, _task_copy

    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        config = compose("config", ["conv.stride=2", "pool=avg"], return_hydra_config=True)
    keys, hydra_node = list(config), config._get_node("hydra")
    before = OmegaConf.to_yaml(config)

    theirs = copy.deepcopy(config)
    with read_write(theirs), open_dict(theirs):
        del theirs["hydra"]
    mine = _task_copy(config)
    assert OmegaConf.to_yaml(mine) == OmegaConf.to_yaml(theirs)
    assert OmegaConf.is_struct(mine) and list(mine) == list(theirs)
    assert list(config) == keys and config._get_node("hydra") is hydra_node
    assert OmegaConf.to_yaml(config) == before

    saved = HydraConfig.instance().cfg
    try:
        HydraConfig.instance().set_config(config)
        masked = HydraConfig.instance().cfg
        theirs_hydra, mine_hydra = copy.deepcopy(masked), _hydra_copy(masked)
        assert OmegaConf.to_yaml(mine_hydra) == OmegaConf.to_yaml(theirs_hydra)
        assert mine_hydra.hydra._get_parent() is mine_hydra  # as deepcopy re-parents it
        assert masked.hydra._get_parent() is config  # the original is left as it was
        assert OmegaConf.is_readonly(mine_hydra.hydra) == OmegaConf.is_readonly(theirs_hydra.hydra)
    finally:
        HydraConfig.instance().cfg = saved


@pytest.mark.slow
def test_a_search_path_from_the_command_line_finds_its_groups(tmp_path):
    """hydra.searchpath decides where group options are found: it goes into every composition."""
    extra = tmp_path / "confs" / "input"
    extra.mkdir(parents=True)
    (extra / "plus.yaml").write_text(
        "defaults:\n  - /schema/input/values@_here_\n  - _self_\n\n"
        "name: plus\nvalues:\n  - [0, 1, 0, 0]\n  - [1, 1, 1, 1]\n"
        "  - [0, 1, 0, 0]\n  - [0, 1, 0, 0]\n"
    )
    grid = [f"hydra.searchpath=[file://{tmp_path / 'confs'}]", "input=x,plus", "conv.stride=1,2"]
    mine = sweep(grid, tmp_path / "xopipe", "xopipe")
    theirs = sweep(grid, tmp_path / "basic", "basic")
    assert len(mine) == len(theirs) == 4
    for job, other in zip(mine, theirs, strict=True):
        assert (job / ".hydra" / "config.yaml").read_text() == (
            other / ".hydra" / "config.yaml"
        ).read_text()
        assert (job / "matrices.parquet").read_bytes() == (other / "matrices.parquet").read_bytes()
