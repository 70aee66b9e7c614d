"""xopipe: convolution, padding, pooling and activation as a declarative pipeline.

`xopipe.run("conv.stride=2")` runs it from Python (xopipe/api.py); importing
the package itself stays light, so the command line does not pay for it.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("run", "Result"):
        from xopipe import api

        return getattr(api, name)
    if name in ("train", "TrainResult"):
        from xopipe import api_training

        return getattr(api_training, name)
    if name in ("load", "Folder"):
        from xopipe import api_folders

        return getattr(api_folders, name)
    raise AttributeError(f"module 'xopipe' has no attribute {name!r}")
