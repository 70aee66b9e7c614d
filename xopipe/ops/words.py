"""Words every op's description shares, in English and the seed's Chinese, how pairs and
paddings are written in them, and `describe`. Each op keeps its own words in its module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xopipe.geometry import Pads, Pair

if TYPE_CHECKING:
    from xopipe.ops.op import Op, Shape

LANGUAGES = ("en", "zh")

SHARED: dict[str, dict[str, str]] = {
    "en": {
        "stride": "stride {value}",
        "padding": "padding {value}",
        "dilation": "dilation {value}",
        "left": "left",
        "right": "right",
        "top": "top",
        "bottom": "bottom",
        "and": ", ",
    },
    "zh": {
        "stride": "步长 {value}",
        "padding": "填充 {value}",
        "dilation": "膨胀 {value}",
        "left": "左",
        "right": "右",
        "top": "上",
        "bottom": "下",
        "and": "，",
    },
}


def pair_text(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def pads_text(pads: Pads, w: Mapping[str, str]) -> str:
    left, right, top, bottom = pads
    if left == right == top == bottom:
        return str(left)
    sides = zip(("left", "right", "top", "bottom"), pads, strict=True)
    return w["and"].join(f"{w[side]} {n}" for side, n in sides if n)


def describe(op: Op, params: Any, input_shape: Shape, lang: str = "en") -> str:
    """What a stage of `op` does, in one short line in `lang` (numbers as configured)."""
    lang = lang if lang in LANGUAGES else "en"
    return op.describe(params, input_shape, {**SHARED[lang], **op.words[lang]})
