"""activation: an elementwise function with its parameters from config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from xopipe.backends import get_backend
from xopipe.backends.base import Backend, BackendArray
from xopipe.config.schema import ActivationConfig
from xopipe.config.vocabulary import ACTIVATIONS
from xopipe.errors import invalid
from xopipe.ops.explanation import CellRef, Explanation, Grid, blank, cell_value
from xopipe.ops.op import Control, Op, Shape, StageConfig, WeightGradients
from xopipe.ops.routes import Route
from xopipe.ops.text import formula_of, show


@dataclass(frozen=True)
class ActivationParams:
    name: str
    params: Mapping[str, float | str]  # negative_slope, alpha, beta, ... as the name needs


def prepare(stage: StageConfig) -> ActivationParams:
    node: ActivationConfig = stage.node
    keyof = stage.keyof
    name = node.name
    if name not in ACTIVATIONS:
        raise invalid(keyof("name"), name, "one of " + ", ".join(ACTIVATIONS))
    params = {key: getattr(node, key) for key in ACTIVATIONS[name]}
    if name == "gelu" and params["approximate"] not in ("none", "tanh"):
        raise invalid(keyof("approximate"), params["approximate"], "none or tanh")
    if name == "softplus" and not params["beta"] > 0:
        raise invalid(keyof("beta"), params["beta"], "a number > 0")
    return ActivationParams(name, params)


def output_shape(shape: Shape, p: ActivationParams) -> Shape:
    return shape


def forward(backend: Backend, x: BackendArray, p: ActivationParams) -> BackendArray:
    return backend.activation(p.name, x, p.params)


def backward(
    backend: Backend, x: BackendArray, y: BackendArray, grad_y: BackendArray, p: ActivationParams
) -> tuple[BackendArray, WeightGradients | None]:
    """dL/dx = dL/dy * f'(x), cell by cell (relu'(0) = 0, as PyTorch)."""
    return backend.activation_backward(p.name, x, grad_y, p.params), None


def _scalar(p: ActivationParams, value: float) -> float:
    """The loop backend's activation on one number, exactly as it computes a cell."""
    cell = np.array([[[value]]], dtype=np.float64)
    return float(get_backend("loop").activation(p.name, cell, p.params)[0, 0, 0])


def explain(cell: CellRef, p: ActivationParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    value_in = cell_value(x[cell.channel, cell.row, cell.col])
    result = blank(cell, dtype)
    result.value = dtype.type(_scalar(p, float(value_in)))
    result.rows, result.cols, result.source_channel = [cell.row], [cell.col], cell.channel
    result.context = x[cell.channel]
    result.formula = f"{p.name}(x) = {formula_of(p.name, p.params)}"
    result.elementwise = True
    result.steps += [
        f"  x = the same cell of the input = {show(value_in)}",
        f"  {p.name}(x) = {formula_of(p.name, p.params)} = {show(result.value)}",
    ]
    no_padding = np.zeros((1, 1), dtype=bool)
    result.grids += [
        Grid("value in", "x", np.array([[value_in]]), no_padding),
        Grid("value out", p.name, np.array([[result.value]]), no_padding),
    ]
    return result


def routes(
    cell: CellRef, p: ActivationParams, x: np.ndarray, out: Shape, dtype: np.dtype
) -> list[Route]:
    """The same cell of the output, through f'(x) as the loop backend computes it."""
    value = np.array([[[x[cell.channel, cell.row, cell.col]]]], dtype=x.dtype)
    local = get_backend("loop").activation_backward(p.name, value, np.ones_like(value), p.params)
    slope = dtype.type(local[0, 0, 0])
    why = f"{p.name}'({show(value[0, 0, 0])}) = {show(slope)}"
    return [Route((cell.channel, cell.row, cell.col), slope, why)]


def describe(p: ActivationParams, input_shape: Shape, w: Mapping[str, str]) -> str:
    return w["activation"].format(name=p.name, formula=formula_of(p.name, p.params))


WORDS = {
    "en": {"title": "activation map", "activation": "{name}: {formula} on every cell"},
    "zh": {"title": "激活后的特征图", "activation": "{name}：每个格子 = {formula}"},
}

OP = Op(
    name="activation",
    schema=ActivationConfig,
    prepare=prepare,
    output_shape=output_shape,
    forward=forward,
    explain=explain,
    describe=describe,
    words=WORDS,
    controls=(Control("name", tuple(ACTIVATIONS)),),
    backward=backward,
    routes=routes,
)
