"""The PyTorch backend: torch.nn.functional on CPU or GPU, bias always explicit.

Arrays stay torch tensors on the chosen device from stage to stage; the
input crosses in once (`to_backend`) and each kept array comes back once
(`to_host`). torch is imported here only, so runs on the other backends
never pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from xopipe.backends import gpu
from xopipe.errors import invalid
from xopipe.geometry import Pads, Pair

# Below this size a GPU array comes back with a plain copy: page-locking a
# buffer costs more than it saves on a small copy.
PINNED_MIN_BYTES = 1 << 20


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        device: str = "cpu",
        num_threads: int | None = None,
        memory_fraction: float | None = None,
    ) -> None:
        try:
            self.device = torch.device(device)
        except RuntimeError:
            raise invalid("backend.device", device, "a torch device such as cpu or cuda") from None
        fraction = gpu.memory_fraction(memory_fraction)  # checked on every device
        if self.device.type == "cuda":
            # torch.cuda.is_available() starts CUDA's driver: only here, in the
            # process that runs the job, never in a sweep's launching process.
            if not torch.cuda.is_available():
                raise invalid("backend.device", device, "cpu here (torch sees no CUDA device)")
            # Resolved before any call that takes a device: torch refuses one without an index.
            self.device = gpu.indexed(self.device, device)
            gpu.faithful()
            gpu.bound_memory(self.device, fraction)
        if num_threads is not None:
            if not num_threads >= 1:
                raise invalid("backend.num_threads", num_threads, "a positive integer or null")
            torch.set_num_threads(num_threads)

    def to_backend(self, array: np.ndarray) -> torch.Tensor:
        return self._tensor(array)

    @torch.inference_mode()
    def to_host(self, array: torch.Tensor) -> np.ndarray:
        if array.device.type == "cpu":
            return array.numpy()  # shares the tensor's memory: no copy
        if array.nbytes < PINNED_MIN_BYTES:
            return array.cpu().numpy()
        # Into page-locked memory the copy runs at the bus's rate, with no
        # staging buffer; the NumPy array keeps the pinned tensor alive.
        host = torch.empty(array.shape, dtype=array.dtype, pin_memory=True)
        host.copy_(array, non_blocking=True)
        torch.cuda.current_stream(array.device).synchronize()
        return host.numpy()

    def wait(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # torch.from_numpy refuses negative strides, which numpy keeps on a
        # reversed view even when it counts as contiguous (a 1x1 flip).
        if any(step < 0 for step in array.strides):
            array = array.copy()
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    @torch.inference_mode()
    def pad2d(self, x: torch.Tensor, pads: Pads, mode: str, value: float) -> torch.Tensor:
        batch = x[None]
        if mode == "constant":
            return F.pad(batch, pads, mode="constant", value=value)[0]
        return F.pad(batch, pads, mode=mode)[0]

    @torch.inference_mode()
    def conv2d(
        self,
        x: torch.Tensor,
        weight: np.ndarray,
        bias: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> torch.Tensor:
        batch = x[None]
        left, right, top, bottom = pads
        if padding_mode == "zeros" and left == right and top == bottom:
            padding: tuple[int, int] = (top, left)  # conv2d pads symmetrically itself
        else:
            # What nn.Conv2d does for non-zero modes: pad first, then convolve unpadded.
            mode = "constant" if padding_mode == "zeros" else padding_mode
            batch = F.pad(batch, pads, mode=mode)
            padding = (0, 0)
        weights, biases = self._tensor(weight), self._tensor(bias)
        if divisor is None:
            result = F.conv2d(batch, weights, biases, stride, padding, dilation, groups)
        else:
            result = F.conv2d(batch, weights, None, stride, padding, dilation, groups)
            result.div_(divisor).add_(biases[:, None, None])  # in place: no second output
        return result[0]

    @torch.inference_mode()
    def max_pool2d(
        self,
        x: torch.Tensor,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
    ) -> torch.Tensor:
        return F.max_pool2d(x[None], size, stride, padding, dilation, ceil_mode=ceil_mode)[0]

    @torch.inference_mode()
    def avg_pool2d(
        self,
        x: torch.Tensor,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> torch.Tensor:
        result = F.avg_pool2d(
            x[None],
            size,
            stride,
            padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        return result[0]

    @torch.inference_mode()
    def activation(
        self, name: str, x: torch.Tensor, params: Mapping[str, float | str]
    ) -> torch.Tensor:
        return ACTIVATION[name](x, params)


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
