"""xopipe.multirun.progress: how many jobs a sweep plans, and one line per finished job."""

from __future__ import annotations

import re
from io import StringIO

import pytest

from tests.conftest import compose_config
from tests.finished_runs import hydra_like, make_run, random_arrays
from xopipe.multirun.progress import ProgressWatcher, planned_jobs


@pytest.mark.parametrize(
    ("params", "task", "expected"),
    [
        ({}, ["backend=loop,numpy,torch", "conv.stride=1,2"], (6, ["backend", "conv.stride"])),
        ({"backend": "loop,numpy,torch"}, ["+sweep=backends"], (3, ["backend"])),
        ({"conv.stride": "1,2", "pool.size": "2,3"}, ["conv.stride=1"], (2, ["pool.size"])),
        ({}, ["conv.stride=range(1,4)", "figures=none"], (3, ["conv.stride"])),
        ({}, ["input=glob(*)"], (None, [])),
        ({}, [], (1, [])),
    ],
)
def test_planned_jobs_counts_like_the_basic_sweeper(params, task, expected):
    assert planned_jobs(hydra_like(params, task)) == expected


def test_planned_jobs_from_the_real_presets():
    config = compose_config_with_hydra(["+sweep=[backends,geometry]", "figures=none"])
    assert planned_jobs(config) == (24, ["backend", "conv.stride", "conv.padding", "pool.size"])


def compose_config_with_hydra(overrides: list[str]):
    from hydra import compose, initialize_config_module

    from xopipe.config import register_configs

    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=True)


def test_presets_compose():
    assert compose_config(["+sweep=backends"]).backend.name == "numpy"  # only hydra.* is set


def test_progress_watcher_prints_one_line_per_finished_job(tmp_path):
    make_run(tmp_path / "old", random_arrays(), ["backend=loop"])  # from an earlier sweep
    stream = StringIO()
    watcher = ProgressWatcher(tmp_path, 2, ["backend"], stream=stream, interval=0.01)
    watcher.start()
    make_run(tmp_path / "0", random_arrays(), ["backend=numpy", "figures=none"])
    make_run(tmp_path / "1", None, ["backend=torch", "figures=none"], error="UserError: no")
    watcher.stop()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\[1/2\] complete \d+\.\d\d s  backend=numpy", lines[0])
    assert re.fullmatch(r"\[2/2\] failed \d+\.\d\d s  backend=torch  \(UserError: no\)", lines[1])
