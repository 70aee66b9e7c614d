"""A run with a loss writes its gradients as it writes its values, and says so in its manifest."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import xopipe
from xopipe.sinks.tables import SCHEMA as MATRICES_SCHEMA
from xopipe.sinks.tables import read_parquet_arrays
from xopipe.sinks.weights import SCHEMA as WEIGHTS_SCHEMA
from xopipe.sinks.weights import read_weights_parquet


@pytest.fixture(scope="module")
def seed_sum(tmp_path_factory):
    with xopipe.run(
        "loss=sum", "tables.formats=[parquet,csv,npy]", out_dir=tmp_path_factory.mktemp("r")
    ) as run:
        yield run


def test_gradients_parquet_round_trips_every_cell(seed_sum):
    path = seed_sum.out_dir / "gradients.parquet"
    assert pq.read_schema(path).equals(MATRICES_SCHEMA)
    stored = read_parquet_arrays(path)
    assert list(stored) == ["input", "conv", "pool", "activation"]
    for name, grad in seed_sum.grads.items():
        np.testing.assert_array_equal(stored[name], grad)
    # the seed under loss=sum: every pool and activation cell has dL/d = 1
    assert (stored["pool"] == 1).all() and (stored["activation"] == 1).all()


def test_weight_gradients_parquet_round_trips(seed_sum):
    path = seed_sum.out_dir / "weight_gradients.parquet"
    assert pq.read_schema(path).equals(WEIGHTS_SCHEMA)
    stored = read_weights_parquet(path)
    np.testing.assert_array_equal(stored["conv"].weight, seed_sum.weight_grads["conv"]["weight"])
    np.testing.assert_array_equal(stored["conv"].bias, seed_sum.weight_grads["conv"]["bias"])
    # dL/d bias of kernel k = the sum of dL/d conv over its channel
    np.testing.assert_array_equal(stored["conv"].bias, seed_sum.grads["conv"].sum(axis=(1, 2)))


def test_csv_and_npy_hold_the_same_numbers(seed_sum):
    folder = seed_sum.out_dir
    for name, grad in seed_sum.grads.items():
        np.testing.assert_array_equal(np.load(folder / "gradients" / f"{name}.npy"), grad)
        for channel in range(grad.shape[0]):
            text = (folder / "gradients" / f"{name}_{channel}.csv").read_text()
            np.testing.assert_array_equal(
                np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2), grad[channel]
            )
    weight = seed_sum.weight_grads["conv"]["weight"]
    text = (folder / "weight_gradients" / "conv_2_0.csv").read_text()
    np.testing.assert_array_equal(
        np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2), weight[2, 0]
    )
    np.testing.assert_array_equal(np.load(folder / "weight_gradients" / "conv_weight.npy"), weight)


def test_the_manifest_records_the_loss_and_hashes_the_files(seed_sum):
    manifest = json.loads((seed_sum.out_dir / "manifest.json").read_text())
    assert manifest["loss"] == {
        "kind": "sum",
        "stages": ["pool", "activation"],
        "value": seed_sum.loss,
    }
    expected = float(seed_sum.arrays["pool"].sum()) + float(seed_sum.arrays["activation"].sum())
    assert seed_sum.loss == expected
    # the JSON text is the shortest round-trip form of the float64
    assert f'"value": {seed_sum.loss!r}' in (seed_sum.out_dir / "manifest.json").read_text()
    for name in ("gradients.parquet", "weight_gradients.parquet", "gradients/conv_0.csv"):
        assert name in manifest["files"]


def test_tables_stages_and_formats_choose_the_gradient_files_too(tmp_path):
    with xopipe.run(
        "loss=mse", "tables.formats=[parquet]", "tables.stages=[pool]", out_dir=tmp_path
    ) as run:
        assert list(read_parquet_arrays(tmp_path / "gradients.parquet")) == ["pool"]
        assert not (tmp_path / "gradients").exists()
        assert (tmp_path / "weight_gradients.parquet").exists()
        assert run.grads is not None and set(run.grads) == {"input", "conv", "pool", "activation"}


def test_a_forward_only_run_writes_no_gradients(tmp_path):
    with xopipe.run(out_dir=tmp_path) as run:
        assert run.grads is None and run.weight_grads is None and run.loss is None
        assert "loss" not in run.manifest
    assert not list(tmp_path.glob("*gradients*"))


def test_the_console_prints_the_loss_and_the_gradients(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "xopipe", "loss=sum", "figures=none", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    value = manifest["loss"]["value"]
    assert f"loss = {value!r} (sum of pool, activation)" in done.stdout
    # backward order: dL/d the last stages first, the input last
    order = [done.stdout.index(f"dL/d{name} [") for name in ("activation", "pool", "conv", "input")]
    assert order == sorted(order)
