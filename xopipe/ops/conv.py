"""conv: cross-correlation (or true convolution) with explicit bias, as nn.Conv2d.

Its parameters (the node and kernels checked against the input) are in conv_params.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from xopipe.backends import get_backend
from xopipe.backends.base import Backend, BackendArray
from xopipe.config.schema import ConvConfig
from xopipe.config.vocabulary import PADDING_MODES
from xopipe.geometry import effective_size
from xopipe.ops import conv_batch
from xopipe.ops.conv_params import ConvParams, groups_for, output_shape, prepare
from xopipe.ops.conv_routes import routes
from xopipe.ops.explanation import CellRef, Explanation, Grid, as_context, blank
from xopipe.ops.op import Control, Op, Shape, WeightGradients, Weights
from xopipe.ops.text import show, show_grid, span_text
from xopipe.ops.words import pads_text, pair_text


def forward(backend: Backend, x: BackendArray, p: ConvParams) -> BackendArray:
    if p.batch > 1:
        return conv_batch.forward(backend, x, p)
    return backend.conv2d(
        x,
        p.weight,
        p.bias,
        stride=p.stride,
        pads=p.pads,
        dilation=p.dilation,
        groups=groups_for(p, x.shape[0]),
        padding_mode=p.padding_mode,
        divisor=p.divisor,
    )


def backward(
    backend: Backend, x: BackendArray, y: BackendArray, grad_y: BackendArray, p: ConvParams
) -> tuple[BackendArray, WeightGradients]:
    """dL/d the input, and dL/d the weights as weights.parquet stores them (flipped
    already with conv.flip, repeated across channels for 2-D kernels, before the
    / divisor of normalize=mean) and the bias; for a batch, summed over its images."""
    if p.batch > 1:
        return conv_batch.backward(backend, x, grad_y, p)
    grad_x, grad_weight, grad_bias = backend.conv2d_backward(
        x,
        p.weight,
        grad_y,
        stride=p.stride,
        pads=p.pads,
        dilation=p.dilation,
        groups=groups_for(p, x.shape[0]),
        padding_mode=p.padding_mode,
        divisor=p.divisor,
    )
    return grad_x, WeightGradients(grad_weight, grad_bias)


def explain(cell: CellRef, p: ConvParams, x: np.ndarray, dtype: np.dtype) -> Explanation:
    count, group_channels, kh, kw = p.weight.shape
    k, i, j = cell.channel, cell.row, cell.col
    groups = groups_for(p, x.shape[0])
    first = (k // (count // groups)) * group_channels
    channels = x[first : first + group_channels]
    left, right, top_pad, bottom_pad = p.pads
    mode = "constant" if p.padding_mode == "zeros" else p.padding_mode
    padded = get_backend("numpy").pad2d(channels, p.pads, mode, 0.0) if any(p.pads) else channels
    (sh, sw), (dh, dw) = p.stride, p.dilation
    top, left_edge = i * sh, j * sw
    span_h, span_w = effective_size(kh, dh), effective_size(kw, dw)
    # As the loop backend: window * kernel, summed, / divisor, + bias.
    # A lazy run's (backend=dask) input is read here, its window's chunks only.
    window = np.asarray(padded[:, top : top + span_h : dh, left_edge : left_edge + span_w : dw])
    products = window * p.weight[k]
    total = np.sum(products)
    divided = total / p.divisor if p.divisor is not None else total
    value = dtype.type(divided + p.bias[k])

    rows = [top - top_pad + a * dh for a in range(kh)]
    cols = [left_edge - left + b * dw for b in range(kw)]
    outside = np.logical_or.outer(
        [not 0 <= r < x.shape[1] for r in rows], [not 0 <= c < x.shape[2] for c in cols]
    )
    result = blank(cell, dtype)
    result.value, result.rows, result.cols, result.source_channel = value, rows, cols, first
    result.context, result.context_origin = as_context(padded[0]), (-top_pad, -left)
    result.grids_per_channel, result.grids_own_scale = 3, True  # window, kernel, products
    result.formula = (
        "cell = Σ(window × kernel)"
        + (f" / {p.divisor:g}" if p.divisor is not None else "")
        + f" + bias {show(p.bias[k])}"
    )
    name = p.names[k] if k < len(p.names) else f"kernel {k}"
    steps = result.steps
    where = f"rows {span_text(rows[0], kh, dh)}, cols {span_text(cols[0], kw, dw)}"
    steps.append(
        f"  the window: {where} of {'channels' if group_channels > 1 else 'channel'} "
        f"{span_text(first, group_channels, 1)} (stride {list(p.stride)}, "
        f"dilation {list(p.dilation)})"
    )
    if outside.any():
        steps.append(
            f"  {int(outside.sum())} of its {outside.size} cells lie in the padding "
            f"({p.padding_mode}), shown as the values the conv used"
        )
    for c in range(group_channels):
        label = f"channel {first + c}"
        steps += [f"  input window, {label}:", show_grid(window[c])]
        steps += [f"  {name}, weights for {label}:", show_grid(p.weight[k, c])]
        steps += [f"  window × kernel, element by element ({label}):", show_grid(products[c])]
        result.grids += [
            Grid("window", label, np.array(window[c]), outside),
            Grid("kernel", name, np.array(p.weight[k, c]), np.zeros_like(outside)),
            Grid("products", label, np.array(products[c]), outside),
        ]
    steps.append(f"  sum of the {products.size} products = {show(total)}")
    if p.divisor is not None:
        steps.append(
            f"  / {p.divisor:g} (normalize=mean: {group_channels} channel(s) × {kh} × {kw} "
            f"weights) = {show(divided)}"
        )
    steps.append(f"  + bias {show(p.bias[k])} = {show(value)}")
    return result


def describe(p: ConvParams, input_shape: Shape, w: Mapping[str, str]) -> str:
    count, depth, kh, kw = p.weight.shape
    size = f"{kh}×{kw}" + (w["channels"].format(depth=depth) if depth > 1 else "")
    parts = [w["kernels" if count > 1 else "kernel"].format(count=count, size=size)]
    parts.append(w["stride"].format(value=pair_text(p.stride)))
    if any(p.pads):
        parts.append(w["padding_mode"].format(value=pads_text(p.pads, w), mode=p.padding_mode))
    if p.dilation != (1, 1):
        parts.append(w["dilation"].format(value=pair_text(p.dilation)))
    if p.groups != 1:
        parts.append(w["groups"].format(value=p.groups))
    formula = w["products"]
    if p.divisor is not None:
        formula += f" / {p.divisor:g}"
    if p.bias.any():
        formula += w["bias"]
    return w["cell"].format(parts=w["and"].join(parts), formula=formula)


def reweighted(p: ConvParams, weight: np.ndarray, bias: np.ndarray) -> ConvParams:
    """The same conv with new stored weights (before the / divisor), as training updates them."""
    return dataclasses.replace(p, weight=weight, bias=bias)


def batched(p: ConvParams, count: int) -> ConvParams:
    """The conv of `count` images one after another along the channels, each with the
    stage's own kernels: conv_batch stacks them into one image for one call."""
    return dataclasses.replace(p, batch=count)


def weights(p: ConvParams) -> Weights:
    return Weights(p.weight, p.bias, p.names)  # flipped already when conv.flip is on


WORDS = {
    "en": {
        "title": "conv feature map",
        "kernels": "{count} kernels {size}",
        "kernel": "{count} kernel {size}",
        "channels": "×{depth} channels",
        "padding_mode": "padding {value} ({mode})",
        "groups": "groups {value}",
        "products": "Σ(window × kernel)",
        "bias": " + bias",
        "cell": "{parts}; cell = {formula}",
    },
    "zh": {
        "title": "卷积后的特征图",
        "kernels": "{count} 个卷积核 {size}",
        "kernel": "{count} 个卷积核 {size}",
        "channels": "×{depth} 通道",
        "padding_mode": "填充 {value}（{mode}）",
        "groups": "分组 {value}",
        "products": "Σ(窗口 × 卷积核)",
        "bias": " + 偏置",
        "cell": "{parts}；每个格子 = {formula}",
    },
}

OP = Op(
    name="conv",
    schema=ConvConfig,
    prepare=prepare,
    output_shape=output_shape,
    forward=forward,
    explain=explain,
    describe=describe,
    words=WORDS,
    controls=(
        Control("stride"),
        Control("padding"),
        Control("dilation"),
        Control("padding_mode", PADDING_MODES),
    ),
    weights=weights,
    stage_params=frozenset({"kernels"}),
    slides_window=True,
    backward=backward,
    routes=routes,
    reweighted=reweighted,
    batched=batched,
)
