"""conv's parameters: its node and kernels checked, resolved against the input's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from xopipe.config.vocabulary import NORMALIZE, PADDING_MODES
from xopipe.errors import UserError, invalid, show
from xopipe.geometry import Pads, Pair, as_pair, conv_out, effective_size, same_pads
from xopipe.kernels import load_kernels
from xopipe.ops.op import Shape, StageConfig
from xopipe.ops.pad import check_mode_fits

if TYPE_CHECKING:
    from xopipe.config.schema import ConvConfig
    from xopipe.kernels import KernelSet

DEPTHWISE = "depthwise"  # conv.groups: one group per input channel


@dataclass(frozen=True)
class ConvParams:
    keyof: Callable[[str], str]  # config field -> full key, for messages
    weight: np.ndarray  # [K, C/groups, kh, kw], already flipped when flip is on
    names: tuple[str, ...]
    bias: np.ndarray  # [K]
    stride: Pair
    pads: Pads
    dilation: Pair
    groups: int | str  # or DEPTHWISE, resolved against the input by groups_for()
    padding_mode: str
    divisor: float | None  # the element count for normalize=mean
    # Training: the input holds this many images, one after another along the channels
    # (xopipe/ops/conv_batch.py convolves them in one call).
    batch: int = 1


def prepare(stage: StageConfig) -> ConvParams:
    """The stage's parameters: its own kernels if it names some, else the run's."""
    node: ConvConfig = stage.node
    keyof = stage.keyof
    own = stage.own.get("kernels")
    if own is not None:
        assert stage.limits is not None, "a stage's own kernels are read within the limits"
        kernels = load_kernels(own, keyof("kernels"), stage.limits)
    else:
        assert stage.kernels is not None, "a conv stage is prepared with the run's kernels"
        kernels = stage.kernels
    params = _params(stage, node, kernels)
    if stage.input_shape is None:
        return params
    return fit_channels(params, stage.input_shape[0])  # 2-D kernels reach every channel


def _params(stage: StageConfig, node: ConvConfig, kernels: KernelSet) -> ConvParams:
    keyof, dtype = stage.keyof, stage.dtype
    weight = kernels.weight
    count, group_channels, kh, kw = weight.shape
    stride = as_pair(keyof("stride"), node.stride, minimum=1)
    dilation = as_pair(keyof("dilation"), node.dilation, minimum=1)
    given = f"{keyof('stride')}={show(node.stride)}"  # as typed, for the message
    pads = _pads(keyof("padding"), node.padding, (kh, kw), dilation, stride, given)

    mode = node.padding_mode
    if mode not in PADDING_MODES:
        raise invalid(keyof("padding_mode"), mode, "one of " + ", ".join(PADDING_MODES))
    groups = node.groups
    if groups != DEPTHWISE:
        if not (isinstance(groups, int) and not isinstance(groups, bool) and groups >= 1):
            raise invalid(keyof("groups"), groups, f"a positive integer or {DEPTHWISE}")
        if count % groups:
            raise invalid(keyof("groups"), groups, f"a divisor of the number of kernels ({count})")
    normalize = node.normalize
    if normalize not in NORMALIZE:
        raise invalid(keyof("normalize"), normalize, "one of " + ", ".join(NORMALIZE))

    if node.flip:
        weight = weight[..., ::-1, ::-1].copy()
    return ConvParams(
        keyof=keyof,
        weight=np.ascontiguousarray(weight, dtype=dtype),
        names=kernels.names,
        bias=_bias(keyof("bias"), node.bias, count).astype(dtype),
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
        divisor=float(group_channels * kh * kw) if normalize == "mean" else None,
    )


def _pads(
    key: str, padding: Any, size: Pair, dilation: Pair, stride: Pair, stride_given: str
) -> Pads:
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise UserError(
                f"{key}='same' needs stride 1 (as in PyTorch), got {stride_given}; "
                "use an integer padding with strides"
            )
        top, bottom = same_pads(size[0], dilation[0])
        left, right = same_pads(size[1], dilation[1])
        return left, right, top, bottom
    if isinstance(padding, str):
        raise invalid(key, padding, "an integer >= 0, a pair [h, w], 'same' or 'valid'")
    ph, pw = as_pair(key, padding, minimum=0)
    return pw, pw, ph, ph


def _bias(key: str, bias: Any, count: int) -> np.ndarray:
    if isinstance(bias, (int, float)) and not isinstance(bias, bool):
        return np.full(count, float(bias))
    numbers = isinstance(bias, list) and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) for b in bias
    )
    if not numbers or len(bias) != count:
        raise invalid(key, bias, f"a number or a list of {count} numbers (one per kernel)")
    values = np.array(bias, dtype=np.float64)
    if not np.isfinite(values).all():
        raise invalid(key, bias, "finite numbers")
    return values


def groups_for(p: ConvParams, channels: int) -> int:
    """conv.groups as a number: depthwise means one group per input channel."""
    return channels if p.groups == DEPTHWISE else int(p.groups)


def fit_channels(p: ConvParams, channels: int) -> ConvParams:
    """2-D kernels on an input with more channels per group: each kernel reads every channel.

    A one-channel kernel (a stock filter such as sobel) is repeated across the
    channels of its group, so the conv sums it over them, as nn.Conv2d would
    with that weight; normalize=mean then divides by the larger element count
    (an rgb image of three equal channels gives the grey image's numbers).
    """
    groups = groups_for(p, channels)
    per_group = channels // groups if channels % groups == 0 else 1
    if p.weight.shape[1] != 1 or per_group == 1:
        return p
    weight = np.ascontiguousarray(np.repeat(p.weight, per_group, axis=1))
    divisor = None if p.divisor is None else p.divisor * per_group
    return replace(p, weight=weight, divisor=divisor)


def output_shape(shape: Shape, p: ConvParams) -> Shape:
    channels, height, width = shape
    count, group_channels, kh, kw = p.weight.shape
    groups = groups_for(p, channels)
    if channels % groups:
        raise invalid(p.keyof("groups"), p.groups, f"a divisor of the input's {channels} channels")
    if count % groups:
        if p.groups == DEPTHWISE and group_channels in (1, channels):
            raise UserError(
                f"{p.keyof('groups')}={DEPTHWISE} needs a number of kernels that is a multiple "
                f"of the input's {channels} channels, got {count} kernels; set "
                f"{p.keyof('groups')}=1 to apply every kernel to all channels (summed)"
            )
        raise invalid(
            p.keyof("groups"),
            p.groups,
            f"a divisor of the number of kernels ({count}); the input has {channels} channels",
        )
    if group_channels != channels // groups:
        raise UserError(
            f"kernels have {group_channels} channel(s) each but this conv input has {channels} "
            f"channel(s) in {groups} group(s), so {channels // groups} per kernel; give "
            f"kernels [K][{channels // groups}][kh][kw]"
            + (" or 2-D kernels [K][kh][kw]" if channels // groups > 1 else "")
        )
    left, right, top, bottom = p.pads
    check_mode_fits(p.keyof("padding"), p.padding_mode, p.pads, height, width)
    rows = conv_out(height, kh, p.stride[0], p.dilation[0], top, bottom)
    cols = conv_out(width, kw, p.stride[1], p.dilation[1], left, right)
    if rows < 1 or cols < 1:
        span = f"{effective_size(kh, p.dilation[0])}x{effective_size(kw, p.dilation[1])}"
        padded = f"{height + top + bottom}x{width + left + right}"
        raise UserError(
            f"kernels: the {span} kernel window does not fit the padded input {padded}; "
            f"use smaller kernels or dilation, or raise {p.keyof('padding')}"
        )
    return count, rows, cols
