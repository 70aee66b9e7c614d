"""Titles and one-line descriptions of stages, in English or the seed's Chinese.

The Chinese titles are the seed's own (原图, 卷积核, 卷积后的特征图, ...);
fonts.py checks that the CJK font it picks has every character used here.
"""

from __future__ import annotations

import math

from xopipe.experiment import Stage
from xopipe.explain.text import formula_of, number_text
from xopipe.geometry import Pads, Pair
from xopipe.html.words import STAGE_WORDS
from xopipe.ops import Shape
from xopipe.ops.activation import ActivationParams
from xopipe.ops.conv import ConvParams
from xopipe.ops.pad import PadParams
from xopipe.ops.pool import PoolParams, fill_for

# What each op's output is called, and the words around it.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "input": "input",
        "kernels": "kernels",
        "kernel": "kernel",
        "conv": "conv feature map",
        "pool": "pooled map",
        "activation": "activation map",
        "pad": "padded map",
        "channel": "channel",
        "overview": "the pipeline, stage by stage",
        "reads": "reads",
        "window": "input window",
        "products": "window × kernel",
        "value in": "value in",
        "value out": "value out",
        "explain": "how one cell is computed",
        "output": "output",
        "more": "more not shown",
    },
    "zh": {
        "input": "原图",
        "kernels": "卷积核",
        "kernel": "卷积核",
        "conv": "卷积后的特征图",
        "pool": "池化后的特征图",
        "activation": "激活后的特征图",
        "pad": "填充后的特征图",
        "channel": "通道",
        "overview": "卷积-池化-激活 流程总览",
        "reads": "输入",
        "window": "输入窗口",
        "products": "逐元素乘积",
        "value in": "输入值",
        "value out": "输出值",
        "explain": "一个输出值的计算过程",
        "output": "输出",
        "more": "个未显示",
    },
}


def word(lang: str, key: str) -> str:
    """A title word in `lang`; an op without a title (a new one) is called by its name."""
    return WORDS[lang].get(key, key)


def cjk_characters() -> str:
    """Every non-ASCII character the Chinese titles use, for the font check."""
    return "".join(sorted({ch for text in WORDS["zh"].values() for ch in text if ord(ch) > 127}))


def cell_text(value: float) -> str:
    """A cell's value as a learner reads it: 2 decimals, no '-0.00'."""
    if math.isinf(value):
        return "−∞" if value < 0 else "∞"
    if math.isnan(value):
        return ""
    if abs(value) >= 1000:
        return f"{value:.3g}"
    return f"{round(value, 2) + 0.0:.2f}".replace("-", "−")  # a true minus sign


def _pair(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _pads(pads: Pads, w: dict[str, str]) -> str:
    left, right, top, bottom = pads
    if left == right == top == bottom:
        return str(left)
    sides = zip(("left", "right", "top", "bottom"), pads, strict=True)
    return w["and"].join(f"{w[side]} {n}" for side, n in sides if n)


def describe(stage: Stage, input_shape: Shape, lang: str = "en") -> str:
    """What the stage does, in one short line in `lang` (numbers as configured)."""
    w = STAGE_WORDS[lang if lang in STAGE_WORDS else "en"]
    params = stage.params
    if isinstance(params, ConvParams):
        count, depth, kh, kw = params.weight.shape
        size = f"{kh}×{kw}" + (w["channels"].format(depth=depth) if depth > 1 else "")
        parts = [w["kernels" if count > 1 else "kernel"].format(count=count, size=size)]
        parts.append(w["stride"].format(value=_pair(params.stride)))
        if any(params.pads):
            pads = _pads(params.pads, w)
            parts.append(w["padding_mode"].format(value=pads, mode=params.padding_mode))
        if params.dilation != (1, 1):
            parts.append(w["dilation"].format(value=_pair(params.dilation)))
        if params.groups != 1:
            parts.append(w["groups"].format(value=params.groups))
        formula = w["products"]
        if params.divisor is not None:
            formula += f" / {params.divisor:g}"
        if params.bias.any():
            formula += w["bias"]
        return w["cell"].format(parts=w["and"].join(parts), formula=formula)
    if isinstance(params, PoolParams):
        size = f"{params.size[0]}×{params.size[1]}"
        stride = _pair(params.stride)
        parts = [w["pool"].format(kind=w.get(params.kind, params.kind), size=size, stride=stride)]
        fill = fill_for(params, input_shape[1], input_shape[2])
        if any(fill):
            parts.append(w["zeros"].format(pads=_pads(fill, w)))
        if params.padding != (0, 0):
            parts.append(w["padding"].format(value=_pair(params.padding)))
        if params.dilation != (1, 1) and params.kind == "max":
            parts.append(w["dilation"].format(value=_pair(params.dilation)))
        if params.ceil_mode:
            parts.append("ceil_mode")
        return w["and"].join(parts)
    if isinstance(params, ActivationParams):
        formula = formula_of(params.name, params.params)
        return w["activation"].format(name=params.name, formula=formula)
    if isinstance(params, PadParams):
        value = w["pad_value"].format(value=number_text(params.value))
        value = value if params.mode == "constant" else ""
        return w["pad"].format(pads=_pads(params.pads, w), mode=params.mode, value=value)
    return stage.spec.op
