"""The PyTorch backend: torch.nn.functional on CPU or GPU, bias always explicit.

Arrays stay torch tensors on the chosen device from stage to stage; the
input crosses in once (`to_backend`) and each kept array comes back once
(`to_host`). The functional calls themselves are in torch_calls.py, their
gradients in torch_backward.py. torch is imported by these modules only, so
runs on the other backends never pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from xopipe.backends import gpu
from xopipe.backends import torch_calls as calls
from xopipe.backends.torch_backward import TorchBackward
from xopipe.backends.torch_calls import ACTIVATION
from xopipe.cores import concurrent_jobs, job_share
from xopipe.errors import invalid
from xopipe.geometry import Pads, Pair

# Below this size a GPU array comes back with a plain copy: page-locking a
# buffer costs more than it saves on a small copy.
PINNED_MIN_BYTES = 1 << 20


class TorchBackend(TorchBackward):
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
        elif concurrent_jobs() > 1:  # a sweep's job beside others: its share of the cores
            torch.set_num_threads(job_share())

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
        return calls.pad(x[None], pads, mode, value)[0]

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
        result = calls.conv(
            x[None],
            self._tensor(weight),
            self._tensor(bias),
            stride=stride,
            pads=pads,
            dilation=dilation,
            groups=groups,
            padding_mode=padding_mode,
            divisor=divisor,
        )
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
        return calls.max_pool(
            x[None],
            size=size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )[0]

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
        result = calls.avg_pool(
            x[None],
            size=size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        return result[0]

    @torch.inference_mode()
    def activation(
        self, name: str, x: torch.Tensor, params: Mapping[str, float | str]
    ) -> torch.Tensor:
        return ACTIVATION[name](x, params)
