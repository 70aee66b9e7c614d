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
- Gradient primitives: each `<op>_backward` below sits beside the forward
  primitive it mirrors and takes that primitive's geometry, the gradient of
  its output (dL/dy, shaped as the output) and what the derivative reads (the
  input, or only its shape); it returns dL/d its input, and for conv also
  dL/d the weight and bias as passed. Each op's descriptor calls them from its
  `backward` (xopipe/ops/op.py). The numbers are torch's CPU autograd's: a
  max-pool tie goes to the first maximum in row-major window order, relu'(0)
  = 0. The modules loop_backward.py, numpy_backward.py and torch_backward.py
  hold them.
- Lazy arrays: a BackendArray may be a graph still to compute (the dask
  backend's chunked arrays); `to_host` is where it is computed, and `wait` where
  queued work is finished, so primitives themselves may stay lazy. A backend
  with `lazy = True` also has `compute(*arrays)`: execute then leaves its
  arrays uncomputed, and the sinks compute them a band, a corner or a cell at
  a time (Results.compute), never whole.
- Progress: a backend that can report within a primitive (the loop backend,
  row by row) has a `progress(what, fraction)` attribute, which execute sets
  per stage; the others have none and are not asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from xopipe.geometry import Pads, Pair

Shape = tuple[int, int, int]  # channels, rows, cols

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

    def pad2d_backward(
        self, grad: BackendArray, pads: Pads, mode: str, input_shape: Shape
    ) -> BackendArray:
        """dL/dx of pad2d from dL/d its output: each cell's gradient goes to the cell it
        copies (reflect, replicate, circular add up where one cell is copied several
        times); a constant fill copies none and gets none. Reads no values of x."""
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

    def conv2d_backward(
        self,
        x: BackendArray,
        weight: np.ndarray,
        grad: BackendArray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> tuple[BackendArray, BackendArray, BackendArray]:
        """(dL/dx, dL/dweight, dL/dbias) of conv2d from dL/d its output `grad` [K, R, Q].

        dL/dweight is with respect to `weight` as passed (what weights.parquet stores,
        before the / divisor); dL/dbias[k] is the sum of grad over kernel k's map.
        Padding other than zeros copies input cells, which take back their share.
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

    def max_pool2d_backward(
        self,
        x: BackendArray,
        grad: BackendArray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
        output: BackendArray | None = None,
    ) -> BackendArray:
        """dL/dx of max_pool2d: each window's gradient goes to its maximum, on a tie the
        first in row-major window order (torch's CPU rule); the -inf padding never wins,
        and a window wholly in the padding passes nothing back. x holds finite values.
        `output`: max_pool2d's result on x, which a backend may use to find the maxima."""
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

    def avg_pool2d_backward(
        self,
        input_shape: Shape,
        grad: BackendArray,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> BackendArray:
        """dL/dx of avg_pool2d: each window cell inside the input takes grad / the count
        the forward divided by. An average's gradient reads no values of x, so it takes
        x's shape [C, H, W]; the result has grad's dtype (and device)."""
        ...

    def activation(
        self, name: str, x: BackendArray, params: Mapping[str, float | str]
    ) -> BackendArray:
        """Apply the activation `name` elementwise (an ACTIVATIONS name, config/vocabulary.py)."""
        ...

    def activation_backward(
        self, name: str, x: BackendArray, grad: BackendArray, params: Mapping[str, float | str]
    ) -> BackendArray:
        """dL/dx = grad * f'(x), cell by cell, with torch's value at a kink: relu'(0) = 0,
        leaky_relu'(0) = negative_slope, elu'(0) = alpha, softplus' = 1 above its threshold."""
        ...


class HostArrays:
    """to_backend, to_host and wait for a backend that computes on NumPy arrays itself."""

    def to_backend(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_host(self, array: np.ndarray) -> np.ndarray:
        return array

    def wait(self) -> None:
        pass
