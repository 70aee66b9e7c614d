"""The schema of backend=dask, registered beside the other backends' (SCHEMAS["backend"])."""

from __future__ import annotations

from dataclasses import dataclass

from xopipe.config.schema import SCHEMAS, BackendConfig


@dataclass
class DaskBackendConfig(BackendConfig):
    name: str = "dask"
    chunks: int = 2048  # cells per side of a chunk (all channels in each); memory ~ chunks^2
    scheduler: str = "threads"  # threads | processes | synchronous (dask's local schedulers)
    # tcp://host:port of a running dask.distributed scheduler; null: the local scheduler
    address: str | None = None


SCHEMAS["backend"]["dask"] = DaskBackendConfig
