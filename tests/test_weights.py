"""Every weight and bias a run used is in its folder: weights.parquet and weights/*.csv."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.cli import run_cli
from xopipe.backends import BACKENDS as REGISTERED
from xopipe.sinks.files import sha256_of
from xopipe.sinks.weights import read_weights_parquet

QUIET = ("print_matrices=false", "figures=none")
BACKENDS = list(REGISTERED)  # every registered backend, a new one included

# Values whose text is easy to get wrong: thirds, tiny and huge magnitudes, -0.0.
TRICKY = [1 / 3, -2.5e-7, 1e300, -0.0, 0.1 + 0.2, -7 / 9, 5e-324, 123456789.123]


def read_csv(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in path.read_text().splitlines()])


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def assert_saved_exactly(run_dir: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """weights.parquet and every weights/*.csv hold exactly `weight` and `bias`."""
    saved = read_weights_parquet(run_dir / "weights.parquet")
    assert list(saved) == ["conv"]
    assert saved["conv"].weight.tobytes() == weight.tobytes()  # bit for bit, -0.0 included
    assert saved["conv"].bias.tobytes() == bias.tobytes()
    count, channels = weight.shape[:2]
    for k in range(count):
        for c in range(channels):
            grid = read_csv(run_dir / "weights" / f"conv_{k}_{c}.csv")
            assert grid.tobytes() == weight[k, c].tobytes()
    assert read_csv(run_dir / "weights" / "conv_bias.csv").tobytes() == bias[None].tobytes()
    files = manifest(run_dir)["files"]
    expected = {"weights.parquet"} | {
        f"weights/conv_{k}_{c}.csv" for k in range(count) for c in range(channels)
    }
    expected.add("weights/conv_bias.csv")
    assert expected <= set(files)
    for name in expected:
        assert files[name] == sha256_of(run_dir / name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_4d_npy_kernel_file_round_trips_bit_exact(tmp_path, backend):
    rng = np.random.default_rng(11)
    weight = rng.standard_normal((2, 3, 3, 2))
    weight.flat[: len(TRICKY)] = TRICKY
    np.save(tmp_path / "kernels.npy", weight)
    bias = np.array([1 / 3, -0.0])
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET,
        f"backend={backend}",
        "input=random",
        "input.shape=[3,6,7]",
        "kernels=file",
        f"kernels.path={tmp_path / 'kernels.npy'}",
        f"conv.bias=[{float(bias[0])!r},-0.0]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    assert_saved_exactly(run_dir, weight, bias)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inline_kernels_round_trip_bit_exact(tmp_path, backend):
    kernels = [[TRICKY[0:2], TRICKY[2:4]], [TRICKY[4:6], TRICKY[6:8]], [[1.0, 2.0], [3.0, 4.0]]]
    text = json.dumps(kernels).replace(" ", "")  # json writes shortest round-trip reprs
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET, f"backend={backend}", f"kernels.values={text}", f"hydra.run.dir={run_dir}"
    )
    assert result.code == 0, result.stderr
    assert_saved_exactly(run_dir, np.array(kernels)[:, None], np.zeros(3))


def test_rows_follow_the_documented_schema(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*QUIET, "conv.bias=[0.5,0,-1]", f"hydra.run.dir={run_dir}").code == 0
    table = pq.read_table(run_dir / "weights.parquet")
    assert table.schema.names == ["stage", "param", "kernel", "channel", "row", "col", "value"]
    assert str(table.schema.field("value").type) == "double"
    rows = table.to_pylist()
    assert len(rows) == 3 * 9 + 3
    bias_rows = [row for row in rows if row["param"] == "bias"]
    assert bias_rows == [
        {
            "stage": "conv",
            "param": "bias",
            "kernel": k,
            "channel": 0,
            "row": 0,
            "col": 0,
            "value": v,
        }
        for k, v in enumerate([0.5, 0.0, -1.0])
    ]
    # The seed's first kernel, row 0: 1, -1, -1.
    first = [row["value"] for row in rows if row["kernel"] == 0 and row["row"] == 0][:3]
    assert first == [1.0, -1.0, -1.0]


def test_every_conv_stage_of_a_deeper_pipeline_is_saved(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*QUIET, "pipeline=two_layer", f"hydra.run.dir={run_dir}").code == 0
    saved = read_weights_parquet(run_dir / "weights.parquet")
    assert list(saved) == ["conv", "conv2"]
    assert saved["conv"].weight.shape == (3, 1, 3, 3)
    assert saved["conv2"].weight.shape == (3, 1, 3, 3)  # depthwise: one channel per kernel
    assert (run_dir / "weights" / "conv2_2_0.csv").is_file()


def test_the_report_points_to_files_that_hold_the_kernels_it_leaves_out(tmp_path):
    """4 rgb kernels = 12 grids; the report carries all of them and names where they are."""
    run_dir = tmp_path / "run"
    result = run_cli(
        "print_matrices=false",
        "figures=none",
        "input=random",
        "input.shape=[3,6,6]",
        "kernels=random",
        "kernels.shape=[4,3,3,2]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    page = (run_dir / "report.html").read_text()
    note = re.search(r"Its kernels and bias: every value is in ([^<]*)\.</span>", page)
    assert note is not None, "the report names where the other kernels are"
    places = note.group(1).replace("&lt;", "<").replace("&gt;", ">").split(" and ")
    assert places == ["weights.parquet", "weights/conv_<kernel>_<channel>.csv"]
    saved = read_weights_parquet(run_dir / places[0])["conv"].weight
    assert saved.shape == (4, 3, 3, 2)
    last = read_csv(run_dir / places[1].replace("<kernel>", "3").replace("<channel>", "2"))
    np.testing.assert_array_equal(last, saved[3, 2])
    assert '"kernel":{"shape":[4,3,3,2]' in page  # the explorer's data: every grid


def test_kernels_as_applied_are_saved_flipped_and_spread_over_channels(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        *QUIET,
        "input=random",
        "input.shape=[2,5,5]",
        "kernels.values=[[[1,2],[3,4]]]",
        "conv.flip=true",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 0, result.stderr
    saved = read_weights_parquet(run_dir / "weights.parquet")["conv"].weight
    np.testing.assert_array_equal(saved, [[[[4, 3], [2, 1]], [[4, 3], [2, 1]]]])
