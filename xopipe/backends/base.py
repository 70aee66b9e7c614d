"""The primitives every backend provides, with the same arguments and results.

Arrays are shaped [channels, rows, cols] and stay in the backend's own type
from stage to stage: NumPy arrays for loop and numpy, torch tensors on the
chosen device for torch. They cross between NumPy and the backend only
through `to_backend` (the input, once) and `to_host` (each kept array, once,
when a sink needs it); for loop and numpy both are the identity. Weights and
biases are small parameters: they arrive as NumPy and the backend moves them.
All geometry is resolved before a primitive is called (see xopipe.geometry),
so a backend only computes.

Where the next capabilities plug in:
- Kept intermediates: `experiment.execute(..., keep=True)` keeps every array in
  the backend's own type (`Results.kept`), so a backward pass reads the forward
  pass's arrays where they were computed.
- Gradient primitives: each op's descriptor has a `backward` slot
  (xopipe/ops/op.py) that calls a backend's gradient primitives, declared on
  this Protocol beside the forward ones they mirror.
- Lazy arrays: a BackendArray may be a graph still to compute (a chunked
  backend's array); `to_host` is where it is computed, and `wait` where queued
  work is finished, so primitives themselves may stay lazy.
- Progress: a backend that can report within a primitive (the loop backend,
  row by row) has a `progress(what, fraction)` attribute, which execute sets
  per stage; the others have none and are not asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from xopipe.geometry import Pads, Pair

# An array in the backend's own type: np.ndarray (loop, numpy) or torch.Tensor
# (torch, on its device). Only the backend that made one computes on it.
BackendArray = Any


class Backend(Protocol):
    """What a stage may ask of a backend."""

    name: str

    def to_backend(self, array: np.ndarray) -> BackendArray:
        """The NumPy array as this backend computes on it (the input's one crossing in)."""
        ...

    def to_host(self, array: BackendArray) -> np.ndarray:
        """This backend's array as NumPy (each kept array's one crossing out)."""
        ...

    def wait(self) -> None:
        """Return once the work queued so far is done (a GPU computes asynchronously)."""
        ...

    def pad2d(self, x: BackendArray, pads: Pads, mode: str, value: float) -> BackendArray:
        """Pad [C, H, W] by (left, right, top, bottom); mode is a PAD_MODES name
        (xopipe/config/vocabulary.py)."""
        ...

    def conv2d(
        self,
        x: BackendArray,
        weight: np.ndarray,
        bias: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> BackendArray:
        """Cross-correlate x [C, H, W] with weight [K, C/groups, kh, kw].

        Each output cell is sum(window * kernel) / divisor + bias[k]
        (no division when divisor is None).
        """
        ...

    def max_pool2d(
        self,
        x: BackendArray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
    ) -> BackendArray:
        """torch.nn.functional.max_pool2d on [C, H, W]; padding acts as -inf."""
        ...

    def avg_pool2d(
        self,
        x: BackendArray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> BackendArray:
        """torch.nn.functional.avg_pool2d on [C, H, W]."""
        ...

    def activation(
        self, name: str, x: BackendArray, params: Mapping[str, float | str]
    ) -> BackendArray:
        """Apply the activation `name` elementwise (an ACTIVATIONS name, config/vocabulary.py)."""
        ...


class HostArrays:
    """to_backend, to_host and wait for a backend that computes on NumPy arrays itself."""

    def to_backend(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_host(self, array: np.ndarray) -> np.ndarray:
        return array

    def wait(self) -> None:
        pass
