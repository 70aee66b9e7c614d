"""Fuzzing the command line: random override sets, valid and invalid.

Whatever a user types, xopipe either completes with a consistent manifest
(every listed file there, its hash matching) or stops with a one-line user
error (or Hydra's own composition message); never a traceback, never a hang.
"""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import run_cli

FILES = Path(__file__).parent / "corpus" / "files"
DATA = Path(__file__).parent / "data"

# For each key, values a user might type: sensible ones and mistakes.
CHOICES: dict[str, list[str]] = {
    "backend": ["numpy", "torch", "loop", "cuda"],
    "dtype": ["float64", "float32", "float16"],
    "input": ["x", "o", "random"],
    "input.shape": ["[9,9]", "[2,8,7]", "[1,1]", "[0,4]", "[3]", "[40,33]"],
    "input.seed": ["0", "7", "-1"],
    "kernels": ["xo", "sobel", "gaussian", "roberts", "random", "identity"],
    "kernels.values": [
        "[[[1,2,0],[0,-1,3]]]",
        "[[[1]]]",
        "[[[1,2],[3]]]",
        "[]",
        "[[[1,0],[0,1]],[[0,1],[1,0]]]",
    ],
    "conv.stride": ["1", "2", "3", "0", "-1", "[1,2]", "abc"],
    "conv.padding": ["0", "1", "2", "same", "valid", "-1", "[1,0]", "[0,3]"],
    "conv.dilation": ["1", "2", "0", "[2,1]"],
    "conv.padding_mode": ["zeros", "reflect", "replicate", "circular", "mirror"],
    "conv.groups": ["1", "3", "depthwise", "2", "0"],
    "conv.bias": ["0", "0.5", "[1,2,3]", "[1]", "-2"],
    "conv.normalize": ["mean", "none", "sum"],
    "conv.flip": ["true", "false"],
    "pool": ["max", "avg"],
    "pool.size": ["1", "2", "3", "4", "0", "9", "[2,3]"],
    "pool.stride": ["null", "1", "2", "3", "0"],
    "pool.pad": ["auto", "0", "[0,1,0,1]", "-1", "[1,1]"],
    "pool.padding": ["0", "1", "2"],
    "pool.ceil_mode": ["true", "false"],
    "activation": [
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "sigmoid",
        "tanh",
        "softplus",
        "identity",
        "swish",
    ],
    "pipeline": ["seed", "classic", "two_layer"],
    "pipeline.stages.pool.input": ["conv", "activation", "pool", "nothing"],
    "pad.pads": ["1", "[0,1,2,3]", "-1"],
    "limits.max_output_cells": ["268435456", "10"],
    "+conv.strid": ["2"],
}


@st.composite
def override_sets(draw) -> list[str]:
    keys = draw(st.lists(st.sampled_from(sorted(CHOICES)), min_size=1, max_size=6, unique=True))
    overrides = [f"{key}={draw(st.sampled_from(CHOICES[key]))}" for key in keys]
    if draw(st.booleans()) and "input=random" not in overrides:
        # A file from the corpus (mostly bad ones) or a good one.
        name = draw(st.sampled_from(["ragged.csv", "nan.npy", "pickled.npy", "broken.png", "good"]))
        path = DATA / "x.csv" if name == "good" else FILES / name
        overrides += ["input=file", f"input.path={path}"]
    return overrides


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("a run took longer than 60 s")


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(overrides=override_sets())
def test_any_override_set_completes_or_fails_cleanly(tmp_path_factory, overrides):
    run_dir = tmp_path_factory.mktemp("fuzz") / "run"
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        result = run_cli(
            *overrides, "figures=none", "print_matrices=false", f"hydra.run.dir={run_dir}"
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    assert "Traceback" not in result.stderr + result.stdout, overrides
    manifest_path = run_dir / "manifest.json"
    if result.code == 0:
        manifest = json.loads(manifest_path.read_text())
        assert manifest["status"] == "complete"
        assert "matrices.parquet" in manifest["files"]
        for name, digest in manifest["files"].items():
            assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest
    elif result.code == 2:  # xopipe's own one-line error
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        if manifest_path.exists():
            assert json.loads(manifest_path.read_text())["status"] == "failed"
        assert not (run_dir / "matrices.parquet").exists()
    else:  # Hydra refused to compose the config: its message, no run folder
        assert result.code == 1, (overrides, result)
        assert result.stderr.strip(), overrides
        assert not manifest_path.exists()
