"""Backends by name; each module is imported only when its backend is used."""

from __future__ import annotations

import importlib

from xopipe.backends.base import Backend
from xopipe.errors import invalid

# backend name -> (module, class); conf/backend/<name>.yaml selects one.
BACKENDS = {
    "loop": ("xopipe.backends.loop", "LoopBackend"),
    "numpy": ("xopipe.backends.numpy", "NumpyBackend"),
    "torch": ("xopipe.backends.torch", "TorchBackend"),
    "dask": ("xopipe.backends.dask", "DaskBackend"),
}
# Backends without gradients (a loss or training is refused before any work) whose
# arrays stay chunked, never whole in one process: the in-memory benchmarks leave them out.
FORWARD_ONLY = frozenset({"dask"})


def get_backend(name: str, **options: object) -> Backend:
    """Instantiate the backend called `name` with its options (torch: device, num_threads;
    dask: chunks, scheduler, address)."""
    if name not in BACKENDS:
        raise invalid("backend", name, "one of " + ", ".join(BACKENDS))
    module_name, class_name = BACKENDS[name]
    backend_class = getattr(importlib.import_module(module_name), class_name)
    backend: Backend = backend_class(**options)
    return backend


__all__ = ["BACKENDS", "FORWARD_ONLY", "Backend", "get_backend"]
