"""The torch backend's backward pass: autograd on the forward's own functional calls.

Each primitive records the call the forward makes (torch_calls.py) and asks
torch.autograd.grad for the gradients, on the tensors' own device. Two
exceptions record the same values another way: reflect padding as a gather
(its own backward is refused on a GPU under deterministic algorithms) and
max pooling in an explicit -inf frame (see max_pool2d_backward). The
forward runs under inference mode, so its tensors cannot be recorded from:
an input that is one is cloned first. Gradients that do not depend on the
input's values (pad, avg pool) are taken at zeros of its shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from xopipe.backends import torch_calls as calls
from xopipe.geometry import Pads, Pair, pool_reach, source_index

Shape = tuple[int, int, int]
Method = TypeVar("Method", bound=Callable[..., Any])


def _recording(method: Method) -> Method:
    """Run with autograd on, even when the caller is in no_grad or inference mode."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode(False), torch.enable_grad():
            return method(*args, **kwargs)

    return run  # type: ignore[return-value]


def _leaf(t: torch.Tensor) -> torch.Tensor:
    """A fresh leaf with t's values that autograd differentiates with respect to."""
    return (t.clone() if t.is_inference() else t.detach()).requires_grad_()


def _zeros(shape: Shape, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros(shape, dtype=like.dtype, device=like.device, requires_grad=True)


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.is_inference() else t


def _reflected(batch: torch.Tensor, pads: Pads) -> torch.Tensor:
    """F.pad's reflect padding as a gather of the cells it copies (geometry.source_index).

    The same values; its gradient is index_select's, deterministic on CUDA, where
    reflect padding's own backward is refused under torch.use_deterministic_algorithms,
    which the torch backend turns on for a GPU.
    """
    left, right, top, bottom = pads
    *_, height, width = batch.shape

    def sources(n: int, before: int, after: int) -> torch.Tensor:
        cells = [source_index(i - before, n, "reflect") for i in range(before + n + after)]
        return torch.tensor(cells, device=batch.device)

    rows = batch.index_select(-2, sources(height, top, bottom))
    return rows.index_select(-1, sources(width, left, right))


def _pad(batch: torch.Tensor, pads: Pads, mode: str) -> torch.Tensor:
    """calls.pad as the backward records it (reflect as a gather)."""
    return _reflected(batch, pads) if mode == "reflect" else calls.pad(batch, pads, mode, 0.0)


class TorchBackward:
    """The gradient primitives of TorchBackend (base.Backend names them all)."""

    _tensor: Callable[[np.ndarray], torch.Tensor]  # TorchBackend's: NumPy onto the device

    @_recording
    def pad2d_backward(
        self, grad: torch.Tensor, pads: Pads, mode: str, input_shape: Shape
    ) -> torch.Tensor:
        x = _zeros(input_shape, grad)
        (grad_x,) = torch.autograd.grad(_pad(x[None], pads, mode)[0], x, _plain(grad))
        return grad_x

    @_recording
    def conv2d_backward(
        self,
        x: torch.Tensor,
        weight: np.ndarray,
        grad: torch.Tensor,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs = _leaf(x)
        weights = self._tensor(weight).requires_grad_()
        biases = _zeros((weight.shape[0],), inputs)  # type: ignore[arg-type]
        batch = inputs[None]
        if padding_mode == "reflect":  # padded first, as the forward's call does, but a gather
            batch, pads, padding_mode = _reflected(batch, pads), (0, 0, 0, 0), "zeros"
        y = calls.conv(
            batch,
            weights,
            biases,
            stride=stride,
            pads=pads,
            dilation=dilation,
            groups=groups,
            padding_mode=padding_mode,
            divisor=divisor,
        )[0]
        grad_x, grad_weight, grad_bias = torch.autograd.grad(
            y, (inputs, weights, biases), _plain(grad)
        )
        return grad_x, grad_weight, grad_bias

    @_recording
    def max_pool2d_backward(
        self,
        x: torch.Tensor,
        grad: torch.Tensor,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
        output: torch.Tensor | None = None,  # unused: the maxima are found here
    ) -> torch.Tensor:
        # The input in an explicit frame of -inf, as far as the windows read, pooled
        # unpadded: the same maxima and winners as the forward's call. With its
        # `padding`, F.max_pool2d records for a window wholly in the padding an index
        # outside that window (torch 2 on CPU) and would add the window's gradient
        # there; in the frame the winner is a frame cell, whose gradient is dropped.
        _, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
        full_h = pool_reach(height, kh, sh, ph, dh, ceil_mode)
        full_w = pool_reach(width, kw, sw, pw, dw, ceil_mode)
        frame = (pw, full_w - width - pw, ph, full_h - height - ph)
        inputs = _leaf(x)
        framed = F.pad(inputs[None], frame, mode="constant", value=-torch.inf)
        y = calls.max_pool(
            framed, size=size, stride=stride, padding=(0, 0), dilation=dilation, ceil_mode=False
        )[0]
        (grad_x,) = torch.autograd.grad(y, inputs, _plain(grad))
        return grad_x

    @_recording
    def avg_pool2d_backward(
        self,
        input_shape: Shape,
        grad: torch.Tensor,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> torch.Tensor:
        x = _zeros(input_shape, grad)
        y = calls.avg_pool(
            x[None],
            size=size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )[0]
        (grad_x,) = torch.autograd.grad(y, x, _plain(grad))
        return grad_x

    @_recording
    def activation_backward(
        self,
        name: str,
        x: torch.Tensor,
        grad: torch.Tensor,
        params: Mapping[str, float | str],
    ) -> torch.Tensor:
        inputs = _leaf(x)
        y = calls.activation(name, inputs, params)
        (grad_x,) = torch.autograd.grad(y, inputs, _plain(grad))
        return grad_x
