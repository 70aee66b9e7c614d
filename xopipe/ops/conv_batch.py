"""conv on a batch of images in one call: the images stacked one above the other.

Training passes B images through the pipeline as one map of B x C channels
(pool, pad and activation work channel by channel already). A conv over
them could treat each image's channels as groups of their own, but a
backend then works group by group: for 9x9 images that is a loop of tiny
calls (the numpy backend's conv of 16 images took 6 times as long as
one of a 16-times-taller image). So the batch's images, each padded as the
conv pads it, are stacked into one tall image of C channels and convolved
once with the stage's own kernels:

- each image gets Hs rows, its padded height Hp rounded up to the stride,
  so that image i's output rows start at row i * Hs / stride of the tall
  output; the rows in between read across two images, and are dropped;
- a few zero rows after the last image (the tail) give the tall output
  exactly B * Hs / stride rows, so it splits into the images' outputs by a
  reshape.

Every kept output cell is the same sum of products as the image's own conv.
The backward pass stacks dL/dy the same way, with zeros for the dropped rows:
they add nothing to dL/d the input or the weights, so dL/dw comes back as
the sum over the batch, which is what a batch's step needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xopipe.backends.base import Backend, BackendArray
from xopipe.geometry import conv_out, effective_size
from xopipe.ops.conv_params import ConvParams, groups_for
from xopipe.ops.op import WeightGradients


@dataclass(frozen=True)
class _Stack:
    """How a batch of B images of C channels [B * C, H, W] is stacked for one conv."""

    images: int  # B
    channels: int  # C
    padded: int  # Hp: an image's rows after the conv's own padding
    rows: int  # Hs: Hp rounded up to the stride, an image's rows in the stack
    tail: int  # zero rows after the last image
    out_rows: int  # an image's own output rows

    @classmethod
    def of(cls, p: ConvParams, shape: tuple[int, ...]) -> _Stack:
        maps, height, _ = shape
        left, right, top, bottom = p.pads
        kh = p.weight.shape[2]
        stride, dilation = p.stride[0], p.dilation[0]
        padded = height + top + bottom
        rows = -(-padded // stride) * stride
        tail = max(0, effective_size(kh, dilation) - stride)
        out_rows = conv_out(padded, kh, stride, dilation, 0, 0)
        return cls(p.batch, maps // p.batch, padded, rows, tail, out_rows)


def _mode(p: ConvParams) -> str:
    return "constant" if p.padding_mode == "zeros" else p.padding_mode


def _stacked_input(backend: Backend, x: BackendArray, p: ConvParams, s: _Stack) -> BackendArray:
    """[C, B * Hs, Wp]: each image padded as the conv pads it, one above the other."""
    if any(p.pads):
        x = backend.pad2d(x, p.pads, _mode(p), 0.0)
    if s.rows > s.padded:  # rows no kept output reads: zeros whatever the padding mode
        x = backend.pad2d(x, (0, 0, 0, s.rows - s.padded), "constant", 0.0)
    width = x.shape[2]
    x = x.reshape(s.images, s.channels, s.rows, width).swapaxes(0, 1)
    return x.reshape(s.channels, s.images * s.rows, width)


def _conv_options(p: ConvParams, channels: int) -> dict:
    return dict(
        stride=p.stride,
        pads=(0, 0, 0, 0),
        dilation=p.dilation,
        groups=groups_for(p, channels),
        padding_mode="zeros",
        divisor=p.divisor,
    )


def forward(backend: Backend, x: BackendArray, p: ConvParams) -> BackendArray:
    """The conv of every image of the batch [B * C, H, W] -> [B * K, H', W']."""
    s = _Stack.of(p, tuple(x.shape))
    stacked = _stacked_input(backend, x, p, s)
    if s.tail:
        stacked = backend.pad2d(stacked, (0, 0, 0, s.tail), "constant", 0.0)
    tall = backend.conv2d(stacked, p.weight, p.bias, **_conv_options(p, s.channels))
    kernels, _, width = tall.shape
    per_image = tall.reshape(kernels, s.images, s.rows // p.stride[0], width)
    ours = per_image[:, :, : s.out_rows].swapaxes(0, 1)
    return ours.reshape(s.images * kernels, s.out_rows, width)


def backward(
    backend: Backend, x: BackendArray, grad_y: BackendArray, p: ConvParams
) -> tuple[BackendArray, WeightGradients]:
    """dL/d the batch's input, and dL/d the weights and bias summed over its images."""
    s = _Stack.of(p, tuple(x.shape))
    maps, _, width = grad_y.shape
    kernels = maps // s.images
    grad = grad_y.reshape(s.images, kernels, s.out_rows, width).swapaxes(0, 1)
    grad = grad.reshape(kernels * s.images, s.out_rows, width)
    step = s.rows // p.stride[0]
    if step > s.out_rows:  # the dropped rows' gradient: zero
        grad = backend.pad2d(grad, (0, 0, 0, step - s.out_rows), "constant", 0.0)
    # Without the tail: the last rows' gradient is zero (they read past the last image),
    # so the conv of the stack alone, one row of output fewer per tail row, has every term.
    tall = _stacked_input(backend, x, p, s)
    rows = conv_out(s.images * s.rows, p.weight.shape[2], p.stride[0], p.dilation[0], 0, 0)
    grad = grad.reshape(kernels, s.images * step, width)[:, :rows]
    grad_tall, grad_weight, grad_bias = backend.conv2d_backward(
        tall, p.weight, grad, **_conv_options(p, s.channels)
    )
    padded_width = grad_tall.shape[2]
    grad_x = grad_tall.reshape(s.channels, s.images, s.rows, padded_width)
    grad_x = grad_x.swapaxes(0, 1)[:, :, : s.padded].reshape(
        s.images * s.channels, s.padded, padded_width
    )
    if any(p.pads):
        grad_x = backend.pad2d_backward(grad_x, p.pads, _mode(p), tuple(x.shape))
    return grad_x, WeightGradients(grad_weight, grad_bias)
