"""The chunked backend: dask arrays, each tile computed by the NumPy backend's own code.

Arrays are dask arrays of [channels, rows, cols], chunked `chunks` cells a
side (all channels in a chunk: a conv's group reads them together). The
primitives only build dask's graph; the work happens where an array is
computed (`compute`, `to_host`), on dask's local scheduler (threads,
processes, synchronous) or on a dask.distributed cluster (`address`).

How each op stays exact on chunks:
- pad2d pads the whole array with dask.array.pad (reflect, replicate and
  circular copy cells from the image's own edges, never a chunk's);
- conv pads the whole array first, then computes tiles of its output, each
  from the input region its windows read, halo included (dask_tiles.py);
- max and avg pooling compute tiles the same way, with the NumPy backend's
  own padding, which falls only at the image's edges (dask_tiles.py);
- activations apply chunk by chunk.
Gradients are not computed here: a loss needs loop, numpy or torch.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from xopipe.backends.dask_tiles import aligned_chunks, axis_spans, tile_side, tiled
from xopipe.backends.numpy import NumpyBackend
from xopipe.chunked import checked_chunks
from xopipe.cores import concurrent_jobs, job_share, thread_count
from xopipe.errors import UserError, invalid
from xopipe.geometry import Pads, Pair, conv_out, pool_out

# dask.array.pad's names for the PAD_MODES (xopipe/config/vocabulary.py).
DASK_PAD_MODE = {
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}
SCHEDULERS = ("threads", "processes", "synchronous")
FORWARD_ONLY = (
    "backend=dask computes the forward pass only; a loss (gradients) needs backend loop, "
    "numpy or torch"
)

_CLIENTS: dict[str, Any] = {}  # one connection per scheduler address and process
log = logging.getLogger(__name__)


def connect(address: str) -> Any:
    """A dask.distributed Client of the scheduler at `address`, made once per process."""
    if address not in _CLIENTS:
        from distributed import Client

        try:
            _CLIENTS[address] = Client(address, set_as_default=False, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise UserError(
                f"backend.address: no dask scheduler answered at {address} ({error}); "
                "start one (dask scheduler) or set backend.address=null for a local one"
            ) from None
    return _CLIENTS[address]


def disconnect(address: str) -> None:
    """Close this process's connection to the scheduler at `address`, if it has one."""
    client = _CLIENTS.pop(address, None)
    if client is not None:
        client.close()


class DaskBackend:
    name = "dask"
    lazy = True  # arrays are graphs: execute leaves them uncomputed (experiment.py)

    def __init__(
        self, chunks: int = 2048, scheduler: str = "threads", address: str | None = None
    ) -> None:
        chunks = checked_chunks(chunks)
        if scheduler not in SCHEDULERS:
            raise invalid("backend.scheduler", scheduler, "one of " + ", ".join(SCHEDULERS))
        if address is not None and "://" not in str(address):
            raise invalid("backend.address", address, "null or a scheduler's tcp://host:port")
        self.chunks = chunks
        self.scheduler = scheduler
        self.address = address
        self.numpy = NumpyBackend()  # the code every tile runs
        # A local pool's size: the cores, or this job's share when a sweep runs several
        # at once (xopipe/cores.py). A cluster's workers bound it themselves.
        self.workers = None if address or scheduler == "synchronous" else job_share()
        if self.workers is not None:
            jobs = concurrent_jobs()
            sharing = f", {jobs} sweep jobs at once" if jobs > 1 else ""
            log.info(
                "dask: %s scheduler with %d workers (%d cores%s)",
                scheduler,
                self.workers,
                thread_count(),
                sharing,
            )

    # --- crossing in and out -----------------------------------------------------------

    def to_backend(self, array: Any) -> Any:
        import dask.array as da

        chunks = (-1, self.chunks, self.chunks)
        if isinstance(array, da.Array):
            return array.rechunk(chunks)
        return da.from_array(np.asarray(array), chunks=chunks)

    def to_host(self, array: Any) -> np.ndarray:
        if isinstance(array, np.ndarray):
            return array
        return self.compute(array)[0]

    def compute(self, *arrays: Any) -> tuple[np.ndarray, ...]:
        """Compute dask arrays together (shared work done once) on the configured scheduler."""
        import dask

        if self.address:
            return tuple(dask.compute(*arrays, scheduler=connect(self.address)))
        options = {} if self.workers is None else {"num_workers": self.workers}
        return tuple(dask.compute(*arrays, scheduler=self.scheduler, **options))

    def wait(self) -> None:
        pass  # nothing runs until an array is computed

    # --- forward primitives ---------------------------------------------------------------

    def pad2d(self, x: Any, pads: Pads, mode: str, value: float) -> Any:
        import dask.array as da

        left, right, top, bottom = pads
        _, rows, cols = x.shape
        # dask.array.pad returns a wrong shape past these (reflect by the whole axis or
        # more, wrap by more than it); the ops refuse them first, as PyTorch does.
        limit = {"reflect": 1, "circular": 0}.get(mode)
        if limit is not None and (
            max(top, bottom) > rows - limit or max(left, right) > cols - limit
        ):
            raise ValueError(f"{mode} padding {list(pads)} too large for {rows}x{cols}")
        width = ((0, 0), (top, bottom), (left, right))
        if mode == "constant":
            padded = da.pad(x, width, mode="constant", constant_values=x.dtype.type(value))
        else:
            padded = da.pad(x, width, mode=DASK_PAD_MODE[mode])
        return padded.rechunk((-1, self.chunks, self.chunks))

    def conv2d(
        self,
        x: Any,
        weight: np.ndarray,
        bias: np.ndarray,
        *,
        stride: Pair,
        pads: Pads,
        dilation: Pair,
        groups: int,
        padding_mode: str,
        divisor: float | None,
    ) -> Any:
        mode = "constant" if padding_mode == "zeros" else padding_mode
        padded = self.pad2d(x, pads, mode, 0.0) if any(pads) else x
        _, height, width = padded.shape
        kernels, _, kh, kw = weight.shape
        rows = conv_out(height, kh, stride[0], dilation[0], 0, 0)
        cols = conv_out(width, kw, stride[1], dilation[1], 0, 0)
        compute = functools.partial(
            self.numpy.conv2d,
            weight=weight,
            bias=bias,
            stride=stride,
            pads=(0, 0, 0, 0),
            dilation=dilation,
            groups=groups,
            padding_mode="zeros",
            divisor=divisor,
        )
        row_spans = axis_spans(height, rows, kh, stride[0], 0, dilation[0], self._tile(stride[0]))
        col_spans = axis_spans(width, cols, kw, stride[1], 0, dilation[1], self._tile(stride[1]))
        aligned = self._aligned(padded, stride)
        return tiled(aligned, kernels, row_spans, col_spans, compute, x.dtype)

    def max_pool2d(
        self,
        x: Any,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        ceil_mode: bool,
    ) -> Any:
        return self._pooled(
            self.numpy.max_pool2d, x, size, stride, padding, ceil_mode, dilation=dilation
        )

    def avg_pool2d(
        self,
        x: Any,
        *,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Any:
        return self._pooled(
            self.numpy.avg_pool2d,
            x,
            size,
            stride,
            padding,
            ceil_mode,
            count_include_pad=count_include_pad,
        )

    def activation(self, name: str, x: Any, params: Mapping[str, float | str]) -> Any:
        return x.map_blocks(_activation, self.numpy, name, dict(params), dtype=x.dtype)

    # --- helpers ------------------------------------------------------------------------

    def _pooled(
        self,
        pool: Any,
        x: Any,
        size: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool,
        **options: Any,
    ) -> Any:
        """The NumPy backend's `pool` tile by tile; `options` are its own (max pool's dilation,
        avg pool's count_include_pad; avg pool's windows are never dilated)."""
        dilation = options.get("dilation", (1, 1))
        compute = functools.partial(
            pool, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode, **options
        )
        channels, height, width = x.shape
        spans = [
            axis_spans(
                n,
                pool_out(n, size[a], stride[a], padding[a], dilation[a], ceil_mode),
                size[a],
                stride[a],
                padding[a],
                dilation[a],
                self._tile(stride[a]),
            )
            for a, n in enumerate((height, width))
        ]
        return tiled(self._aligned(x, stride), channels, spans[0], spans[1], compute, x.dtype)

    def _tile(self, stride: int) -> int:
        return tile_side(self.chunks, stride)

    def _aligned(self, x: Any, stride: Pair) -> Any:
        """x rechunked so that every chunk boundary is a multiple of the stride: a tile's
        region then starts on a boundary and reads one chunk and its halo."""
        _, height, width = x.shape
        target = (
            (x.shape[0],),
            aligned_chunks(height, self._tile(stride[0]) * stride[0]),
            aligned_chunks(width, self._tile(stride[1]) * stride[1]),
        )
        return x if x.chunks == target else x.rechunk(target)

    # --- gradients: not here ----------------------------------------------------------

    def pad2d_backward(self, *args: Any, **kwargs: Any) -> Any:
        raise UserError(FORWARD_ONLY)

    def conv2d_backward(self, *args: Any, **kwargs: Any) -> Any:
        raise UserError(FORWARD_ONLY)

    def max_pool2d_backward(self, *args: Any, **kwargs: Any) -> Any:
        raise UserError(FORWARD_ONLY)

    def avg_pool2d_backward(self, *args: Any, **kwargs: Any) -> Any:
        raise UserError(FORWARD_ONLY)

    def activation_backward(self, *args: Any, **kwargs: Any) -> Any:
        raise UserError(FORWARD_ONLY)


def _activation(
    block: np.ndarray, numpy: NumpyBackend, name: str, params: Mapping[str, float | str]
) -> np.ndarray:
    return numpy.activation(name, block, params)
