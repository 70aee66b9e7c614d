"""explain=stage:channel:row:col: the printed arithmetic ends on the stored value.

Bit for bit on the loop backend (the same operations in the same order);
within a last-bit tolerance on numpy and torch, which sum in another order.
Asymmetric random kernels and random inputs throughout, so that a flipped
window or an off-by-one stride would show.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from tests.cli import run_cli
from tests.conftest import compose_config
from tests.property_cases import ACTIVATION_ORACLES
from xopipe.backends import get_backend
from xopipe.errors import UserError
from xopipe.experiment import build_experiment, execute
from xopipe.explain import CellRef, explain, parse_cell
from xopipe.runner import run_experiment

RANDOM = ["input=random", "input.seed=7", "kernels=random", "kernels.seed=3"]
CONFIGS = {
    "seed": [],
    "strided_padded_bias": [
        *RANDOM,
        "input.shape=[2,11,13]",
        "kernels.shape=[4,2,3,2]",
        "conv.stride=[2,1]",
        "conv.padding=[1,2]",
        "conv.bias=[0.1,-0.2,0.3,0.05]",
    ],
    "reflect_dilated": [
        *RANDOM,
        "input.shape=[9,10]",
        "conv.padding=2",
        "conv.padding_mode=reflect",
        "conv.dilation=2",
    ],
    "circular_flip_plain_sum": [
        *RANDOM,
        "input.shape=[8,8]",
        "conv.padding=1",
        "conv.padding_mode=circular",
        "conv.flip=true",
        "conv.normalize=none",
    ],
    "replicate_float32": [
        *RANDOM,
        "dtype=float32",
        "input.shape=[10,7]",
        "conv.padding=1",
        "conv.padding_mode=replicate",
        "activation=sigmoid",
    ],
    "groups": [*RANDOM, "input.shape=[2,9,9]", "kernels.shape=[4,1,3,3]", "conv.groups=2"],
    "avg_pool_torch_padding": [
        *RANDOM,
        "input.shape=[12,12]",
        "pool=avg",
        "pool.size=3",
        "pool.padding=1",
        "pool.pad=0",
        "pool.ceil_mode=true",
        "pool.count_include_pad=false",
        "activation=gelu",
    ],
    "avg_pool_auto_fill_float32": [
        *RANDOM,
        "dtype=float32",
        "input.shape=[10,10]",
        "pool=avg",
        "pool.size=3",
        "activation=softplus",
    ],
    "max_pool_dilated": [
        *RANDOM,
        "input.shape=[13,13]",
        "pool.dilation=2",
        "pool.padding=1",
        "pool.size=3",
        "pool.stride=2",
        "activation=leaky_relu",
        "activation.negative_slope=0.2",
    ],
    "two_layer_elu": [*RANDOM, "input.shape=[16,16]", "pipeline=two_layer", "activation=elu"],
    "pad_stage": [
        *RANDOM,
        "input.shape=[7,8]",
        "activation=tanh",
        "+pipeline.stages.padded={op: pad, input: conv}",
        "pad.pads=[1,2,0,3]",
        "pad.mode=reflect",
    ],
    "pad_stage_constant": [
        *RANDOM,
        "input.shape=[6,6]",
        "+pipeline.stages.padded={op: pad, input: pool}",
        "pad.pads=2",
        "pad.value=0.5",
    ],
}


def computed(name: str, backend: str):
    cfg = compose_config([*CONFIGS[name], f"backend={backend}"])
    experiment = build_experiment(cfg)
    return experiment, execute(experiment, get_backend(backend)).arrays


def random_cells(experiment, count: int, seed: int) -> list[CellRef]:
    rng = np.random.default_rng(seed)
    cells = []
    for stage in experiment.pipeline.order:
        shape = experiment.stages[stage].shape
        for _ in range(count):
            channel, row, col = (int(rng.integers(n)) for n in shape)
            cells.append(CellRef(stage, channel, row, col))
        # the corners, where padding and fill live
        cells.append(CellRef(stage, shape[0] - 1, shape[1] - 1, shape[2] - 1))
        cells.append(CellRef(stage, 0, 0, 0))
    return cells


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_explained_value_is_the_loop_backends_bit_for_bit(name):
    experiment, arrays = computed(name, "loop")
    for cell in random_cells(experiment, 6, seed=len(name)):
        e = explain(cell, experiment, arrays)
        stored = arrays[cell.stage][cell.channel, cell.row, cell.col]
        assert e.value.dtype == stored.dtype == experiment.dtype
        assert e.value.tobytes() == stored.tobytes(), (cell, e.value, stored)
        assert e.identical
        assert "identical, bit for bit" in e.steps[-1]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_explained_value_matches_numpy_and_torch_to_the_last_bits(name, backend):
    experiment, arrays = computed(name, backend)
    tolerance = 1e-6 if experiment.dtype == np.float32 else 1e-12
    for cell in random_cells(experiment, 6, seed=len(name) + 1):
        e = explain(cell, experiment, arrays)
        stored = float(arrays[cell.stage][cell.channel, cell.row, cell.col])
        assert abs(float(e.value) - stored) <= tolerance * max(1.0, abs(stored)), (cell, e.value)


NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf"


def _after(steps: list[str], prefix: str) -> str:
    line = next(s for s in steps if s.strip().startswith(prefix))
    return line.rsplit("=", 1)[1].strip().split()[0]


def _grids(steps: list[str], header: str) -> list[list[float]]:
    """Numbers of every grid printed under a line that starts with `header`."""
    grids, current = [], None
    for line in steps:
        if line.startswith("    ") and current is not None:
            current.extend(float(n) for n in re.findall(NUMBER, line))
        else:
            current = None
            if line.strip().startswith(header):
                current = []
                grids.append(current)
    return grids


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_printed_arithmetic_reproduces_the_stored_value(name):
    """Redo the printed steps from the printed numbers alone, in the run's dtype."""
    experiment, arrays = computed(name, "loop")
    dtype = experiment.dtype.type
    for cell in random_cells(experiment, 4, seed=len(name) + 2):
        e = explain(cell, experiment, arrays)
        steps = e.steps
        stored = dtype(_after(steps, "stored"))
        assert stored.tobytes() == arrays[cell.stage][cell.channel, cell.row, cell.col].tobytes()
        if e.op == "conv":
            products = np.array(_grids(steps, "window × kernel"), dtype=experiment.dtype)
            total = dtype(_after(steps, "sum of the"))
            assert np.sum(products.reshape(-1, *e.grids[0].values.shape)).tobytes() == (
                total.tobytes()
            )
            value = total
            if any(s.strip().startswith("/") for s in steps):
                divisor = float(next(s for s in steps if s.strip().startswith("/")).split()[1])
                value = total / divisor
            bias = dtype(re.search(r"\+ bias (\S+)", "\n".join(steps))[1])  # type: ignore[index]
            assert dtype(value + bias).tobytes() == stored.tobytes()
        elif e.op == "pool" and any("max of" in s for s in steps):
            window = np.array(_grids(steps, "the window's values")[0], dtype=experiment.dtype)
            assert dtype(_after(steps, "max of")) == stored == window.max()
        elif e.op == "pool":
            total = dtype(_after(steps, "sum of the values"))
            count = int(next(s for s in steps if s.strip().startswith("/")).split()[1])
            assert dtype(total / count).tobytes() == stored.tobytes()
        elif e.op == "activation":
            # explain uses the loop backend's scalar functions: torch is the judge here
            x = torch.tensor(dtype(_after(steps, "x =")))
            activation = experiment.stages[cell.stage].params
            expected = ACTIVATION_ORACLES[activation.name](x, dict(activation.params)).numpy()
            assert expected.dtype == stored.dtype
            ulp = np.spacing(np.abs(expected))
            for value in (stored, e.value):  # what the backend wrote, what explain computed
                assert abs(float(value) - float(expected)) <= 2 * ulp, (cell, value, expected)
        else:
            assert e.op == "pad"
            assert dtype(steps[1].rsplit("=", 1)[1].split()[0]) == stored


def test_seed_explanation_reads_like_the_lesson(capsys, tmp_path):
    run_experiment(
        compose_config(["explain=conv:0:1:2", "figures=none", "print_matrices=false"]), tmp_path
    )
    out = capsys.readouterr().out
    assert "explain conv[0, 1, 2]: channel 0, row 1, col 2 of conv [3×7×7]" in out
    assert "the window: rows 1..3, cols 2..4 of channel 0" in out
    assert "sum of the 9 products = -1.0" in out
    assert "/ 9 (normalize=mean: 1 channel(s) × 3 × 3 weights) = -0.1111111111111111" in out
    assert "stored conv[0, 1, 2] = -0.1111111111111111  (identical, bit for bit)" in out


def test_pool_explanation_names_the_zero_fill():
    experiment, arrays = computed("seed", "numpy")
    e = explain(parse_cell("pool:0:3:3", experiment), experiment, arrays)
    text = "\n".join(e.steps)
    assert "zeros added to pool's input first (pool.pad): left 0, right 1, top 0, bottom 1" in text
    assert "3 of its 4 cells lie outside pool's input" in text
    assert e.grids[0].padding.tolist() == [[False, True], [True, True]]
    assert e.value == arrays["pool"][0, 3, 3] == arrays["conv"][0, 6, 6]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conv:0:1", "explain must be stage:channel:row:col"),
        ("conv:a:1:2", "with whole numbers"),
        (
            "gard:conv:0:1:1",
            "explain must be stage:channel:row:col, e.g. conv:0:1:2, or "
            "grad:stage:channel:row:col for a gradient (with a loss), got 'gard:conv:0:1:1'; "
            "did you mean grad:conv:0:1:1?",
        ),
        ("conv:0:1:1:1", "for a gradient (with a loss), got 'conv:0:1:1:1'"),
        ("nope:0:0:0", "the stage must be one of conv, pool, activation"),
        ("input:0:0:0", "the stage must be one of conv, pool, activation"),
        ("conv:3:0:0", "conv is 3×7×7, so channel must be 0..2, row 0..6 and col 0..6"),
        ("pool:0:4:0", "pool is 3×4×4"),
        ("activation:0:0:-1", "activation is 3×7×7"),
    ],
)
def test_a_wrong_cell_stops_the_run_before_any_work(tmp_path, text, message):
    with pytest.raises(UserError, match=re.escape(message)):
        run_experiment(compose_config([f"explain={text}", "figures=none"]), tmp_path)
    assert not (tmp_path / "matrices.parquet").exists()


def test_a_wrong_cell_is_one_line_on_the_command_line(tmp_path):
    result = run_cli("explain=conv:9:0:0", f"hydra.run.dir={tmp_path}")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "error: explain: conv is 3×7×7, so channel must be 0..2, row 0..6 and col 0..6; "
        "got 'conv:9:0:0'"
    ]


def test_explain_draws_a_figure_when_figures_are_on(tmp_path):
    run_experiment(compose_config(["explain=activation:1:3:3", "print_matrices=false"]), tmp_path)
    assert (tmp_path / "figures" / "explain_activation_1_3_3.png").stat().st_size > 10_000


def test_explain_reaches_backends_through_the_registry_and_draws_nothing():
    import ast
    from pathlib import Path

    import xopipe.explain

    folder = Path(xopipe.explain.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("xopipe.figures"), (path.name, node.module)
                assert not node.module.startswith("xopipe.backends."), (path.name, node.module)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_console_says_by_how_much_numpy_and_torch_differ(capsys, tmp_path, backend):
    """On this cell numpy and torch add the nine products in another order than the loop
    backend: the stored value is one bit away from the one explain computes, and the
    console says so with the difference between the two backends' own numbers."""
    name, cell = "circular_flip_plain_sum", "conv:0:0:1"
    loop = float(computed(name, "loop")[1]["conv"][0, 0, 1])
    stored = float(computed(name, backend)[1]["conv"][0, 0, 1])
    assert loop != stored and abs(loop - stored) <= 2 * np.spacing(abs(loop))
    overrides = [*CONFIGS[name], f"backend={backend}", f"explain={cell}"]
    run_experiment(compose_config([*overrides, "figures=none", "print_matrices=false"]), tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert f"  + bias 0.0 = {loop!r}" in lines  # explain's own sum, in the loop's order
    difference = f"{abs(loop - stored):.3g}"  # 1.11e-16
    verdict = f"(differs by {difference}: this backend adds in another order)"
    assert f"stored conv[0, 0, 1] = {stored!r}  {verdict}" in lines
