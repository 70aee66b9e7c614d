"""The primitives every backend provides, with the same arguments and results.

Arrays are NumPy arrays shaped [channels, rows, cols] in and out; a backend
may compute elsewhere (torch, a GPU) but hands NumPy back. All geometry is
resolved before a primitive is called (see xopipe.geometry), so a backend
only computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from xopipe.geometry import Pads, Pair

# conv.padding_mode names, as in torch.nn.Conv2d.
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# Every activation by name, with the parameters it reads from the activation
# config node. Each backend provides a function per name (its ACTIVATION table).
ACTIVATIONS: dict[str, tuple[str, ...]] = {
    "relu": (),
    "leaky_relu": ("negative_slope",),
    "elu": ("alpha",),
    "gelu": ("approximate",),
    "sigmoid": (),
    "tanh": (),
    "softplus": ("beta", "threshold"),
    "identity": (),
}


class Backend(Protocol):
    """What a stage may ask of a backend."""

    name: str

    def pad2d(self, x: np.ndarray, pads: Pads, mode: str, value: float) -> np.ndarray:
        """Pad [C, H, W] by (left, right, top, bottom); mode is a PADDING_MODES name."""
        ...

    def conv2d(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> np.ndarray:
        """Cross-correlate x [C, H, W] with weight [K, C/groups, kh, kw].

        Each output cell is sum(window * kernel) / divisor + bias[k]
        (no division when divisor is None).
        """
        ...

    def max_pool2d(
        self,
        x: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
    ) -> np.ndarray:
        """torch.nn.functional.max_pool2d on [C, H, W]; padding acts as -inf."""
        ...

    def avg_pool2d(
        self,
        x: np.ndarray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> np.ndarray:
        """torch.nn.functional.avg_pool2d on [C, H, W]."""
        ...

    def activation(self, name: str, x: np.ndarray, params: Mapping[str, float | str]) -> np.ndarray:
        """Apply the activation `name` (an ACTIVATIONS entry) elementwise."""
        ...
