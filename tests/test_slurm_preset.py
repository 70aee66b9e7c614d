"""hydra/launcher=submitit_slurm without a cluster: the preset, its defaults, a misspelt key."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


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
