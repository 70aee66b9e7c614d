"""Sweeps on hydra/launcher=submitit_slurm, run against a test cluster (tests/slurm_cluster.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.real_sweeps import PROGRESS, QUIET
from tests.slurm_cluster import SlurmCluster

SLURM = ["hydra/launcher=submitit_slurm"]
# "Finishes at all": a bound no correct sweep comes near at any load (they take well
# under a minute idle). How soon the launcher acts is tests/test_slurm_states.py's.
SWEEP_LIMIT_S = 600


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
