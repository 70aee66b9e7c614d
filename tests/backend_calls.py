"""Calling a backend's primitives as a sink sees them: NumPy in, NumPy out."""

from __future__ import annotations

from typing import Any

import numpy as np

from xopipe.backends import Backend


def on_host(backend: Backend, primitive: str, x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
    """`backend.<primitive>(x, ...)` with x crossing in and the result crossing out once."""
    result = getattr(backend, primitive)(backend.to_backend(x), *args, **kwargs)
    return backend.to_host(result)
