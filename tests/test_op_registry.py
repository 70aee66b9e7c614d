"""One op, one place: every part of xopipe that knows an op asks its descriptor, and they agree.

The registry, the page's JavaScript engines, the words in both languages, the controls and
the vocabularies are checked against one another here, and an op defined inside a test
runs through the whole of a run without a line of xopipe changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from xopipe.backends import BACKENDS, Backend, get_backend
from xopipe.backends.base import BackendArray
from xopipe.config.vocabulary import ACTIVATIONS, PAD_MODES, PADDING_MODES, POOL_KINDS
from xopipe.experiment import build_experiment, execute
from xopipe.explain import explain, parse_cell
from xopipe.figures.labels import word
from xopipe.html.explorer import page_scripts
from xopipe.ops import OPS, Op, Shape, StageConfig, register, unregister
from xopipe.ops.explanation import CellRef, Explanation, blank
from xopipe.ops.text import show
from xopipe.ops.words import LANGUAGES, SHARED, describe
from xopipe.runner import run_experiment

ROOT = Path(__file__).parent.parent
HTML = ROOT / "xopipe" / "html"


def registered_in_js() -> dict[str, str]:
    """op name -> the engine file that registers it, read from the page's scripts."""
    found = {}
    for path in HTML.glob("engine_*.js"):
        for name in re.findall(r'registerOp\("(\w+)"', path.read_text()):
            found[name] = path.name
    return found


def test_the_page_engines_are_the_registry():
    assert registered_in_js() == {name: f"engine_{op.engine}.js" for name, op in OPS.items()}
    engines = [s for s in page_scripts() if s.removeprefix("engine_").removesuffix(".js") in OPS]
    assert engines == [f"engine_{op.engine}.js" for op in OPS.values()]  # inlined, in order


@pytest.mark.parametrize("name", list(OPS))
def test_each_op_has_its_words_in_every_language(name):
    op = OPS[name]
    assert set(op.words) == set(LANGUAGES)
    keys = {lang: set(words) for lang, words in op.words.items()}
    assert keys["en"] == keys["zh"] and "title" in keys["en"], keys
    assert not keys["en"] & set(SHARED["en"]), "an op's own words do not shadow shared ones"
    assert word("en", name) == op.words["en"]["title"] and word("zh", name) != name


@pytest.mark.parametrize("name", list(OPS))
def test_each_ops_controls_are_settings_of_its_schema(name):
    op = OPS[name]
    fields = {f.name for f in dataclasses.fields(op.schema)}
    for control in op.controls:
        assert control.field in fields, (name, control.field)
        assert all(isinstance(choice, str) for choice in control.choices)


def test_the_vocabularies_are_the_configs_and_the_backends():
    conf = ROOT / "conf"
    assert sorted(ACTIVATIONS) == sorted(p.stem for p in (conf / "activation").glob("*.yaml"))
    assert sorted(POOL_KINDS) == sorted(p.stem for p in (conf / "pool").glob("*.yaml"))
    choices = {(op.name, c.field): c.choices for op in OPS.values() for c in op.controls}
    assert choices[("activation", "name")] == tuple(ACTIVATIONS)
    assert choices[("pool", "name")] == POOL_KINDS
    assert choices[("conv", "padding_mode")] == PADDING_MODES
    assert ("constant", *PADDING_MODES[1:]) == PAD_MODES  # F.pad calls zeros "constant"
    assert set(BACKENDS) == {p.stem for p in (conf / "backend").glob("*.yaml")}


def test_no_copy_of_a_vocabulary_is_left_in_the_page():
    """The page's engines take choices and defaults from the vocabulary Python sends."""
    engines = "\n".join(p.read_text() for p in HTML.glob("engine_*.js"))
    for copy in ("const ACTIVATIONS", "PADDING_MODES =", "PAD_MODES =", "negative_slope: 0.01"):
        assert copy not in engines, copy
    report = (ROOT / "xopipe" / "html" / "report.py").read_text()
    for copy in ("ACTIVATION_NAMES", '"leaky_relu"', '"avg"', '"circular"'):
        assert copy not in report, copy


# --- a toy op, defined here: a 1x1 "scale" of every channel --------------------------


@dataclasses.dataclass
class ScaleConfig:
    factor: float = 2.0


@dataclasses.dataclass(frozen=True)
class ScaleParams:
    factor: float


def _prepare(stage: StageConfig) -> ScaleParams:
    return ScaleParams(float(stage.node.factor))


def _forward(backend: Backend, x: BackendArray, p: ScaleParams) -> BackendArray:
    """A depthwise 1x1 conv: every backend's own primitive, nothing new in any of them."""
    channels = x.shape[0]
    weight = np.full((channels, 1, 1, 1), p.factor)
    return backend.conv2d(
        x,
        weight,
        np.zeros(channels),
        stride=(1, 1),
        pads=(0, 0, 0, 0),
        dilation=(1, 1),
        groups=channels,
        padding_mode="zeros",
        divisor=None,
    )


def _explain(cell: CellRef, p: ScaleParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    result = blank(cell, dtype)
    value_in = x[cell.channel, cell.row, cell.col]
    result.value = dtype.type(value_in * p.factor)
    result.rows, result.cols, result.source_channel = [cell.row], [cell.col], cell.channel
    result.steps.append(f"  {show(value_in)} × {p.factor:g} = {show(result.value)}")
    return result


def _describe(p: ScaleParams, shape: Shape, w: Mapping[str, str]) -> str:
    return w["scale"].format(factor=f"{p.factor:g}")


SCALE = Op(
    name="scale",
    schema=ScaleConfig,
    prepare=_prepare,
    output_shape=lambda shape, p: shape,
    forward=_forward,
    explain=_explain,
    describe=_describe,
    words={
        "en": {"title": "scaled map", "scale": "every cell × {factor}"},
        "zh": {"title": "缩放后的特征图", "scale": "每个格子 × {factor}"},
    },
)

SCALED = "+pipeline.stages.scaled={op: scale, input: conv, params: {factor: 3}}"


@pytest.fixture
def scale_op():
    register(SCALE)
    yield SCALE
    unregister(SCALE.name)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_an_op_defined_in_a_test_runs_on_every_backend(make_config, scale_op, backend):
    experiment = build_experiment(make_config(SCALED))
    assert experiment.pipeline.order == ["conv", "pool", "activation", "scaled"]
    arrays = execute(experiment, get_backend(backend)).arrays
    np.testing.assert_array_equal(arrays["scaled"], arrays["conv"] * 3.0)
    stage, shape = experiment.stages["scaled"], experiment.shapes["conv"]
    assert describe(stage.op, stage.params, shape) == "every cell × 3"
    assert describe(stage.op, stage.params, shape, "zh") == "每个格子 × 3"
    cell = parse_cell("scaled:2:3:4", experiment)
    text = explain(cell, experiment, arrays)
    assert text.identical
    stored = np.asarray(arrays["scaled"][2, 3, 4])[()]  # a lazy backend's (dask): computed
    assert text.steps[-1].startswith(f"stored scaled[2, 3, 4] = {show(stored)}")


def test_an_op_defined_in_a_test_writes_its_tables_and_page(make_config, scale_op, tmp_path):
    run_experiment(make_config(SCALED, "figures=none", "print_matrices=false"), tmp_path)
    table = pq.read_table(tmp_path / "matrices.parquet").to_pandas()
    scaled = table[table.stage == "scaled"].sort_values(["channel", "row", "col"])
    conv = table[table.stage == "conv"].sort_values(["channel", "row", "col"])
    np.testing.assert_array_equal(scaled.value.to_numpy(), conv.value.to_numpy() * 3.0)
    assert (tmp_path / "matrices" / "scaled_2.csv").is_file()
    page = (tmp_path / "report.html").read_text()
    assert "every cell × 3" in page and 'registerOp("scale"' not in page
    assert '"status": "complete"' in (tmp_path / "manifest.json").read_text()


def test_the_toy_op_leaves_nothing_behind():
    assert "scale" not in OPS
