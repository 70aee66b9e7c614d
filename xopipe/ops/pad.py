"""pad: a stage of its own, in nn.ZeroPad2d / F.pad order [left, right, top, bottom]."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xopipe.backends.base import Backend, BackendArray
from xopipe.errors import UserError, invalid
from xopipe.geometry import Pads, as_pads
from xopipe.ops import Shape, StageConfig, register

if TYPE_CHECKING:
    from xopipe.config.schema import PadConfig

MODES = ("constant", "reflect", "replicate", "circular")


@dataclass(frozen=True)
class PadParams:
    keyof: Callable[[str], str]
    pads: Pads
    value: float
    mode: str


def check_mode_fits(key: str, mode: str, pads: Pads, height: int, width: int) -> None:
    """PyTorch's limits: reflect pads less than the input, circular wraps at most once."""
    left, right, top, bottom = pads
    if mode == "reflect" and (max(top, bottom) >= height or max(left, right) >= width):
        raise UserError(
            f"{key} must be smaller than the input ({height}x{width}) with mode reflect, "
            f"got [left, right, top, bottom] = {list(pads)}"
        )
    if mode == "circular" and (max(top, bottom) > height or max(left, right) > width):
        raise UserError(
            f"{key} must be at most the input size ({height}x{width}) with mode circular, "
            f"got [left, right, top, bottom] = {list(pads)}"
        )


def prepare(stage: StageConfig) -> PadParams:
    node: PadConfig = stage.node
    keyof = stage.keyof
    mode = node.mode
    if mode not in MODES:
        raise invalid(keyof("mode"), mode, "one of " + ", ".join(MODES))
    value = float(node.value)
    if not np.isfinite(value):
        raise invalid(keyof("value"), value, "a finite number")
    return PadParams(keyof, as_pads(keyof("pads"), node.pads), value, mode)


def output_shape(shape: Shape, p: PadParams) -> Shape:
    channels, height, width = shape
    check_mode_fits(p.keyof("pads"), p.mode, p.pads, height, width)
    left, right, top, bottom = p.pads
    return channels, height + top + bottom, width + left + right


@register("pad", prepare=prepare, output_shape=output_shape)
def pad(backend: Backend, x: BackendArray, p: PadParams) -> BackendArray:
    return backend.pad2d(x, p.pads, p.mode, p.value)
