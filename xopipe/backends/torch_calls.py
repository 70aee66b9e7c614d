"""The torch.nn.functional calls the torch backend makes, on a batch of one, bias explicit.

The forward pass runs them under inference mode; the backward pass runs the
same calls with autograd recording and asks torch for their gradients, so
the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from xopipe.geometry import Pads, Pair


def pad(batch: torch.Tensor, pads: Pads, mode: str, value: float) -> torch.Tensor:
    if mode == "constant":
        return F.pad(batch, pads, mode="constant", value=value)
    return F.pad(batch, pads, mode=mode)


def conv(
    batch: torch.Tensor,
    weights: torch.Tensor,
    biases: torch.Tensor,
    *,
    stride: Pair,
    pads: Pads,
    dilation: Pair,
    groups: int,
    padding_mode: str,
    divisor: float | None,
) -> torch.Tensor:
    left, right, top, bottom = pads
    if padding_mode == "zeros" and left == right and top == bottom:
        padding: tuple[int, int] = (top, left)  # conv2d pads symmetrically itself
    else:
        # What nn.Conv2d does for non-zero modes: pad first, then convolve unpadded.
        mode = "constant" if padding_mode == "zeros" else padding_mode
        batch = F.pad(batch, pads, mode=mode)
        padding = (0, 0)
    if divisor is None:
        return F.conv2d(batch, weights, biases, stride, padding, dilation, groups)
    result = F.conv2d(batch, weights, None, stride, padding, dilation, groups)
    return result.div_(divisor).add_(biases[:, None, None])  # in place: no second output


def max_pool(
    batch: torch.Tensor,
    *,
    size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    ceil_mode: bool,
) -> torch.Tensor:
    return F.max_pool2d(batch, size, stride, padding, dilation, ceil_mode=ceil_mode)


def avg_pool(
    batch: torch.Tensor,
    *,
    size: Pair,
    stride: Pair,
    padding: Pair,
    ceil_mode: bool,
    count_include_pad: bool,
) -> torch.Tensor:
    return F.avg_pool2d(
        batch, size, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad
    )


ACTIVATION = {
    "relu": lambda t, p: F.relu(t),
    "leaky_relu": lambda t, p: F.leaky_relu(t, float(p["negative_slope"])),
    "elu": lambda t, p: F.elu(t, float(p["alpha"])),
    "gelu": lambda t, p: F.gelu(t, approximate=str(p["approximate"])),
    "sigmoid": lambda t, p: torch.sigmoid(t),
    "tanh": lambda t, p: torch.tanh(t),
    "softplus": lambda t, p: F.softplus(t, float(p["beta"]), float(p["threshold"])),
    "identity": lambda t, p: t.clone(),
}


def activation(name: str, t: torch.Tensor, params: Mapping[str, float | str]) -> torch.Tensor:
    return ACTIVATION[name](t, params)
