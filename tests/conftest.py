"""Shared fixtures: the seed's numbers, real configs composed as Hydra would, a SLURM cluster."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from hypothesis import settings
from omegaconf import DictConfig

from tests.browser import browser  # noqa: F401  (one browser for the whole session)
from tests.finished_runs import make_run, random_arrays
from tests.optional_suites import (  # noqa: F401  (hooks: which optional suites ran)
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)
from tests.slurm_cluster import (
    ClusterUnavailable,
    SlurmCluster,
    new_cluster_root,
    start_cluster,
    stop_cluster,
)
from xopipe.config import register_configs

DATA = Path(__file__).parent / "data"

# Property tests replay the same examples on every run (a failure in CI is
# reproducible); `pytest --hypothesis-profile=explore` searches afresh and wider.
settings.register_profile("replay", max_examples=100, derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "replay"))


@pytest.fixture(scope="session")
def seed_expected() -> dict[str, np.ndarray]:
    """The seed's worked example as float64 arrays (integers over 9 in the file)."""
    raw = json.loads((DATA / "xo_expected.json").read_text())
    denominator = raw["denominator"]
    return {
        "input": np.array(raw["input"], dtype=np.float64)[np.newaxis],
        "kernels": np.array(raw["kernels"], dtype=np.float64),
        "conv": np.array(raw["conv"], dtype=np.float64) / denominator,
        "pool": np.array(raw["pool"], dtype=np.float64) / denominator,
        "activation": np.array(raw["relu"], dtype=np.float64) / denominator,
    }


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The config `xopipe <overrides>` would run, without Hydra's runtime part."""
    register_configs()
    with initialize_config_module(config_module="xopipe.conf", version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture
def make_config() -> Callable[..., DictConfig]:
    return lambda *overrides: compose_config(overrides)


# The `sweep` fixture's verdict, as the user reads it: torch of stride 2 differs in
# pool channel 1 from loop and from numpy; job 6 failed.
SWEEP_VERDICT = (
    "backends differ: 2 of 30 grids beyond tolerance (pool), in 2 of 6 pairs"
    " (conv.stride=2: backend=loop vs backend=torch,"
    " conv.stride=2: backend=numpy vs backend=torch); 1 of 7 jobs failed (skipped)"
)


@pytest.fixture
def sweep(tmp_path) -> Path:
    """Six jobs: two groups of three backends; torch of stride 2 differs; one job failed."""
    root = tmp_path / "sweep"
    base = random_arrays(3)
    shifted = {k: v.copy() for k, v in base.items()}
    shifted["pool"][1, 1, 0] += 0.25
    shifted["pool"][0, 0, 1] -= 1e-12
    runs = [
        (["backend=loop", "conv.stride=1"], base, "loop"),
        (["backend=numpy", "conv.stride=1"], base, "numpy"),
        (["backend=torch", "conv.stride=1"], base, "torch"),
        (["backend=loop", "conv.stride=2"], base, "loop"),
        (["backend=numpy", "conv.stride=2"], base, "numpy"),
        (["backend=torch", "conv.stride=2"], shifted, "torch"),
        (["backend=loop", "conv.stride=0"], None, "loop"),
    ]
    for num, (overrides, arrays, backend) in enumerate(runs):
        make_run(root / str(num), arrays, overrides, backend=backend)
    return root


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """A single-node SLURM cluster for one test module (tests/slurm_cluster.py), or a skip.

    Skipped, with the reason, where the daemons cannot start; XOPIPE_REQUIRE_SLURM=1
    (as .ci/run sets it) turns that skip into a failure.
    """
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
