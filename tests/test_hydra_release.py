"""Hydra 1.3 and the coming 1.4: runs, sweeps and the console the same on both.

Each check runs in this environment's Python and, where XOPIPE_NEXT_HYDRA_PYTHON names
another environment's Python (.ci/run makes one with the 1.4 pre-release), in that one
too: the seed, a sweep on the default launcher, one on joblib, and the SLURM preset.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from xopipe.config.hydra_release import (
    EXECUTION_WHITELIST,
    compose_options,
    main_options,
    release,
    store_options,
)

NEXT_HYDRA = "XOPIPE_NEXT_HYDRA_PYTHON"
PYTHONS = [pytest.param(sys.executable, id="this-hydra")] + (
    [pytest.param(os.environ[NEXT_HYDRA], id="next-hydra")] if os.environ.get(NEXT_HYDRA) else []
)
# What a deprecation, a plugin scan that finds nothing or an unlisted _target_ prints.
NOISE = ("warning", "deprecated", "whitelist", "could not discover")


def xopipe(python: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m xopipe ARGS` from a fresh folder, as a user would type it."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [python, "-m", "xopipe", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def quiet(stderr: str) -> list[str]:
    """The lines of stderr that are Hydra's or Python's noise (none expected)."""
    return [line for line in stderr.splitlines() if any(n in line.lower() for n in NOISE)]


def test_each_release_gets_the_arguments_it_asks_for():
    assert release("1.3.2") == (1, 3) and release("1.4.0rc3") == (1, 4)
    assert main_options("1.3.2") == {"version_base": "1.3"}
    assert compose_options("1.3.2") == {"version_base": "1.3"}
    assert main_options("1.4.0rc3") == {"execution_whitelist": EXECUTION_WHITELIST}
    assert compose_options("1.4.0") == {}
    assert store_options("1.3.8") == {} and store_options("1.4.0rc3") == {"replace": True}


def test_the_whitelist_covers_every_callback_the_config_instantiates():
    from hydra import compose, initialize_config_module

    from xopipe.config import register_configs

    register_configs()
    with initialize_config_module(config_module="xopipe.conf", **compose_options()):
        cfg = compose(config_name="config", return_hydra_config=True)
    targets = [node["_target_"] for node in cfg.hydra.callbacks.values()]
    assert targets == ["xopipe.callbacks.OutputDirCheck", "xopipe.callbacks.SweepSummary"]
    prefixes = [pattern.removesuffix("*") for pattern in EXECUTION_WHITELIST]
    assert all(any(t.startswith(p) for p in prefixes) for t in targets)


@pytest.mark.parametrize("python", PYTHONS)
def test_the_seed_runs_with_a_clean_console(python, tmp_path):
    done = xopipe(python, tmp_path, "figures=none", f"hydra.run.dir={tmp_path / 'run'}")
    assert done.returncode == 0, done.stderr
    assert quiet(done.stderr) == []
    assert done.stdout.startswith("input [1x9x9]\n")
    assert "[ 0.78 -0.11  0.11  0.33  0.56 -0.11  0.33]" in done.stdout  # the seed's conv row
    assert '"status": "complete"' in (tmp_path / "run" / "manifest.json").read_text()


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("launcher", ["xopipe", "joblib"])
def test_a_sweep_completes_on_each_launcher(python, launcher, tmp_path):
    sweep = tmp_path / "sweep"
    done = xopipe(
        python,
        tmp_path,
        "-m",
        "conv.stride=1,2",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={sweep}",
    )
    assert done.returncode == 0, done.stderr
    assert quiet(done.stderr) == []
    for job in ("0", "1"):
        assert '"status": "complete"' in (sweep / job / "manifest.json").read_text()
    summary = pq.read_table(sweep / "summary.parquet").to_pandas()
    shapes = summary[summary.stage == "conv"].groupby("job").size().to_dict()
    assert shapes == {0: 3 * 7 * 7, 1: 3 * 4 * 4}  # stride 1: 7x7 maps, stride 2: 4x4


@pytest.mark.parametrize("python", PYTHONS)
def test_a_misspelt_key_gets_hydras_lines_and_the_hint_only(python, tmp_path):
    done = xopipe(python, tmp_path, "conv.strid=2")
    assert done.returncode == 1
    assert quiet(done.stderr) == []
    assert done.stderr.rstrip().endswith("did you mean conv.stride?")


@pytest.mark.parametrize("python", PYTHONS)
def test_the_slurm_preset_names_a_registered_launcher(python, tmp_path):
    """The preset stores over Hydra's own submitit_slurm, and Hydra knows its class."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the [test] extra has it
    script = (
        "from xopipe.config import register_configs\n"
        "register_configs()\n"  # as the app does first: the plugin path of an editable install
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.launcher import Launcher\n"
        "from hydra_plugins.xopipe_submitit.config import XopipeSlurmPreset\n"
        "plugins = Plugins.instance()\n"
        "XopipeSlurmPreset().manipulate_search_path(None)\n"
        "print(sorted(c.__qualname__ for c in plugins.discover(Launcher)))\n"
    )
    found = subprocess.run([python, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert quiet(found.stderr) == []
    assert "'XopipeLauncher'" in found.stdout and "'XopipeSlurmLauncher'" in found.stdout
    shown = xopipe(
        python, tmp_path, "hydra/launcher=submitit_slurm", "--cfg", "hydra", "-p", "hydra.launcher"
    )
    assert shown.returncode == 0, shown.stderr
    assert quiet(shown.stderr) == []
    assert (
        "_target_: hydra_plugins.xopipe_submitit.slurm_launcher.XopipeSlurmLauncher" in shown.stdout
    )
    assert "signal_delay_s: 90" in shown.stdout
